// `--pace ts` through an unmodified client (issue 10, the README's "Media streams"): curl through
// `baton connect` to two `baton serve --pace ts` wedges (real processes on 127.0.0.x) in front of
// the embedded content server holding a synthetic MPEG-TS stream muxed at 4 Mbit/s; the serving
// wedge is SIGKILLed mid-stream and the other takes the connection over. curl gets every byte
// (sha256), at the stream's own mux rate before the kill (loose bounds: a loaded machine), and
// the whole never faster than the stream's clock. One transport, a 3 s stream: a few seconds.
import test from 'ava';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContentServer } from '../src/node/content-server.js';
import { makeTs } from './helpers/mpeg-ts.js';
import { freeUdpPort, freeWildcardUdpPort } from './helpers/ports.js';
import { spawnProcess, type ManagedProcess } from './helpers/process.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'baton-media-connect-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const KEY = join(dir, 'group.key');
writeFileSync(KEY, `${'5c'.repeat(32)}\n`, { mode: 0o600 });

const MUX_RATE = 4_000_000; // bits per second, in the stream's PCRs
const TS = makeTs(1_500_000, MUX_RATE, { pcrStart: 5_000_000 }); // 3 s of media

test('sctp: curl through baton connect to baton serve --pace ts: the mux rate, a SIGKILL taken over, every byte', async (t) => {
  const origin = await ContentServer.start({ address: '127.0.0.1', objects: { '/live.ts': TS } });
  t.teardown(() => origin.close());
  const softStatePort = await freeWildcardUdpPort();
  const ports = { a: await freeUdpPort('127.0.0.2'), b: await freeUdpPort('127.0.0.3') };
  const serve = (id: 'a' | 'b', address: string): ManagedProcess =>
    spawnProcess(
      process.execPath,
      [BATON, 'serve', '--pace', 'ts', '--listen', `${address}:${ports[id]}`, '--id', id, '--backend', `http://127.0.0.1:${origin.port}`, '--peers', 'a@127.0.0.2,b@127.0.0.3', '--soft-state-port', String(softStatePort), '--group-key', KEY, '--update-sec', '0.25', '--dead-after', '4', '--cache-timeout', '3', '--rto-min', '100'],
      { t, timeoutMs: 60_000, stderr: 'pipe', name: `serve-${id}` },
    );
  const a = serve('a', '127.0.0.2');
  const b = serve('b', '127.0.0.3');
  const shim = spawnProcess(process.execPath, [BATON, 'connect', '--listen', '127.0.0.1:0', '--servers', `127.0.0.2:${ports.a}`, '--rto-min', '100'], { t, timeoutMs: 60_000, stderr: 'pipe', name: 'connect' });
  await a.waitForLine(/"event":"listening"/, 20_000, 'stderr');
  await b.waitForLine(/"event":"listening"/, 20_000, 'stderr');
  const shimPort = Number((await shim.waitForLine(/listening on 127\.0\.0\.1:(\d+)/, 20_000, 'stderr'))[1]);
  const out = join(dir, 'copy.ts');
  const curl = spawnProcess('curl', ['-sS', '--fail', '--max-time', '50', '-o', out, `http://127.0.0.1:${shimPort}/live.ts`], { t, timeoutMs: 60_000, stderr: 'pipe', name: 'curl' });
  const size = (): number => (existsSync(out) ? statSync(out).size : 0);
  const samples: Array<[number, number]> = [];
  const exited = curl.waitForExit(60_000);
  let done = false;
  void exited.then(() => (done = true));
  let killedAt: number | undefined;
  while (!done) {
    samples.push([Date.now(), size()]);
    if (killedAt === undefined && samples.at(-1)![1] > 600_000) {
      killedAt = Date.now();
      a.killNow('SIGKILL');
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  samples.push([Date.now(), size()]);
  const status = await exited;
  t.is(status.code, 0, curl.describe());
  t.not(killedAt, undefined, 'the stream was killed mid-way');
  t.is(createHash('sha256').update(readFileSync(out)).digest('hex'), createHash('sha256').update(TS).digest('hex'), 'every byte once, in order');
  t.regex(shim.stderr, /taken over by 127\.0\.0\.3/);
  t.is(JSON.parse(b.stderr.split('\n').find((l) => l.includes('"takeover-won"'))!).number, 1);
  // The mux rate before the kill, from the first byte curl wrote (it writes as bytes arrive).
  const started = samples.find(([, n]) => n > 0)!;
  const upTo = samples.filter(([at]) => at <= killedAt!).at(-1)!;
  const rate = ((upTo[1] - started[1]) * 8) / ((upTo[0] - started[0]) / 1000);
  const tookMs = samples.at(-1)![0] - started[0];
  t.log(`${(rate / 1e6).toFixed(2)} Mbit/s before the kill (mux rate ${MUX_RATE / 1e6}); the 3 s stream took ${(tookMs / 1000).toFixed(2)} s with a takeover`);
  t.true(rate <= MUX_RATE * 1.15 && rate >= MUX_RATE * 0.6, `${rate} bit/s`);
  t.true(tookMs >= 2_800, `faster than the stream's clock: ${tookMs} ms`);
  t.is((await b.kill('SIGTERM', 5000)).code, 0);
  await shim.kill('SIGTERM', 5000);
});
