// `baton cat` as a user runs it: real processes on 127.0.0.x, free UDP ports, bounded in time. Also
// issue 14 items 2, 6 (file mode), 11 and 12: the state names the object the stream carries and a
// taker with another file refuses before it takes anything over; a state file that cannot be
// written once serving is reported; a client whose standard output closes aborts its connection.
import test from 'ava';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { decodeTransportState } from '../src/transport-abstraction/state.js';
import { spawnProcess, runToExit } from './helpers/process.js';
import { BATON, until } from './helpers/cli.js';
import { freeUdpPort } from './helpers/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-cat-'));

function makeFile(name: string, length: number, salt = 0): string {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 131 + (i >>> 11) + salt) & 0xff;
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * `baton cat ARGS` with its stdout a pipe the test reads (or not) itself, in its own process group;
 * killed at the test's end or after `guardMs`.
 */
function spawnPiped(t: import('ava').ExecutionContext, args: string[], guardMs: number): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BATON, 'cat', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const kill = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  t.teardown(kill);
  const guard = setTimeout(kill, guardMs);
  t.teardown(() => clearTimeout(guard));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

test.serial('baton --help and baton cat --help explain themselves', async (t) => {
  const top = await runToExit(process.execPath, [BATON, '--help'], { t, timeoutMs: 20_000 });
  t.is(top.status.code, 0);
  t.regex(top.stdout, /cat \[options\] \[target\]/);
  const cat = await runToExit(process.execPath, [BATON, 'cat', '--help'], { t, timeoutMs: 20_000 });
  t.is(cat.status.code, 0);
  for (const flag of ['--listen', '--transport', '--udp-encap-port', '--peer-encap-port', '--send-file', '--state-out', '--take-over']) {
    t.true(cat.stdout.includes(flag), `--help lacks ${flag}`);
  }
});

test.serial('bad arguments get a clear message and exit status 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['cat'], /give ADDR\[:PORT\] to connect to/],
    [['cat', 'nowhere.example'], /not an IP address/],
    [['cat', '127.0.0.1:99999'], /not a UDP port/],
    [['cat', '127.0.0.1', '--udp-encap-port', 'x'], /--udp-encap-port <port>' argument 'x' is invalid/],
    [['cat', '--listen', '127.0.0.1', '127.0.0.1'], /either a target .* or --listen/],
    [['cat', '--take-over', join(dir, 'missing.state'), '--listen', '127.0.0.3', '--send-file', join(dir, 'x')], /cannot read the state file/],
  ];
  for (const [args, message] of cases) {
    const run = await runToExit(process.execPath, [BATON, ...args], { t, timeoutMs: 20_000 });
    t.is(run.status.code, 2, `${args.join(' ')}: ${run.stderr}`);
    t.regex(run.stderr, message);
  }
  const garbage = join(dir, 'garbage.state');
  writeFileSync(garbage, Buffer.from('not a protobuf at all, just text'));
  const file = makeFile('small.bin', 100);
  const run = await runToExit(process.execPath, [BATON, 'cat', '--take-over', garbage, '--listen', '127.0.0.3', '--send-file', file], { t, timeoutMs: 20_000 });
  t.is(run.status.code, 2);
  t.regex(run.stderr, /not a baton connection state \(BATON_ERR_STATE_/);
});

