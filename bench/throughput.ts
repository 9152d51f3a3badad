// `baton bench throughput`: one connection's goodput between two processes on loopback, measured
// in the same run as usrsctp's tsctp (tracing off: bench/usrsctp-quiet.c) and the raw node:dgram
// ceiling, in interleaved rounds, with the ratios and CPU time per delivered byte.
//
//   node --import=tsx bench/throughput.ts [--transport sctp|tcp] [--seconds 5] [--message-size 1400] [--rounds 3] [--json]
//     [--baseline DIR]   also run baton from another checkout (e.g. `git worktree add DIR <commit>`,
//                        with node_modules) in the same rounds: a change's effect as baton ÷ baseline
//
// Figures are MB/s = 10^6 bytes per second of application payload, measured at the receiver from
// its first to its last byte; every contender carries the same payload per datagram.
import { benchScript, isMain, mbps, parseFlags, PROJECT_ROOT } from './child.js';
import { runUdpCeiling } from './udp-ceiling.js';
import { runUsrsctpTsctp } from './usrsctp-tsctp.js';
import { spawnProcess } from './process.js';
import { freeUdpPorts } from './ports.js';
import { CPU_LINE } from './cpu.js';
import type { TransportKind } from '../src/transport-abstraction/transport.js';
import { resolve } from 'node:path';

export interface ThroughputOptions {
  readonly transport: TransportKind;
  readonly seconds?: number;
  /** Bytes per application write, per usrsctp message and per ceiling datagram; default 1400. */
  readonly messageSize?: number;
  /** Rounds; in each, every contender runs once, starting with a different one each round. Default 3. */
  readonly rounds?: number;
  /** Skip the usrsctp / ceiling runs. */
  readonly only?: 'baton';
  /** Another checkout of baton (its root, with node_modules) to run as a fourth contender, 'baseline'. */
  readonly baseline?: string;
  /** Called before each run, e.g. for a progress line. */
  readonly progress?: (message: string) => void;
}

/** One run of one contender. */
export interface Measurement {
  readonly mbps: number;
  readonly bytes: number;
  readonly seconds: number;
  /** User + system CPU seconds of both of its processes. */
  readonly cpuSeconds: number;
}

export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

export type Contender = 'baton' | 'usrsctp' | 'ceiling' | 'baseline';

export interface ThroughputResult {
  readonly transport: TransportKind;
  readonly seconds: number;
  readonly messageSize: number;
  readonly rounds: ReadonlyArray<Partial<Record<Contender, Measurement>>>;
  /** Per contender over the rounds: MB/s and CPU microseconds per delivered MB. */
  readonly goodput: Partial<Record<Contender, Spread>>;
  readonly cpuMicrosPerMB: Partial<Record<Contender, Spread>>;
  /** baton ÷ usrsctp and baton ÷ ceiling, each computed within a round. */
  readonly ratioToUsrsctp?: Spread;
  readonly ratioToCeiling?: Spread;
  /** baton ÷ the baseline checkout, within a round (with `baseline`). */
  readonly ratioToBaseline?: Spread;
  /** The same for CPU per delivered MB: baton's ÷ the baseline's (below 1: baton spends less). */
  readonly cpuRatioToBaseline?: Spread;
}

/**
 * baton's goodput alone: a receiver and a sender process over 127.0.0.1 (`authData` false: SCTP DATA
 * without AUTH; `root`: run bench/baton-peer.ts of another checkout, by default this one's).
 */
