// `baton serve` as a user runs it: two wedge processes on 127.0.0.2 and 127.0.0.3 in front of the
// embedded content server, a library client downloading a rate-limited object from the first, the
// first SIGKILLed mid-stream, the second takes the connection over (heartbeat verdict) and the
// sha256 matches. Both transports. Also: argument errors exit 2 with one line.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/api.js';
import { ContentServer, generatedObjectPath, generatedSha256 } from '../src/node/content-server.js';
import { loadPeers, watchPeersFile } from '../src/node/peers-file.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { takeResponse } from './helpers/http-response.js';
import { freeUdpPort, freeWildcardUdpPort } from './helpers/ports.js';
import { runToExit, spawnProcess, type ManagedProcess } from './helpers/process.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'baton-serve-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const KEY = join(dir, 'group.key');
writeFileSync(KEY, `${'5a'.repeat(32)}\n`, { mode: 0o600 });

interface Logged {
  event: string;
  [field: string]: unknown;
}

function events(p: ManagedProcess, event: string): Logged[] {
  return p.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Logged)
    .filter((l) => l.event === event);
}

const cases = [
  ...TRANSPORT_KINDS.map((kind) => ({ kind, how: 'kill' as const })),
  { kind: 'sctp' as const, how: 'declare-dead' as const },
];
for (const { kind, how } of cases) {
  const title =
    how === 'kill'
      ? `${kind}: two baton serve processes; the serving one is SIGKILLed mid-download, the other takes over, sha256 matches`
      : `${kind}: baton monitor declare-dead of the live serving wedge (--health external): the other takes over, the old one is superseded, sha256 matches`;
  test.serial(title, async (t) => {
    const length = 3_000_000;
    const origin = await ContentServer.start({ address: '127.0.0.1', rateBytesPerSec: 1_000_000 });
    t.teardown(() => origin.close());
    const softStatePort = await freeWildcardUdpPort();
    const ports = { a: await freeUdpPort('127.0.0.2'), b: await freeUdpPort('127.0.0.3') };
    const serve = (id: 'a' | 'b', address: string): ManagedProcess =>
      spawnProcess(
        process.execPath,
        [BATON, 'serve', '--admin', '127.0.0.1:0', '--transport', kind, '--listen', `${address}:${ports[id]}`, '--id', id, '--backend', `http://127.0.0.1:${origin.port}`, '--peers', 'a@127.0.0.2,b@127.0.0.3', '--soft-state-port', String(softStatePort), '--group-key', KEY, '--update-sec', '0.5', '--cache-timeout', '3', '--rto-min', '100', '--mtu', '1500', '--health', how === 'kill' ? 'heartbeat' : 'external'],
        { t, timeoutMs: 90_000, stderr: 'pipe', name: `serve-${id}` },
      );
    const a = serve('a', '127.0.0.2');
    const b = serve('b', '127.0.0.3');
    await a.waitForLine(/"event":"listening"/, 20_000, 'stderr');
    await b.waitForLine(/"event":"listening"/, 20_000, 'stderr');
    const socket = await connect({ transport: kind, address: '127.0.0.2', udpPort: ports.a, rtoMin: 100, mtu: 1500 });
    t.teardown(() => void socket.destroy());
    const chunks: Buffer[] = [];
    let received = 0;
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      received += c.length;
    });
    const ended = new Promise<void>((resolve, reject) => {
      socket.once('end', () => resolve());
      socket.once('error', reject);
    });
    socket.write(`GET ${generatedObjectPath(length)} HTTP/1.1\r\nHost: pool\r\nConnection: close\r\n\r\n`);
    const deadline = Date.now() + 30_000;
    while (received < 600_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    t.true(received >= 600_000, `received ${received} before the kill`);
    if (how === 'kill') a.killNow('SIGKILL');
    else {
      const sent = await runToExit(process.execPath, [BATON, 'monitor', 'declare-dead', 'a', '--peers', 'a@127.0.0.2,b@127.0.0.3', '--group-key', KEY, '--soft-state-port', String(softStatePort)], { t, timeoutMs: 20_000, stderr: 'pipe' });
      t.is(sent.status.code, 0, sent.stderr);
    }
    const killedAt = Date.now();
    await ended;
    socket.end();
    const taken = takeResponse(Buffer.concat(chunks));
    t.true(taken !== undefined && 'response' in taken, 'a whole response');
    if (taken === undefined || !('response' in taken)) return;
    t.is(taken.response.status, 200);
    t.is(taken.rest.length, 0, 'nothing after the response');
    t.is(createHash('sha256').update(taken.response.body).digest('hex'), generatedSha256(length));
    const won = events(b, 'takeover-won');
    t.is(won.length, 1, b.stderr);
    t.is(won[0]!.number, 1);
    t.is(events(b, 'member-dead')[0]?.member, 'a');
    t.is(events(b, 'member-dead')[0]?.by, how === 'kill' ? 'heartbeat' : 'monitor');
    if (how === 'declare-dead') {
      await a.waitForLine(/"event":"superseded"/, 10_000, 'stderr');
      t.is((await a.kill('SIGTERM', 5000)).code, 0);
    }
    t.log(`${how} -> end of download ${Date.now() - killedAt} ms; b: stallMs ${String(won[0]!.stallMs)}, nextOffset ${String(won[0]!.nextOffset)}`);
    const admin = events(b, 'admin')[0]!;
    const metrics = await (await fetch(`http://127.0.0.1:${String(admin.port)}/metrics`)).text();
    t.regex(metrics, /^baton_takeovers_won_total 1$/m);
    t.regex(metrics, /^baton_member_deaths_total 1$/m);
    const status = await b.kill('SIGTERM', 5000);
    t.is(status.code, 0, 'SIGTERM: clean exit 0');
  });
}

