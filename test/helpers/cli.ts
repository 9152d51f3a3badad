// Running `baton` (bin/baton.js, the built CLI) in tests: the one-line-and-status check every bad
// operator input gets, and polling for a condition with a deadline.
import type { ExecutionContext } from 'ava';
import { fileURLToPath } from 'node:url';
import { runToExit } from './process.js';

export const BATON = fileURLToPath(new URL('../../bin/baton.js', import.meta.url));

/**
 * `baton ARGS` must exit with `status` within `timeoutMs`, printing exactly one stderr line that
 * matches `message` and no stack trace. Returns the line and how long the run took.
 */
export async function oneLine(t: ExecutionContext, args: readonly string[], status: number, message: RegExp, timeoutMs: number): Promise<{ line: string; ms: number } | undefined> {
  const started = Date.now();
  let run: Awaited<ReturnType<typeof runToExit>>;
  try {
    run = await runToExit(process.execPath, [BATON, ...args], { t, timeoutMs });
  } catch (error) {
    t.fail(`baton ${args.join(' ')} did not exit: ${(error as Error).message}`);
    return undefined;
  }
  t.is(run.status.code, status, `baton ${args.join(' ')}: ${run.stderr}`);
  t.is(run.stderr.trimEnd().split('\n').length, 1, `baton ${args.join(' ')} printed more than one line: ${run.stderr}`);
  t.notRegex(run.stderr, /^\s+at /m, 'a stack trace');
  t.regex(run.stderr, message, `baton ${args.join(' ')}`);
  return { line: run.stderr.trim(), ms: Date.now() - started };
}

/** Polls `check` every 25 ms until it holds or `timeoutMs` passed; its last answer. */
export async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}