export async function runBaton(transport: TransportKind, seconds = 5, messageSize = 1400, authData = true, root?: string): Promise<Measurement> {
  const peer = root === undefined ? benchScript('baton-peer') : ['--import=tsx', resolve(root, 'bench', 'baton-peer.ts')];
  const [rPort, sPort] = await freeUdpPorts(2, '127.0.0.1');
  const authArgs = authData ? [] : ['--auth-data', 'off'];
  const common = { cwd: root ?? PROJECT_ROOT, timeoutMs: (seconds + 60) * 1000 };
  // Full chunks / segments carry what one usrsctp message or ceiling datagram carries.
  const payload = String(Math.max(200, messageSize & ~3));
  const receiver = spawnProcess(
    process.execPath,
    [...peer, '--role', 'receiver', '--transport', transport, '--local', `127.0.0.1:${rPort}`, '--payload', payload, ...authArgs],
    { ...common, name: `baton ${transport} receiver` },
  );
  try {
    await receiver.waitForLine(/^(LISTENING \d+|ERROR .*)$/, 30_000);
    if (receiver.lines.some((l) => l.startsWith('ERROR'))) throw new Error(receiver.describe());
    const sender = spawnProcess(
      process.execPath,
      [
        ...benchScript('baton-peer'),
        '--role',
        'sender',
        '--transport',
        transport,
        '--local',
        `127.0.0.1:${sPort}`,
        '--peer',
        `127.0.0.1:${rPort}`,
        '--seconds',
        String(seconds),
        '--message-size',
        String(messageSize),
        '--payload',
        payload,
        ...authArgs,
      ],
      { ...common, name: `baton ${transport} sender` },
    );
    try {
      const result = await Promise.race([
        receiver.waitForLine(/^RESULT (\d+) ([\d.]+)$/, (seconds + 45) * 1000),
        sender.waitForLine(/^ERROR /, (seconds + 45) * 1000).then(() => {
          throw new Error(sender.describe());
        }),
      ]);
      const senderCpu = Number((await sender.waitForLine(CPU_LINE, 20_000))[1]);
      const receiverCpu = Number((await receiver.waitForLine(CPU_LINE, 20_000))[1]);
      const bytes = Number(result[1]);
      const secs = Number(result[2]);
      return { mbps: mbps(bytes, secs), bytes, seconds: secs, cpuSeconds: senderCpu + receiverCpu };
    } finally {
      await sender.kill();
    }
  } catch (error) {
    throw new Error(`baton ${transport} throughput run failed: ${(error as Error).message}\n${receiver.describe()}`);
  } finally {
    await receiver.kill();
  }
}

export function spread(values: readonly number[]): Spread {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { min: v[0]!, median, max: v[v.length - 1]! };
}

/**
 * The contenders in interleaved rounds, one run at a time (they never compete for the CPUs), each
 * round starting with the next contender, so a slow spell of the machine is spread over all of them.
 */
export async function runThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const seconds = options.seconds ?? 5;
  const messageSize = options.messageSize ?? 1400;
  const roundCount = options.rounds ?? 3;
  const contenders: Contender[] = options.only === 'baton' ? ['baton'] : ['baton', 'usrsctp', 'ceiling'];
  if (options.baseline !== undefined) contenders.push('baseline');
  const run = async (c: Contender): Promise<Measurement> => {
    if (c === 'baton') return runBaton(options.transport, seconds, messageSize);
    if (c === 'baseline') return runBaton(options.transport, seconds, messageSize, true, options.baseline);
    if (c === 'usrsctp') return runUsrsctpTsctp({ seconds, messageSize });
    return runUdpCeiling({ seconds, messageSize });
  };
  const rounds: Array<Partial<Record<Contender, Measurement>>> = [];
  for (let r = 0; r < roundCount; r++) {
    const round: Partial<Record<Contender, Measurement>> = {};
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(r + k) % contenders.length]!;
      options.progress?.(`round ${r + 1}/${roundCount}: ${c}`);
      round[c] = await run(c);
    }
    rounds.push(round);
  }
  const over = (c: Contender, f: (m: Measurement) => number): Spread => spread(rounds.map((round) => f(round[c]!)));
  const goodput: Partial<Record<Contender, Spread>> = {};
  const cpuMicrosPerMB: Partial<Record<Contender, Spread>> = {};
  for (const c of contenders) {
    goodput[c] = over(c, (m) => m.mbps);
    cpuMicrosPerMB[c] = over(c, (m) => (m.cpuSeconds * 1e6) / (m.bytes / 1e6));
  }
  const ratio = (other: Contender): Spread | undefined =>
    contenders.includes(other) ? spread(rounds.map((round) => round.baton!.mbps / round[other]!.mbps)) : undefined;
  const toUsrsctp = ratio('usrsctp');
  const toCeiling = ratio('ceiling');
  const toBaseline = ratio('baseline');
  const perMB = (m: Measurement): number => m.cpuSeconds / m.bytes;
  const cpuToBaseline = toBaseline ? spread(rounds.map((round) => perMB(round.baton!) / perMB(round.baseline!))) : undefined;
  return {
    transport: options.transport,
    seconds,
    messageSize,
    rounds,
    goodput,
    cpuMicrosPerMB,
    ...(toUsrsctp ? { ratioToUsrsctp: toUsrsctp } : {}),
    ...(toCeiling ? { ratioToCeiling: toCeiling } : {}),
    ...(toBaseline ? { ratioToBaseline: toBaseline, cpuRatioToBaseline: cpuToBaseline! } : {}),
  };
}

const LABELS: Record<Contender, string> = { baton: 'baton', usrsctp: 'usrsctp tsctp', ceiling: 'node:dgram ceiling', baseline: 'baton baseline' };