for (const transport of ['sctp', 'tcp']) {
  test.serial(`${transport}: a file crosses intact and both ends exit 0`, async (t) => {
    const file = makeFile(`file-${transport}.bin`, 2_000_000);
    const port = await freeUdpPort('127.0.0.2');
    const out = join(dir, `got-${transport}.bin`);
    const server = spawnProcess(process.execPath, [BATON, 'cat', '-t', transport, '--listen', '127.0.0.2', '--udp-encap-port', String(port), '--send-file', file, '-v'], { t, timeoutMs: 60_000, stderr: 'pipe' });
    await server.waitForLine(/listening on/, 20_000, 'stderr');
    const client = spawnProcess(process.execPath, [BATON, 'cat', '-t', transport, '127.0.0.2', '--peer-encap-port', String(port)], { t, timeoutMs: 60_000, stdout: { file: out } });
    const [c, s] = await Promise.all([client.waitForExit(60_000), server.waitForExit(60_000)]);
    t.is(c.code, 0, client.stderr);
    t.is(s.code, 0, server.stderr);
    t.is(sha(out), sha(file));
  });

  test.serial(`${transport}: a connection to a port nobody serves is refused with exit 1 and the cause`, async (t) => {
    const port = await freeUdpPort('127.0.0.2');
    const server = spawnProcess(process.execPath, [BATON, 'cat', '-t', transport, '--listen', '127.0.0.2:5000', '--udp-encap-port', String(port), '-v'], { t, timeoutMs: 60_000, stderr: 'pipe' });
    await server.waitForLine(/listening on/, 20_000, 'stderr');
    const client = await runToExit(process.execPath, [BATON, 'cat', '-t', transport, '127.0.0.2:5001', '--peer-encap-port', String(port)], { t, timeoutMs: 30_000 });
    t.is(client.status.code, 1);
    t.regex(client.stderr, /BATON_ERR_REFUSED/);
  });

  test.serial(`${transport}: failover by hand — A is SIGKILLed mid-file, B takes over from its state file, the client gets the file byte-exact`, async (t) => {
    const file = makeFile(`failover-${transport}.bin`, 3_000_000);
    const state = join(dir, `a-${transport}.state`);
    const out = join(dir, `failover-got-${transport}.bin`);
    const port = await freeUdpPort('127.0.0.2');
    const common = ['-t', transport, '--udp-encap-port', String(port), '--rto-min', '100'];
    const a = spawnProcess(process.execPath, [BATON, 'cat', ...common, '--listen', '127.0.0.2', '--send-file', file, '--state-out', state, '--rate', '1500000', '-v'], { t, timeoutMs: 60_000, stderr: 'pipe' });
    await a.waitForLine(/listening on/, 20_000, 'stderr');
    const client = spawnProcess(process.execPath, [BATON, 'cat', '-t', transport, '127.0.0.2', '--peer-encap-port', String(port), '--rto-min', '100', '-v'], { t, timeoutMs: 60_000, stdout: { file: out }, stderr: 'pipe' });
    t.true(await until(() => existsSync(out) && statSync(out).size > 600_000, 20_000), 'the client never got going');
    t.true(existsSync(state), 'A wrote no state file');
    a.killNow('SIGKILL');
    await a.waitForExit(10_000);
    const got = statSync(out).size;
    t.true(got < 3_000_000, 'A finished before it was killed; the test proves nothing');
    const b = spawnProcess(process.execPath, [BATON, 'cat', ...common, '--take-over', state, '--listen', '127.0.0.3', '--send-file', file, '-v'], { t, timeoutMs: 60_000, stderr: 'pipe' });
    const [c, sb] = await Promise.all([client.waitForExit(60_000), b.waitForExit(60_000)]);
    t.is(c.code, 0, client.stderr);
    t.is(sb.code, 0, b.stderr);
    t.regex(b.stderr, /client holds \d+ bytes in order/);
    t.regex(client.stderr, /taken over by 127\.0\.0\.3/);
    t.is(sha(out), sha(file));
  });
}

/** The resident set size of a process in bytes (Linux /proc), or NaN once it is gone. */
function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

