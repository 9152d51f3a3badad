// `--registry etcds://...` against a real etcd (Debian's etcd-server) that serves its clients over
// TLS only, requires client certificates (--client-cert-auth) and has user/password authentication
// enabled: the certificates (a CA, etcd's, a client's) are made by openssl in a temporary directory,
// the users and roles set up with the etcd3 client before auth is enabled (etcdctl is not installed
// here). A `baton serve` registers through it, a client lists it (what `baton fetch` and `baton
// connect --registry` do), a clean stop deregisters; without the password, or without TLS, the
// same etcd refuses.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { ContentServer } from '../src/node/content-server.js';
import { etcdClientOptions, listMembers, parseRegistryUrl } from '../src/node/registry-etcd.js';
import { startEtcd } from './helpers/etcd.js';
import { freeUdpPort, freeWildcardUdpPort } from './helpers/ports.js';
import { spawnProcess } from './helpers/process.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'baton-etcd-tls-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const KEY = join(dir, 'group.key');
writeFileSync(KEY, `${'3d'.repeat(32)}\n`, { mode: 0o600 });
const file = (name: string): string => join(dir, name);

/** A CA, and certificates it signs: `etcd` for 127.0.0.1 (server), `client` (CN baton-client: not an etcd user). */
function makeCertificates(): void {
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=baton-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
  for (const [name, cn, ext] of [
    ['etcd', 'etcd', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n'],
    ['client', 'baton-client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    writeFileSync(file(`${name}.ext`), ext);
    openssl('req', ...ec, '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  }
}

test('registry URLs: etcds:// and the files for TLS and auth; secrets only in files', (t) => {
  writeFileSync(file('url.auth'), 'baton:pa:ss\n', { mode: 0o600 });
  writeFileSync(file('url.pem'), 'PEM');
  const u = parseRegistryUrl(`etcds://127.0.0.1:2379,[::1]:2379/p/?ca=${file('url.pem')}&auth=${file('url.auth')}`);
  t.deepEqual(u.hosts, ['https://127.0.0.1:2379', 'https://[::1]:2379']);
  t.is(u.prefix, '/p');
  t.deepEqual(u.auth, { username: 'baton', password: 'pa:ss' });
  t.is(u.tls?.ca?.toString(), 'PEM');
  t.deepEqual(etcdClientOptions(u, 1000).auth, { username: 'baton', password: 'pa:ss' });
  t.is(parseRegistryUrl(`etcd://127.0.0.1:2379/p?auth=${file('url.auth')}`).tls, undefined);
  for (const [bad, why] of [
    [`etcd://127.0.0.1:2379/p?ca=${file('url.pem')}`, /use etcds/],
    [`etcds://127.0.0.1:2379/p?cert=${file('url.pem')}`, /both cert=FILE and key=FILE/],
    ['etcds://127.0.0.1:2379/p?password=x', /not one of ca=FILE/],
    [`etcds://127.0.0.1:2379/p?auth=${file('missing')}`, /cannot read the auth file .*ENOENT/],
    [`etcds://127.0.0.1:2379/p?auth=${file('url.pem')}`, /must hold USER:PASSWORD/],
  ] as const) t.throws(() => parseRegistryUrl(bad), { code: 'BATON_ERR_USAGE', message: why } as never, bad);
});

test.serial('etcd over TLS with client certificates and user/password auth: a member registers, a client lists it, a clean stop deregisters; no password or no TLS is refused', async (t) => {
  makeCertificates();
  const etcd = await startEtcd(t, { cert: file('etcd.pem'), key: file('etcd.key'), ca: file('ca.pem'), clientCert: file('client.pem'), clientKey: file('client.key') });
  const tls = `ca=${file('ca.pem')}&cert=${file('client.pem')}&key=${file('client.key')}`;
  // Users and roles, then auth on: root (required by etcd to enable auth) and baton, who may read and write /baton-tls/ only.
  const admin = new Etcd3(etcdClientOptions(parseRegistryUrl(`etcds://${etcd.endpoint}/x?${tls}`), 5000));
  try {
    await admin.role('root').create().catch(() => undefined); // etcd may have it already
    await (await admin.user('root').create('root-secret')).addRole('root');
    await (await admin.role('baton').create()).grant({ permission: 'Readwrite', range: admin.range({ prefix: '/baton-tls/' }) });
    await (await admin.user('baton').create('baton-secret')).addRole('baton');
    await admin.auth.authEnable({});
  } finally {
    admin.close();
  }
  writeFileSync(file('baton.auth'), 'baton:baton-secret\n', { mode: 0o600 });
  const registry = `etcds://${etcd.endpoint}/baton-tls/pool?${tls}&auth=${file('baton.auth')}`;

  const origin = await ContentServer.start({ address: '127.0.0.1' });
  t.teardown(() => origin.close());
  const port = await freeUdpPort('127.0.0.2');
  const a = spawnProcess(
    process.execPath,
    [BATON, 'serve', '--listen', `127.0.0.2:${port}`, '--id', 'a', '--backend', `http://127.0.0.1:${origin.port}`, '--registry', registry, '--registry-ttl', '5', '--soft-state-port', String(await freeWildcardUdpPort()), '--group-key', KEY, '--rto-min', '100'],
    { t, timeoutMs: 60_000, stderr: 'pipe', name: 'serve-a' },
  );
  await a.waitForLine(/"event":"listening"/, 30_000, 'stderr');
  t.deepEqual((await listMembers(parseRegistryUrl(registry))).map((m) => [m.id, m.address, m.udpPort]), [['a', '127.0.0.2', port]], 'a registered through TLS + auth');
  t.false(registry.includes('baton-secret'), 'the password is in a file, not on the command line');

  // The same etcd refuses a client without the password (its certificate's CN is no user) and one without TLS.
  const noAuth = await listMembers(parseRegistryUrl(`etcds://${etcd.endpoint}/baton-tls/pool?${tls}`), 3000).then(() => 'listed', (e: Error) => e.message);
  t.regex(noAuth, /permission denied|user name|invalid auth/i, 'no password: refused');
  const plain = await listMembers(parseRegistryUrl(`etcd://${etcd.endpoint}/baton-tls/pool?auth=${file('baton.auth')}`), 3000).then(() => 'listed', (e: Error) => e.message);
  t.not(plain, 'listed', 'no TLS: refused');
  t.log(`without the password: ${noAuth}; without TLS: ${plain.split('\n')[0]}`);

  t.is((await a.kill('SIGTERM', 10_000)).code, 0);
  t.deepEqual(await listMembers(parseRegistryUrl(registry)), [], 'a revoked its lease on a clean stop');
});
