// `--registry etcd://...`: a pool's membership and health from a real etcd (Debian's etcd-server,
// started by the test on free loopback ports, stopped and removed after it). Two `baton serve`
// processes with --health external, so only the registry can report a death: the first serves a
// `baton fetch --registry` download, the second joins the pool through etcd mid-download and so
// becomes a candidate, the first is SIGKILLed, its lease expires, the second takes the connection
// over, and the sha256 matches. A clean stop revokes the lease: the others hear it at once.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContentServer, generatedObjectPath, generatedSha256 } from '../src/node/content-server.js';
import { listMembers, parseMemberRecord, parseRegistryUrl } from '../src/node/registry-etcd.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { startEtcd } from './helpers/etcd.js';
import { freeUdpPort, freeWildcardUdpPort } from './helpers/ports.js';
import { spawnProcess, type ManagedProcess } from './helpers/process.js';
import { events } from './helpers/serve-log.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'baton-registry-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const KEY = join(dir, 'group.key');
writeFileSync(KEY, `${'6b'.repeat(32)}\n`, { mode: 0o600 });

test('registry URLs and member records are checked', (t) => {
  t.deepEqual(parseRegistryUrl('etcd://127.0.0.1:2379/baton/pool1/'), { hosts: ['http://127.0.0.1:2379'], prefix: '/baton/pool1' });
  t.deepEqual(parseRegistryUrl('etcd://10.0.0.1:2379,[::1]:2379/p').hosts, ['http://10.0.0.1:2379', 'http://[::1]:2379']);
  for (const bad of ['http://127.0.0.1:2379/p', 'etcd://127.0.0.1/p', 'etcd://127.0.0.1:2379', 'etcd://127.0.0.1:2379/']) t.throws(() => parseRegistryUrl(bad), undefined, bad);
  t.deepEqual(parseMemberRecord('{"id":"a","address":"127.0.0.2","udpPort":9899,"weight":2}'), { id: 'a', address: '127.0.0.2', udpPort: 9899, weight: 2 });
  t.is(parseMemberRecord('{"id":"a","address":"127.0.0.2","udpPort":9899}')?.weight, 1);
  for (const bad of ['', '{', 'null', '{"id":"a b","address":"127.0.0.2","udpPort":1}', '{"id":"a","address":"host","udpPort":1}', '{"id":"a","address":"127.0.0.2","udpPort":0}', '{"id":"a","address":"127.0.0.2","udpPort":1,"weight":-1}']) t.is(parseMemberRecord(bad), undefined, bad);
});