test('baton serve: a bad argument exits 2 with one line, before binding anything', async (t) => {
  const run = await runToExit(process.execPath, [BATON, 'serve', '--listen', '127.0.0.2', '--backend', 'http://127.0.0.1:1', '--peers', 'a@127.0.0.2', '--group-key', KEY, '--groups', '0'], { t, timeoutMs: 20_000, stderr: 'pipe' });
  t.is(run.status.code, 2);
  t.regex(run.stderr, /^baton serve: --groups must be an integer from 1 to \d+, not "0"\n$/);
  const peers = await runToExit(process.execPath, [BATON, 'serve', '--listen', '127.0.0.2', '--backend', 'http://127.0.0.1:1', '--peers', 'nobody', '--group-key', KEY], { t, timeoutMs: 20_000, stderr: 'pipe' });
  t.is(peers.status.code, 2);
  t.is(peers.stderr.split('\n').filter((l) => l !== '').length, 1);
});

test('peers: LIST and FILE forms, comments ignored, bad entries refused, a changed file is re-read', async (t) => {
  t.deepEqual(loadPeers('a@127.0.0.2, b@127.0.0.3').peers, [
    { id: 'a', address: '127.0.0.2' },
    { id: 'b', address: '127.0.0.3' },
  ]);
  t.throws(() => loadPeers('a@nowhere'), { code: 'BATON_ERR_USAGE' });
  t.throws(() => loadPeers('a@127.0.0.2,a@127.0.0.3'), { message: /appears twice/ });
  const file = join(dir, 'peers');
  writeFileSync(file, '# the pool\na@127.0.0.2\n\nb@127.0.0.3  # second\n');
  const loaded = loadPeers(file);
  t.is(loaded.file, file);
  t.deepEqual(loaded.peers.map((p) => p.id), ['a', 'b']);
  const seen: string[][] = [];
  const refused: string[] = [];
  const stop = watchPeersFile(file, (peers) => seen.push(peers.map((p) => p.id)), (m) => refused.push(m), 50);
  t.teardown(stop);
  writeFileSync(file, 'a@127.0.0.2\nc@127.0.0.4\n');
  for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(seen.at(-1), ['a', 'c']);
  writeFileSync(file, 'garbage\n');
  for (let i = 0; i < 100 && refused.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.is(refused.length, 1);
});