for (const transport of ['tcp', 'sctp']) {
  test.serial(`${transport}: a client whose stdout pipe nobody reads for 2 s stays small (receive backpressure), then the file arrives intact`, async (t) => {
    const length = 30_000_000;
    const file = makeFile(`slow-reader-${transport}.bin`, length);
    const port = await freeUdpPort('127.0.0.2');
    const server = spawnProcess(process.execPath, [BATON, 'cat', '-t', transport, '--listen', '127.0.0.2', '--udp-encap-port', String(port), '--send-file', file, '-v'], { t, timeoutMs: 30_000, stderr: 'pipe' });
    await server.waitForLine(/listening on/, 20_000, 'stderr');
    // The client's stdout is a pipe this test does not read at first (not the helper's collector).
    const { child: client, stderr: clientStderr, exited } = spawnPiped(t, ['-t', transport, '127.0.0.2', '--peer-encap-port', String(port), '-v'], 30_000);
    client.stdout!.pause();
    const closed = new Promise<void>((resolve) => client.stdout!.on('close', () => resolve()));
    t.true(await until(() => /connected/.test(clientStderr()), 20_000), `the client never connected: ${clientStderr()}`);
    const base = rssOf(client.pid!);
    let peak = base;
    const stallEnd = Date.now() + 2000;
    while (Date.now() < stallEnd) {
      await new Promise((r) => setTimeout(r, 50));
      peak = Math.max(peak, rssOf(client.pid!));
    }
    t.log(`${transport}: client RSS ${(base / 1e6).toFixed(1)} MB at connect, at most ${(peak / 1e6).toFixed(1)} MB while its stdout was not read`);
    // Without backpressure the whole file (30 MB) piles up in the client in well under 2 s.
    t.true(peak - base < 12_000_000, `the client grew by ${((peak - base) / 1e6).toFixed(1)} MB while nobody read its output`);
    t.is(server.exitStatus, undefined, 'the server finished while the client could not have read the file');
    const hash = createHash('sha256');
    let got = 0;
    client.stdout!.on('data', (d: Buffer) => {
      hash.update(d);
      got += d.length;
    });
    client.stdout!.resume();
    const [code] = await Promise.all([exited, closed]);
    t.is(code, 0, clientStderr());
    t.is(got, length);
    t.is(hash.digest('hex'), sha(file));
    t.is((await server.waitForExit(20_000)).code, 0, server.stderr);
  });
}

