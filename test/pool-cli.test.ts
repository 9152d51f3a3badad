// A static pool with policies, as a person runs it: three `baton serve` processes (weights in the
// peers list, --takeover-policy round-robin) in front of the embedded content server. A pool-handle
// lookup on a wedge's admin port lists the members with weight and load; `baton fetch --lookup
// --policy least-used` dials the least loaded one; `baton connect --lookup` weighs them; a wedge stopped cleanly (SIGTERM) deregisters,
// so its two connections are taken over at once (the monitor's verdict, not the heartbeat's) and,
// by round robin, one by each survivor; every download's sha256 matches.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/api.js';
import { ContentServer, generatedObjectPath, generatedSha256 } from '../src/node/content-server.js';
import type { PoolAnswer } from '../src/node/pool-lookup.js';
import { takeResponse } from './helpers/http-response.js';
import { freeWildcardUdpPort } from './helpers/ports.js';
import { runToExit, spawnProcess, type ManagedProcess } from './helpers/process.js';
import { events } from './helpers/serve-log.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'baton-pool-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const KEY = join(dir, 'group.key');
writeFileSync(KEY, `${'7c'.repeat(32)}\n`, { mode: 0o600 });

/** A library client downloading `path` from `address`; resolves with the whole response's body hash. */
function download(address: string, udpPort: number, path: string, t: { teardown(fn: () => void): void }): { received: () => number; done: Promise<string> } {
  let received = 0;
  const done = (async () => {
    const socket = await connect({ transport: 'sctp', address, udpPort, rtoMin: 100, mtu: 1500 });
    t.teardown(() => void socket.destroy());
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      received += c.length;
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('end', () => resolve());
      socket.once('error', reject);
      socket.write(`GET ${path} HTTP/1.1\r\nHost: pool\r\nConnection: close\r\n\r\n`);
    });
    socket.end();
    const taken = takeResponse(Buffer.concat(chunks));
    if (taken === undefined || !('response' in taken)) return 'not a whole response';
    return createHash('sha256').update(taken.response.body).digest('hex');
  })();
  return { received: () => received, done };
}

