// The fuzz loop: `inputs` mutants of the target's corpus (mutate.ts), each fed once; an exception
// must be a coded BatonError (counted by code) — anything else is a finding, as is an unhandled
// rejection during the run or a failed state check (every `checkEvery` inputs and at the end).
import { BatonError } from '../../src/transport-abstraction/errors.js';
import { SeededRandom } from '../../src/transport-abstraction/random.js';
import { deriveSeed } from '../../src/sim/network.js';
import { Mutator } from './mutate.js';
import { makeTarget, type FuzzTargetName } from './targets.js';

export interface FuzzOptions {
  readonly inputs: number;
  readonly seed: number;
  /** Inputs between state checks; default 1000. */
  readonly checkEvery?: number;
  readonly progress?: (done: number) => void;
}

export interface FuzzReport {
  readonly target: FuzzTargetName;
  readonly inputs: number;
  /** Inputs that threw a coded error, by code. */
  readonly coded: ReadonlyMap<string, number>;
  /** Exceptions that were not coded BatonErrors: "Name: message" with the first input's index. */
  readonly uncoded: readonly string[];
  readonly unhandledRejections: readonly string[];
  /** State checks that failed, with the input index after which they ran. */
  readonly checkFailures: readonly string[];
  readonly checks: number;
  readonly counters: Record<string, number>;
  readonly ms: number;
}

export function failures(r: FuzzReport): number {
  return r.uncoded.length + r.unhandledRejections.length + r.checkFailures.length;
}

export async function runFuzz(target: FuzzTargetName, options: FuzzOptions): Promise<FuzzReport> {
  const started = process.hrtime.bigint();
  const rejections: string[] = [];
  const onRejection = (reason: unknown): void => {
    rejections.push(reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason));
  };
  process.on('unhandledRejection', onRejection);
  const t = makeTarget(target, options.seed);
  const random = new SeededRandom(deriveSeed(options.seed, `fuzz-${target}`));
  const mutator = new Mutator(random, t.corpus);
  const coded = new Map<string, number>();
  const uncoded = new Map<string, number>();
  const checkFailures: string[] = [];
  const every = options.checkEvery ?? 1000;
  let checks = 0;
  const check = (i: number): void => {
    checks++;
    try {
      const wrong = t.check();
      if (wrong !== undefined && checkFailures.length < 20) checkFailures.push(`after input ${i}: ${wrong}`);
    } catch (error) {
      if (checkFailures.length < 20) checkFailures.push(`after input ${i}: the check threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
  };
  try {
    for (let i = 1; i <= options.inputs; i++) {
      const input = mutator.next();
      try {
        t.feed(input, random);
      } catch (error) {
        if (error instanceof BatonError && error.code.startsWith('BATON_ERR_') && error.code !== 'BATON_ERR_INTERNAL') coded.set(error.code, (coded.get(error.code) ?? 0) + 1);
        else {
          const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          if (!uncoded.has(text)) uncoded.set(text, i);
        }
      }
      if (i % every === 0) {
        check(i);
        options.progress?.(i);
        // Let a stray promise rejection surface inside the run.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (options.inputs % every !== 0) check(options.inputs);
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  return {
    target,
    inputs: options.inputs,
    coded,
    uncoded: [...uncoded].map(([text, i]) => `${text} (first at input ${i}; replay: baton fuzz ${target} --inputs ${i} --seed ${options.seed})`),
    unhandledRejections: rejections,
    checkFailures,
    checks,
    counters: t.counters(),
    ms: Number(process.hrtime.bigint() - started) / 1e6,
  };
}
