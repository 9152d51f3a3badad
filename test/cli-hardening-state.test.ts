// `baton cat --take-over` with state files an operator gets wrong (issue 15): truncated, of the
// other transport, already used by a takeover, stale (its client gone). Real processes on
// 127.0.0.x: per transport, server A streams to a client with --state-out and is SIGKILLed; the
// cases use its state file. Each ends with one line on stderr and the documented status (2: the
// file is refused before anything is bound; 1: the takeover failed on the wire), never a hang.
// Empty and random state files: test/cli-operator-input.test.ts.
import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProcess, type ManagedProcess } from './helpers/process.js';
import { BATON, oneLine, until } from './helpers/cli.js';
import { freeUdpPort } from './helpers/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-state-cases-'));

interface Scene {
  readonly state: string;
  readonly file: string;
  readonly common: string[];
  readonly client: ManagedProcess;
}

/** A streams a file to a client with --state-out and is SIGKILLed mid-file; the client waits for a taker. */
async function scene(t: ExecutionContext, transport: string): Promise<Scene> {
  const file = join(dir, `file-${transport}.bin`);
  writeFileSync(file, Buffer.alloc(3_000_000, 0x5a));
  const state = join(dir, `a-${transport}.state`);
  const port = await freeUdpPort('127.0.0.2');
  const common = ['-t', transport, '--udp-encap-port', String(port), '--rto-min', '100'];
  const a = spawnProcess(process.execPath, [BATON, 'cat', ...common, '--listen', '127.0.0.2', '--send-file', file, '--state-out', state, '--rate', '300000', '-v'], { t, timeoutMs: 60_000, stderr: 'pipe' });
  await a.waitForLine(/listening on/, 20_000, 'stderr');
  const out = join(dir, `got-${transport}.bin`);
  const client = spawnProcess(process.execPath, [BATON, 'cat', '-t', transport, '127.0.0.2', '--peer-encap-port', String(port), '--rto-min', '100', '-v'], { t, timeoutMs: 120_000, stdout: { file: out }, stderr: 'pipe' });
  if (!(await until(() => existsSync(state) && existsSync(out) && statSync(out).size > 100_000, 20_000))) throw new Error(`the stream never got going: ${a.stderr}`);
  a.killNow('SIGKILL');
  await a.waitForExit(10_000);
  return { state, file, common, client };
}

/** baton cat ARGS must exit with `status` within `withinMs`, one stderr line matching `message`. */
async function refused(t: ExecutionContext, args: string[], status: number, message: RegExp, withinMs: number): Promise<void> {
  const run = await oneLine(t, ['cat', ...args], status, message, withinMs);
  if (run) t.log(`exit ${status} after ${(run.ms / 1000).toFixed(1)} s: ${run.line}`);
}

for (const transport of ['sctp', 'tcp']) {
  const other = transport === 'sctp' ? 'tcp' : 'sctp';

  test.serial(`${transport}: a truncated state file is refused: one line, exit 2`, async (t) => {
    const { state, file, common } = await scene(t, transport);
    const bytes = readFileSync(state);
    const truncated = join(dir, `truncated-${transport}.state`);
    writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1), { mode: 0o600 });
    await refused(t, [...common, '--take-over', truncated, '--listen', '127.0.0.3', '--send-file', file], 2, /truncated-\w+\.state is not a baton connection state \(BATON_ERR_STATE_TRUNCATED\)/, 15_000);
  });

  test.serial(`${transport}: a state file run with the other transport is refused: one line, exit 2`, async (t) => {
    const { state, file, common } = await scene(t, transport);
    const args = common.map((a) => (a === transport ? other : a));
    await refused(t, [...args, '--take-over', state, '--listen', '127.0.0.3', '--send-file', file], 2, new RegExp(`holds a ${transport} connection; run with --transport ${transport}`), 15_000);
  });

  test.serial(`${transport}: a state file already used by a takeover, tried again while the taker serves: one line, exit 1, the client keeps its taker`, async (t) => {
    const { state, file, common, client } = await scene(t, transport);
    const copy = join(dir, `used-${transport}.state`);
    writeFileSync(copy, readFileSync(state), { mode: 0o600 });
    const b = spawnProcess(process.execPath, [BATON, 'cat', ...common, '--take-over', state, '--listen', '127.0.0.3', '--send-file', file, '--rate', '300000', '-v'], { t, timeoutMs: 60_000, stderr: 'pipe' });
    await client.waitForLine(/taken over by 127\.0\.0\.3/, 30_000, 'stderr');
    await refused(t, [...common, '--take-over', copy, '--listen', '127.0.0.4', '--send-file', file], 1, /the client refused takeover .*\[BATON_ERR_TAKEOVER_REJECTED\]/, 90_000);
    t.is(b.exitStatus, undefined, 'the taker stopped serving: the case proves nothing');
    t.notRegex(client.stderr, /taken over by 127\.0\.0\.4/, 'the used state took the connection');
    const [c, sb] = await Promise.all([client.waitForExit(60_000), b.waitForExit(60_000)]);
    t.is(c.code, 0, client.stderr);
    t.is(sb.code, 0, b.stderr);
  });

  test.serial(`${transport}: a stale state file (its client gone) fails within the dead-peer bound: one line, exit 1`, async (t) => {
    const { state, file, common, client } = await scene(t, transport);
    client.killNow('SIGKILL');
    await client.waitForExit(10_000);
    await refused(t, [...common, '--take-over', state, '--listen', '127.0.0.3', '--send-file', file], 1, /BATON_ERR_TIMEOUT/, 90_000);
  });
}