test.serial('pool lookup, least used, and a clean stop that deregisters: round-robin takeover over the survivors, sha256 intact', async (t) => {
  const length = 8_000_000;
  const path = generatedObjectPath(length);
  const origin = await ContentServer.start({ address: '127.0.0.1', rateBytesPerSec: 300_000 });
  t.teardown(() => origin.close());
  const udpPort = await freeWildcardUdpPort();
  const softStatePort = await freeWildcardUdpPort();
  const peers = 'a@127.0.0.2=3,b@127.0.0.3,c@127.0.0.4';
  const serve = (id: string, address: string): ManagedProcess =>
    spawnProcess(
      process.execPath,
      [BATON, 'serve', '--admin', '127.0.0.1:0', '--listen', `${address}:${udpPort}`, '--id', id, '--backend', `http://127.0.0.1:${origin.port}`, '--peers', peers, '--soft-state-port', String(softStatePort), '--group-key', KEY, '--update-sec', '1', '--cache-timeout', '5', '--rto-min', '100', '--mtu', '1500', '--takeover-policy', 'round-robin'],
      { t, timeoutMs: 120_000, stderr: 'pipe', name: `serve-${id}` },
    );
  const wedges = { a: serve('a', '127.0.0.2'), b: serve('b', '127.0.0.3'), c: serve('c', '127.0.0.4') };
  for (const w of Object.values(wedges)) await w.waitForLine(/"event":"admin"/, 30_000, 'stderr');
  const adminOf = (w: ManagedProcess): string => `127.0.0.1:${String(events(w, 'admin')[0]!.port)}`;

  // Two downloads on a, one on b, none on c.
  const clients = [download('127.0.0.2', udpPort, path, t), download('127.0.0.2', udpPort, path, t), download('127.0.0.3', udpPort, path, t)];
  const deadline = Date.now() + 30_000;
  while (clients.some((c) => c.received() < 200_000) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 2500)); // two announcement periods: every member heard every load

  const answer = (await (await fetch(`http://${adminOf(wedges.a)}/pool/baton`)).json()) as PoolAnswer;
  t.deepEqual(
    answer.members.map((m) => [m.id, m.address, m.udpPort, m.weight, m.load, m.alive]),
    [
      ['a', '127.0.0.2', udpPort, 3, 2, true],
      ['b', '127.0.0.3', udpPort, 1, 1, true],
      ['c', '127.0.0.4', udpPort, 1, 0, true],
    ],
  );
  t.is((await fetch(`http://${adminOf(wedges.a)}/pool/other`)).status, 404, 'another handle: not this pool');

  // The least used member by a's answer is c.
  const out = join(dir, 'least-used.bin');
  const fetched = await runToExit(process.execPath, [BATON, 'fetch', `http://pool${generatedObjectPath(10_000)}`, '--lookup', adminOf(wedges.a), '--policy', 'least-used', '-o', out, '--sha256', '--rto-min', '100'], { t, timeoutMs: 60_000, stdout: 'pipe', stderr: 'pipe' });
  t.is(fetched.status.code, 0, fetched.stderr);
  t.regex(fetched.stderr, /from 127\.0\.0\.4:/, 'least used: c');

  // The shim looks the pool up for each connection; weighted round robin (a: 3, b: 1, c: 1) starts with a.
  const shim = spawnProcess(process.execPath, [BATON, 'connect', '--listen', '127.0.0.1:0', '--lookup', adminOf(wedges.b), '--policy', 'weighted-round-robin', '--rto-min', '100', '-v'], { t, timeoutMs: 60_000, stderr: 'pipe', name: 'connect' });
  const [, shimPort] = await shim.waitForLine(/listening on 127\.0\.0\.1:(\d+)/, 20_000, 'stderr');
  const curled = join(dir, 'curl.bin');
  const curl = await runToExit('curl', ['-sS', '--fail', '-o', curled, `http://127.0.0.1:${shimPort!}${generatedObjectPath(10_000)}`], { t, timeoutMs: 60_000 });
  t.is(curl.status.code, 0, shim.stderr);
  t.is(createHash('sha256').update(readFileSync(curled)).digest('hex'), generatedSha256(10_000));
  t.regex(shim.stderr, /connected to 127\.0\.0\.2:/, 'weighted round robin: a (weight 3) first');
  t.is((await shim.kill('SIGTERM', 10_000)).code, 0);
  // a saw that connection end (so it is dropped from the group's tables, not taken over below).
  await wedges.a.waitForLine(/"event":"closed"/, 20_000, 'stderr');
  // Its drop goes out with a's next periodic announcement (--update-sec 1); a clean stop does not flush it.
  await new Promise((r) => setTimeout(r, 2000));

  // a stops cleanly: it deregisters; b and c take its two connections over at once, one each.
  t.true(clients.every((c) => c.received() < length - 1_000_000), `every download still running: ${clients.map((c) => c.received()).join(', ')}`);
  const stoppedAt = Date.now();
  t.is((await wedges.a.kill('SIGTERM', 10_000)).code, 0);
  const hashes = await Promise.all(clients.map((c) => c.done));
  for (const h of hashes) t.is(h, generatedSha256(length));
  for (const w of [wedges.b, wedges.c]) {
    const dead = events(w, 'member-dead').filter((d) => d.member === 'a');
    t.is(dead[0]?.by, 'monitor', 'the deregistration, not the heartbeat (3.1 s of silence), reported it');
  }
  const won = [...events(wedges.b, 'takeover-won').map(() => 'b'), ...events(wedges.c, 'takeover-won').map(() => 'c')].sort();
  t.deepEqual(won, ['b', 'c'], 'round robin: one connection to each survivor');
  // The chosen member asks at once, the other only after an update period (1 s) without the winner's
  // number: on a loaded machine that fallback can fire too; then its request is refused and it withdraws.
  const starts = events(wedges.b, 'takeover-start').length + events(wedges.c, 'takeover-start').length;
  const refused = [...events(wedges.b, 'takeover-lost'), ...events(wedges.c, 'takeover-lost')].filter((l) => String(l.reason).startsWith('BATON_ERR')).length;
  const takeoverLines = (w: ManagedProcess): string => w.stderr.split('\n').filter((l) => /takeover|member-dead/.test(l)).join('\n');
  t.is(starts, 2 + refused, `every request beyond one per connection was refused (the loser withdrew)\nb:\n${takeoverLines(wedges.b)}\nc:\n${takeoverLines(wedges.c)}`);
  for (const w of [wedges.b, wedges.c]) t.is(events(w, 'superseded').length, 0, 'no winner was displaced by a second one');
  t.log(`SIGTERM -> all downloads done ${Date.now() - stoppedAt} ms; stalls ${[...events(wedges.b, 'takeover-won'), ...events(wedges.c, 'takeover-won')].map((w) => String(w.stallMs)).join(', ')}`);
});