for (const kind of TRANSPORT_KINDS) {
  test.serial(`${kind}: a member joins through etcd mid-download and becomes a candidate; the serving member is SIGKILLed, its lease expires, the joiner takes over; sha256 matches`, async (t) => {
    const etcd = await startEtcd(t);
    const registry = `etcd://${etcd.endpoint}/baton-test/${kind}`;
    // About 24 s of download: b's start and join must fit before the kill even on a loaded machine.
    const length = 6_000_000;
    const origin = await ContentServer.start({ address: '127.0.0.1', rateBytesPerSec: 250_000 });
    t.teardown(() => origin.close());
    const softStatePort = await freeWildcardUdpPort();
    const ports = { a: await freeUdpPort('127.0.0.2'), b: await freeUdpPort('127.0.0.3') };
    const serve = (id: 'a' | 'b', address: string): ManagedProcess =>
      spawnProcess(
        process.execPath,
        [BATON, 'serve', '--transport', kind, '--listen', `${address}:${ports[id]}`, '--id', id, '--backend', `http://127.0.0.1:${origin.port}`, '--registry', registry, '--registry-ttl', '2', '--soft-state-port', String(softStatePort), '--group-key', KEY, '--update-sec', '0.5', '--cache-timeout', '3', '--rto-min', '100', '--mtu', '1500', '--health', 'external'],
        { t, timeoutMs: 120_000, stderr: 'pipe', name: `serve-${id}` },
      );
    const a = serve('a', '127.0.0.2');
    await a.waitForLine(/"event":"listening"/, 30_000, 'stderr');
    t.deepEqual((await listMembers(parseRegistryUrl(registry))).map((m) => [m.id, m.address, m.udpPort]), [['a', '127.0.0.2', ports.a]], 'a registered itself');
    const out = join(dir, `fetched-${kind}`);
    const fetcher = spawnProcess(process.execPath, [BATON, 'fetch', `http://pool${generatedObjectPath(length)}`, '--registry', registry, '--transport', kind, '-o', out, '--sha256', '--quiet', '--rto-min', '100'], { t, timeoutMs: 120_000, stdout: 'pipe', stderr: 'pipe', name: 'fetch' });
    await a.waitForLine(/"event":"request"/, 30_000, 'stderr');
    // b joins through etcd; a hears of it (peers-changed with b) and announces to it.
    const b = serve('b', '127.0.0.3');
    await b.waitForLine(/"event":"listening"/, 30_000, 'stderr');
    await a.waitForLine(/"event":"peers-changed".*b@127\.0\.0\.3/, 30_000, 'stderr');
    await new Promise((r) => setTimeout(r, 1500)); // three announcement periods: b holds a's state
    const running = await Promise.race([fetcher.exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 100))]);
    t.true(running, `the download is still running when a is killed: ${fetcher.stderr}`);
    a.killNow('SIGKILL');
    const killedAt = Date.now();
    const status = await fetcher.exited;
    t.is(status.code, 0, fetcher.stderr);
    t.is(fetcher.stdout.split(/\s+/)[0], generatedSha256(length), 'sha256 of the download');
    const gone = events(b, 'member-gone');
    t.deepEqual(gone.map((g) => g.member), ['a'], 'b saw a\'s key deleted (lease expired)');
    const dead = events(b, 'member-dead');
    t.is(dead[0]?.by, 'registry', 'the registry, not a heartbeat (--health external), reported the death');
    const won = events(b, 'takeover-won');
    t.is(won.length, 1, b.stderr);
    t.log(`SIGKILL -> download end ${Date.now() - killedAt} ms; b stallMs ${String(won[0]?.stallMs)}`);
    // A clean stop revokes b's lease: gone from the registry at once (not after the TTL).
    t.is((await b.kill('SIGTERM', 10_000)).code, 0);
    t.deepEqual(await listMembers(parseRegistryUrl(registry)), [], 'b deregistered');
  });
}

test.serial('a clean stop deregisters at once: the other member hears the delete well before the lease would expire', async (t) => {
  const etcd = await startEtcd(t);
  const registry = `etcd://${etcd.endpoint}/baton-test/leave`;
  const origin = await ContentServer.start({ address: '127.0.0.1' });
  t.teardown(() => origin.close());
  const softStatePort = await freeWildcardUdpPort();
  const serve = (id: string, address: string, port: number): ManagedProcess =>
    spawnProcess(process.execPath, [BATON, 'serve', '--listen', `${address}:${port}`, '--id', id, '--backend', `http://127.0.0.1:${origin.port}`, '--registry', registry, '--registry-ttl', '30', '--soft-state-port', String(softStatePort), '--group-key', KEY, '--weight', id === 'a' ? '3' : '1'], { t, timeoutMs: 90_000, stderr: 'pipe', name: `serve-${id}` });
  const a = serve('a', '127.0.0.2', await freeUdpPort('127.0.0.2'));
  await a.waitForLine(/"event":"listening"/, 30_000, 'stderr');
  const b = serve('b', '127.0.0.3', await freeUdpPort('127.0.0.3'));
  await b.waitForLine(/"event":"listening"/, 30_000, 'stderr');
  await a.waitForLine(/"event":"peers-changed".*b@/, 30_000, 'stderr');
  t.deepEqual((await listMembers(parseRegistryUrl(registry))).map((m) => [m.id, m.weight]), [['a', 3], ['b', 1]], 'weights registered');
  const stoppedAt = Date.now();
  t.is((await b.kill('SIGTERM', 10_000)).code, 0);
  await a.waitForLine(/"event":"member-gone","member":"b"/, 10_000, 'stderr');
  t.true(Date.now() - stoppedAt < 10_000, 'heard within seconds; the lease had 30 s to live');
  t.is(events(a, 'member-dead')[0]?.by, 'registry');
});
