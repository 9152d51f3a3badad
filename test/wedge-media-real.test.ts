// `baton serve --pace` as a user runs it (real processes on 127.0.0.x): two paced wedges in front of
// the embedded content server (which itself sends as fast as it can), `baton fetch` downloading a
// 10 s "stream" from the first; the download keeps the media rate, the first wedge is SIGKILLed
// mid-stream, the second takes over at the exact byte (sha256) and the download still ends on
// the media clock (not restarted: the whole takes about the media's duration, not that plus the
// gap). Both transports. Also: a bad --pace exits 2 with one line. Loopback timing on a loaded
// machine: the bounds are loose on purpose; the exact ones are in test/wedge-media.test.ts.
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContentServer, generatedObjectPath, generatedSha256 } from '../src/node/content-server.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { freeUdpPort, freeWildcardUdpPort } from './helpers/ports.js';
import { runToExit, spawnProcess, type ManagedProcess } from './helpers/process.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'baton-media-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const KEY = join(dir, 'group.key');
writeFileSync(KEY, `${'6b'.repeat(32)}\n`, { mode: 0o600 });

const RATE = 2_000_000; // --pace 2M
const LENGTH = 2_500_000; // 10 s of media

for (const kind of TRANSPORT_KINDS) {
  test.serial(`${kind}: baton serve --pace 2M: baton fetch keeps the media rate, a SIGKILL mid-stream is taken over, the download ends on the media clock`, async (t) => {
    const origin = await ContentServer.start({ address: '127.0.0.1' });
    t.teardown(() => origin.close());
    const softStatePort = await freeWildcardUdpPort();
    const ports = { a: await freeUdpPort('127.0.0.2'), b: await freeUdpPort('127.0.0.3') };
    const serve = (id: 'a' | 'b', address: string): ManagedProcess =>
      spawnProcess(
        process.execPath,
        [BATON, 'serve', '--pace', '2M', '--transport', kind, '--listen', `${address}:${ports[id]}`, '--id', id, '--backend', `http://127.0.0.1:${origin.port}`, '--peers', 'a@127.0.0.2,b@127.0.0.3', '--soft-state-port', String(softStatePort), '--group-key', KEY, '--update-sec', '0.5', '--cache-timeout', '3', '--rto-min', '100'],
        { t, timeoutMs: 90_000, stderr: 'pipe', name: `serve-${id}` },
      );
    const a = serve('a', '127.0.0.2');
    const b = serve('b', '127.0.0.3');
    await a.waitForLine(/"event":"listening"/, 20_000, 'stderr');
    await b.waitForLine(/"event":"listening"/, 20_000, 'stderr');
    const out = join(dir, `${kind}.ts`);
    const fetch = spawnProcess(process.execPath, [BATON, 'fetch', '-t', kind, '--rto-min', '100', '--servers', `127.0.0.2:${ports.a}`, '--sha256', '-o', out, `http://pool${generatedObjectPath(LENGTH)}`], { t, timeoutMs: 90_000, stderr: 'pipe', name: 'fetch' });
    const part = (): number => readdirSync(dir).filter((f) => f.startsWith(`${kind}.ts.`)).map((f) => statSync(join(dir, f)).size)[0] ?? 0;
    const samples: Array<[number, number]> = [];
    const exited = fetch.waitForExit(90_000);
    let done = false;
    void exited.then(() => (done = true));
    let killedAt: number | undefined;
    while (!done) {
      samples.push([Date.now(), part()]);
      if (killedAt === undefined && samples.at(-1)![1] > 750_000) {
        killedAt = Date.now();
        a.killNow('SIGKILL');
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const status = await exited;
    t.is(status.code, 0, fetch.describe());
    t.not(killedAt, undefined, 'the stream was killed mid-way');
    t.is(createHash('sha256').update(readFileSync(out)).digest('hex'), generatedSha256(LENGTH));
    t.regex(fetch.stderr, /taken over by 127\.0\.0\.3 \(takeover 1\)/);
    // Before the kill: the media rate (bytes 100 k to the kill; the file is written as it arrives).
    const from = samples.find(([, n]) => n >= 100_000)!;
    const upTo = samples.filter(([at]) => at <= killedAt!).at(-1)!;
    const rate = ((upTo[1] - from[1]) * 8) / ((upTo[0] - from[0]) / 1000);
    const started = samples.find(([, n]) => n > 0)!;
    const tookMs = Date.now() - started[0];
    t.log(`${kind}: ${(rate / 1e6).toFixed(3)} Mbit/s before the kill at a pace of 2 Mbit/s; the 10 s stream took ${(tookMs / 1000).toFixed(2)} s with a takeover; ${fetch.stderr.trim().split('\n').at(-1)}`);
    t.true(rate <= RATE * 1.05 && rate >= RATE * 0.8, `${rate} bit/s`);
    t.true(tookMs >= 9_700, `the stream went faster than its clock: ${tookMs} ms`);
    t.true(tookMs <= 10_000 + 6_000, `the stream lost its clock (restarted it after the gap?): ${tookMs} ms`);
    t.is(JSON.parse(b.stderr.split('\n').find((l) => l.includes('"takeover-won"'))!).number, 1);
    t.is((await b.kill('SIGTERM', 5000)).code, 0);
  });
}

test('baton serve --pace: a rate that is not one exits 2 with one line, before binding anything', async (t) => {
  for (const [pace, why] of [
    ['fast', /"fast" is not a media rate/],
    ['0', /"0" = 0 bit\/s is not a media rate from 1000 to 10000000000 bit\/s/],
  ] as const) {
    const run = await runToExit(process.execPath, [BATON, 'serve', '--pace', pace, '--listen', '127.0.0.2', '--backend', 'http://127.0.0.1:1', '--peers', 'a@127.0.0.2', '--group-key', KEY], { t, timeoutMs: 20_000, stderr: 'pipe' });
    t.is(run.status.code, 2);
    t.regex(run.stderr, /^baton serve: --pace: .* \[BATON_ERR_MEDIA_RATE\]\n$/);
    t.regex(run.stderr, why);
  }
});