/** The human-readable table the CLI prints: min / median / max over the rounds. */
export function formatThroughput(r: ThroughputResult): string {
  const s = (x: Spread | undefined, digits: number, unit = ''): string =>
    x === undefined ? '-' : `${x.min.toFixed(digits)} / ${x.median.toFixed(digits)} / ${x.max.toFixed(digits)}${unit}`;
  const lines = [
    `transport ${r.transport}, ${r.messageSize}-byte writes and payload per datagram, ${r.seconds} s per run, ${r.rounds.length} interleaved rounds, loopback`,
    `  ${'min / median / max'.padEnd(20)}${'MB/s'.padStart(24)}${'CPU µs per MB'.padStart(30)}`,
  ];
  for (const c of Object.keys(r.goodput) as Contender[]) {
    lines.push(`  ${(c === 'baton' ? `baton (${r.transport})` : LABELS[c]).padEnd(20)}${s(r.goodput[c], 1).padStart(24)}${s(r.cpuMicrosPerMB[c], 0).padStart(30)}`);
  }
  if (r.ratioToUsrsctp) lines.push(`  baton ÷ usrsctp     ${s(r.ratioToUsrsctp, 2, '×')}`);
  if (r.ratioToCeiling) lines.push(`  baton ÷ ceiling     ${s(r.ratioToCeiling, 2)}`);
  if (r.ratioToBaseline) lines.push(`  baton ÷ baseline    ${s(r.ratioToBaseline, 2, '×')}   CPU per MB ${s(r.cpuRatioToBaseline, 2, '×')}`);
  return lines.join('\n');
}

export interface AuthDataCost {
  readonly seconds: number;
  readonly messageSize: number;
  /** Per round: goodput in MB/s with authenticated DATA and without, and with ÷ without. */
  readonly rounds: ReadonlyArray<{ readonly withAuth: number; readonly withoutAuth: number; readonly ratio: number }>;
  readonly ratio: Spread;
}

/**
 * The cost of authenticated SCTP DATA (SctpOptions.authenticateData): baton SCTP goodput with and
 * without, in interleaved rounds (the order alternates, so drift in the machine's load hits both
 * alike); each round's ratio with ÷ without, and their min / median / max.
 */
export async function runAuthDataCost(options: { readonly seconds?: number; readonly messageSize?: number; readonly rounds?: number }): Promise<AuthDataCost> {
  const seconds = options.seconds ?? 5;
  const messageSize = options.messageSize ?? 1400;
  const rounds: Array<{ withAuth: number; withoutAuth: number; ratio: number }> = [];
  for (let i = 0; i < (options.rounds ?? 5); i++) {
    let withAuth = NaN;
    let withoutAuth = NaN;
    for (const auth of i % 2 === 0 ? [true, false] : [false, true]) {
      const r = (await runBaton('sctp', seconds, messageSize, auth)).mbps;
      if (auth) withAuth = r;
      else withoutAuth = r;
    }
    rounds.push({ withAuth, withoutAuth, ratio: withAuth / withoutAuth });
  }
  return { seconds, messageSize, rounds, ratio: spread(rounds.map((r) => r.ratio)) };
}

export function formatAuthDataCost(r: AuthDataCost): string {
  const lines = [`baton sctp, authenticated DATA vs not, ${r.messageSize}-byte writes, ${r.seconds} s each, loopback, interleaved rounds`];
  r.rounds.forEach((x, i) => lines.push(`  round ${i + 1}: with AUTH ${x.withAuth.toFixed(1)} MB/s, without ${x.withoutAuth.toFixed(1)} MB/s, ratio ${x.ratio.toFixed(3)}`));
  lines.push(`  with ÷ without: min ${r.ratio.min.toFixed(3)}, median ${r.ratio.median.toFixed(3)}, max ${r.ratio.max.toFixed(3)}`);
  return lines.join('\n');
}

if (isMain(import.meta.url)) {
  const flags = parseFlags(process.argv.slice(2));
  const transport = flags.get('transport') ?? 'sctp';
  if (transport !== 'sctp' && transport !== 'tcp') throw new Error(`unknown transport ${transport}`);
  const r = await runThroughput({
    transport,
    seconds: Number(flags.get('seconds') ?? 5),
    messageSize: Number(flags.get('message-size') ?? 1400),
    rounds: Number(flags.get('rounds') ?? 3),
    progress: (m) => process.stderr.write(`${m}\n`),
    ...(flags.has('only-baton') ? { only: 'baton' as const } : {}),
    ...(flags.has('baseline') ? { baseline: resolve(flags.get('baseline')!) } : {}),
  });
  process.stdout.write(flags.has('json') ? JSON.stringify(r) + '\n' : formatThroughput(r) + '\n');
}
