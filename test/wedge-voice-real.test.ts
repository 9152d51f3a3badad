// Telephony calls as a person runs them (README "Telephony sessions"): two `baton serve --service
// voice` processes on 127.0.0.2 and 127.0.0.3, `baton call` to the first, the first SIGKILLed
// mid-call; the second takes the call over (heartbeat every 100 ms) and the call ends whole: no
// frame twice, the client's frames echoed to the end, exit 0. Both transports.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { freeUdpPort, freeWildcardUdpPort } from './helpers/ports.js';
import { runToExit, spawnProcess, type ManagedProcess } from './helpers/process.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'baton-voice-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const KEY = join(dir, 'group.key');
writeFileSync(KEY, `${'6b'.repeat(32)}\n`, { mode: 0o600 });
const SECONDS = 6;

for (const kind of TRANSPORT_KINDS) {
  test.serial(`${kind}: baton serve --service voice ×2, baton call; the serving one is SIGKILLed mid-call, the other continues it`, async (t) => {
    const softStatePort = await freeWildcardUdpPort();
    const ports = { a: await freeUdpPort('127.0.0.2'), b: await freeUdpPort('127.0.0.3') };
    const serve = (id: 'a' | 'b', address: string): ManagedProcess =>
      spawnProcess(
        process.execPath,
        [BATON, 'serve', '--service', 'voice', '--transport', kind, '--listen', `${address}:${ports[id]}`, '--id', id, '--peers', 'a@127.0.0.2,b@127.0.0.3', '--soft-state-port', String(softStatePort), '--group-key', KEY, '--rto-min', '200'],
        { t, timeoutMs: 90_000, stderr: 'pipe', name: `serve-${id}` },
      );
    const a = serve('a', '127.0.0.2');
    const b = serve('b', '127.0.0.3');
    await a.waitForLine(/"event":"listening"/, 20_000, 'stderr');
    await b.waitForLine(/"event":"listening"/, 20_000, 'stderr');
    const call = spawnProcess(process.execPath, [BATON, 'call', '--transport', kind, '--servers', `127.0.0.2:${ports.a}`, '--seconds', String(SECONDS), '--rto-min', '200', '--json'], { t, timeoutMs: 60_000, stdout: 'pipe', stderr: 'pipe', name: 'call' });
    await a.waitForLine(/"event":"accepted"/, 20_000, 'stderr');
    await new Promise((r) => setTimeout(r, 2000));
    a.killNow('SIGKILL');
    const status = await call.exited;
    const report = JSON.parse(call.stdout.trim()) as { sent: number; received: number; lost: number; duplicates: number; takeovers: number; echoed: number; broken: boolean; closed: string; delay: { p99: number } };
    t.is(status.code, 0, `${call.stdout} ${call.stderr}`);
    t.false(report.broken);
    t.is(report.closed, '');
    t.is(report.duplicates, 0, 'no server frame played twice');
    t.is(report.takeovers, 1);
    const frames = SECONDS * 50;
    // The taker echoes the client's frames to the end of the call.
    t.true(report.echoed >= frames - 10, `echoed up to ${report.echoed} of ${frames}`);
    // The stall (death notice 0.2-0.4 s after the kill, then the backoff) on a loaded machine: far below 3 s.
    t.true(report.lost <= 150, `${report.lost} server frames lost`);
    t.true(report.received >= frames - 150, `${report.received} server frames`);
    t.true(b.stderr.includes('"event":"takeover-won"'), b.stderr);
    t.log(`${kind}: ${call.stdout.trim()}`);
    t.is((await b.kill('SIGTERM', 5000)).code, 0);
  });
}

test('baton call to a server that does not answer exits 1 with the reason', async (t) => {
  const port = await freeUdpPort('127.0.0.2');
  const call = await runToExit(process.execPath, [BATON, 'call', '--servers', `127.0.0.2:${port}`, '--seconds', '1'], { t, timeoutMs: 30_000, stderr: 'pipe' });
  t.is(call.status.code, 1);
  t.regex(call.stderr, /no answer from 127\.0\.0\.2/);
});

test('baton call and baton serve --service voice: argument errors exit 2 with one line', async (t) => {
  const call = await runToExit(process.execPath, [BATON, 'call', '--servers', '127.0.0.2', '--seconds', '0'], { t, timeoutMs: 20_000, stderr: 'pipe' });
  t.is(call.status.code, 2);
  t.regex(call.stderr, /--seconds.*above 0/);
  const serve = await runToExit(process.execPath, [BATON, 'serve', '--service', 'voice', '--listen', '127.0.0.2', '--backend', 'http://127.0.0.1:1', '--peers', 'a@127.0.0.2', '--group-key', KEY], { t, timeoutMs: 20_000, stderr: 'pipe' });
  t.is(serve.status.code, 2);
  t.regex(serve.stderr, /has no content server/);
  const http = await runToExit(process.execPath, [BATON, 'serve', '--listen', '127.0.0.2', '--peers', 'a@127.0.0.2', '--group-key', KEY], { t, timeoutMs: 20_000, stderr: 'pipe' });
  t.is(http.status.code, 2);
  t.regex(http.stderr, /--backend/);
});