for (const transport of ['sctp', 'tcp']) {
  test.serial(`${transport}: a taker with another --send-file refuses with one line and exit 2; the client still gets the original intact`, async (t) => {
    const length = 2_000_000;
    const file = join(makeFile(`video-${transport}.bin`, length));
    // Same name and length, one byte changed in the middle: only the validator tells them apart.
    const otherDir = mkdtempSync(join(dir, 'other-'));
    const edited = join(otherDir, `video-${transport}.bin`);
    copyFileSync(file, edited);
    const bytes = readFileSync(edited);
    bytes[length / 2] ^= 0xff;
    writeFileSync(edited, bytes);
    const shorter = join(otherDir, `short-${transport}.bin`);
    writeFileSync(shorter, readFileSync(file).subarray(0, length - 1000));
    const state = join(dir, `a-${transport}.state`);
    const out = join(dir, `got-${transport}.bin`);
    const port = await freeUdpPort('127.0.0.2');
    const common = ['-t', transport, '--udp-encap-port', String(port), '--rto-min', '100'];
    const a = spawnProcess(process.execPath, [BATON, 'cat', ...common, '--listen', '127.0.0.2', '--send-file', file, '--state-out', state, '--rate', '200000', '-v'], { t, timeoutMs: 60_000, stderr: 'pipe' });
    await a.waitForLine(/listening on/, 20_000, 'stderr');
    const client = spawnProcess(process.execPath, [BATON, 'cat', '-t', transport, '127.0.0.2', '--peer-encap-port', String(port), '--rto-min', '100'], { t, timeoutMs: 60_000, stdout: { file: out }, stderr: 'pipe' });
    t.true(await until(() => existsSync(state) && existsSync(out) && statSync(out).size > 100_000, 20_000), 'the stream never got going');

    // Item 6 (the file-mode part): the state holds the connection key.
    t.is(statSync(state).mode & 0o777, 0o600, 'the state file is readable by others');
    const mapping = decodeTransportState(readFileSync(state)).stream;
    t.is(mapping?.objectName, `video-${transport}.bin`);
    t.is(mapping?.objectLength, length);
    t.is(mapping?.validator, `sha256:${sha(file)}`);

    const taker = ['cat', ...common, '--take-over', state, '--listen', '127.0.0.3'];
    const cases: Array<[string, RegExp]> = [
      [edited, /not the object the connection carries \(content sha256:/],
      [shorter, /not the object the connection carries \(name short-.*; length 1999000 vs 2000000; content/],
    ];
    for (const [other, message] of cases) {
      const b = await runToExit(process.execPath, [BATON, ...taker, '--send-file', other], { t, timeoutMs: 15_000 });
      t.is(b.status.code, 2, b.stderr);
      t.is(b.stderr.trimEnd().split('\n').length, 1, b.stderr);
      t.regex(b.stderr, message);
    }
    t.is(a.exitStatus, undefined, 'A finished before the takers were tried; the test proves nothing');
    // Nobody took the connection: A finishes it and the client's copy is the original.
    const [c, sa] = await Promise.all([client.waitForExit(40_000), a.waitForExit(40_000)]);
    t.is(c.code, 0, client.stderr);
    t.is(sa.code, 0, a.stderr);
    t.is(sha(out), sha(file));
  });
}

for (const transport of ['sctp', 'tcp']) {
  test.serial(`${transport}: item 12 — a client whose stdout closes (| head -c 1000) aborts the connection: one line, exit 1, and the server stops at once`, async (t) => {
    const file = makeFile(`big-${transport}.bin`, 30_000_000);
    const port = await freeUdpPort('127.0.0.2');
    const server = spawnProcess(process.execPath, [BATON, 'cat', '-t', transport, '--listen', '127.0.0.2', '--udp-encap-port', String(port), '--send-file', file, '--rate', '3000000', '-v'], { t, timeoutMs: 60_000, stderr: 'pipe' });
    await server.waitForLine(/listening on/, 20_000, 'stderr');
    // `baton cat ... | head -c 1000`, with head played by this test: read 1000 bytes, close the pipe.
    const { child: client, stderr: clientStderr, exited } = spawnPiped(t, ['-t', transport, '127.0.0.2', '--peer-encap-port', String(port)], 30_000);
    let got = 0;
    await new Promise<void>((resolve) => {
      client.stdout!.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= 1000) {
          client.stdout!.destroy();
          resolve();
        }
      });
    });
    const closedAt = Date.now();
    const code = await exited;
    const stderr = clientStderr();
    t.true(Date.now() - closedAt < 10_000, `the client took ${Date.now() - closedAt} ms to exit after its stdout closed`);
    t.is(code, 1, stderr);
    t.is(stderr.trimEnd().split('\n').length, 1, `more than one line (a stack trace?): ${stderr}`);
    t.regex(stderr, /standard output closed \(EPIPE\); connection aborted/);
    // The server learns at once (ABORT / RST), not minutes later from its retransmission limit; at
    // --rate 3 MB/s the 30 MB file would take it 10 s to finish.
    const s = await server.waitForExit(5_000);
    t.is(s.code, 1, server.stderr);
    t.regex(server.stderr, /BATON_ERR_ABORTED/);
  });
}

test.serial('item 11: a state file that cannot be written once serving is reported in one line and exit 1; the client still gets its file', async (t) => {
  const file = makeFile('state-gone.bin', 500_000);
  const stateDir = mkdtempSync(join(dir, 'states-'));
  const port = await freeUdpPort('127.0.0.2');
  const out = join(dir, 'state-gone-got.bin');
  const server = spawnProcess(process.execPath, [BATON, 'cat', '--listen', '127.0.0.2', '--udp-encap-port', String(port), '--send-file', file, '--state-out', join(stateDir, 'a.state'), '-v'], { t, timeoutMs: 30_000, stderr: 'pipe' });
  await server.waitForLine(/listening on/, 20_000, 'stderr');
  rmSync(stateDir, { recursive: true }); // the place was writable when checked; it is gone now
  const client = spawnProcess(process.execPath, [BATON, 'cat', '127.0.0.2', '--peer-encap-port', String(port)], { t, timeoutMs: 30_000, stdout: { file: out }, stderr: 'pipe' });
  const [c, s] = await Promise.all([client.waitForExit(20_000), server.waitForExit(20_000)]);
  t.is(c.code, 0, client.stderr);
  t.is(sha(out), sha(file));
  t.is(s.code, 1, server.stderr);
  t.is(server.stderr.split('\n').filter((line) => /cannot write the state/.test(line)).length, 1, server.stderr);
  t.notRegex(server.stderr, /^\s+at /m, 'a stack trace');
});
