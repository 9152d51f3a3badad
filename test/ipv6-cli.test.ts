// IPv6 with real processes (README "IPv6"), on both transports, each test in a network namespace
// of its own (unique name, deleted after it) so that fixed ports cannot collide:
//   - on ::1 (one address): `baton serve --listen [::1]` in front of the embedded content server
//     reached as http://[::1]:PORT, curl through `baton connect --listen [::1]:PORT --servers [::1]`,
//     and `baton fetch --servers [::1]:9899`;
//   - a takeover from an IPv6 address: a client namespace (fd00:ba70::1) and a server namespace
//     (fd00:ba70::2 and ::3) joined by a veth pair, wedges a and b on the two server addresses (the
//     peers file in ID@ADDR form with IPv6 addresses), `baton fetch` in the client ns downloads from a,
//     a is SIGKILLed mid-download, b takes the connection over from its own IPv6 address, the
//     sha256 is the object's.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedObjectPath, generatedSha256 } from '../src/node/content-server.js';
import type { TransportKind } from '../src/transport-abstraction/transport.js';
import { Namespaces, netnsMissing, sh } from './helpers/netns.js';
import type { ManagedProcess } from './helpers/process.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const CONTENT_SERVER = fileURLToPath(new URL('../dist/src/node/content-server.js', import.meta.url));
const CLIENT = 'fd00:ba70::1';
const A = 'fd00:ba70::2';
const B = 'fd00:ba70::3';
const HEARTBEAT = ['--update-sec', '1', '--dead-after', '3', '--cache-timeout', '6'];

/**
 * The server namespace (lo up: ::1; A and B on a veth whose other end, fd00:ba70::1, is in the
 * client namespace) with the content server on [::1], paced at `rate` bytes/s if given.
 */
async function setup(t: ExecutionContext, rate?: number) {
  const ns = new Namespaces(t);
  const dir = mkdtempSync(join(tmpdir(), 'baton-ipv6-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const name = await ns.add('v6');
  const client = await ns.add('v6c');
  await sh(`
ip -n ${client} link add eth0 type veth peer name eth0 netns ${name}
ip -n ${client} -6 addr add ${CLIENT}/64 dev eth0 nodad
ip -n ${name} -6 addr add ${A}/64 dev eth0 nodad
ip -n ${name} -6 addr add ${B}/64 dev eth0 nodad
ip -n ${client} link set eth0 up
ip -n ${name} link set eth0 up
`);
  writeFileSync(join(dir, 'content.mjs'), `import { ContentServer } from ${JSON.stringify(CONTENT_SERVER)};\nconst c = await ContentServer.start({ address: '::1'${rate === undefined ? '' : `, rateBytesPerSec: ${rate}`} });\nconsole.log('PORT ' + c.port);\n`);
  const content = ns.spawn(name, process.execPath, [join(dir, 'content.mjs')], { t, name: 'content server', timeoutMs: 110_000, stdout: 'pipe', stderr: 'pipe' });
  const port = Number((await content.waitForLine(/^PORT (\d+)$/, 20_000))[1]);
  const keyFile = join(dir, 'group.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const wedge = (kind: TransportKind, id: string, listen: string, peers: string) =>
    ns.spawn(name, process.execPath, [BATON, 'serve', '--transport', kind, '--listen', listen, '--id', id, '--peers', peers, '--group-key', keyFile, '--backend', `http://[::1]:${port}`, '--rto-min', '200', '--log', 'json', ...HEARTBEAT], {
      t,
      name: `baton serve ${id}`,
      timeoutMs: 110_000,
      stderr: 'pipe',
    });
  return { ns, name, client, dir, wedge };
}

const waitEvent = (p: ManagedProcess, name: string, timeoutMs: number) => p.waitForLine(new RegExp(`"event":\\s*"${name}"`), timeoutMs, 'stderr');
const missing = netnsMissing();

for (const kind of ['sctp', 'tcp'] as const) {
  test.serial(`${kind}: on ::1 — baton serve --listen [::1], curl through baton connect and baton fetch get the object whole`, async (t) => {
    if (missing !== undefined) return t.fail(missing);
    const s = await setup(t);
    const w = s.wedge(kind, 'a', '[::1]', 'a@[::1]');
    await waitEvent(w, 'listening', 20_000);
    const length = 2_000_000;
    const shim = s.ns.spawn(s.name, process.execPath, [BATON, 'connect', '--transport', kind, '--listen', '[::1]:8000', '--servers', '[::1]', '--rto-min', '200'], { t, name: 'baton connect', timeoutMs: 100_000, stderr: 'pipe' });
    await shim.waitForLine(/listening on/, 20_000, 'stderr');
    const curl = s.ns.spawn(s.name, '/usr/bin/curl', ['-sS', '-g', '-o', join(s.dir, 'curl.bin'), '-w', '%{http_code}', `http://[::1]:8000${generatedObjectPath(length)}`], { t, name: 'curl', timeoutMs: 60_000, stdout: 'pipe', stderr: 'pipe' });
    t.is((await curl.waitForExit(60_000)).code, 0, curl.describe());
    t.is(curl.stdout.trim(), '200');
    const check = await sh(`sha256sum ${join(s.dir, 'curl.bin')}`);
    t.is(check.split(' ')[0], generatedSha256(length), 'curl got the object whole');
    const port = kind === 'sctp' ? 9899 : 9898;
    const fetch = s.ns.spawn(s.name, process.execPath, [BATON, 'fetch', `http://pool${generatedObjectPath(length)}`, '--transport', kind, '--servers', `[::1]:${port}`, '-o', join(s.dir, 'fetch.bin'), '--sha256', '-q', '--rto-min', '200'], { t, name: 'baton fetch', timeoutMs: 60_000, stdout: 'pipe', stderr: 'pipe' });
    t.is((await fetch.waitForExit(60_000)).code, 0, fetch.describe());
    t.true(fetch.stdout.includes(generatedSha256(length)), fetch.describe());
    t.true(w.stderr.includes('"connection":"[::1]:'), `the wedge names the IPv6 client\n${w.describe()}`);
  });

  test.serial(`${kind}: b takes a download over from its own IPv6 address after a is killed; the sha256 is the object's`, async (t) => {
    if (missing !== undefined) return t.fail(missing);
    const s = await setup(t, 1_000_000);
    const peers = join(s.dir, 'peers');
    writeFileSync(peers, `a@${A}\nb@[${B}]\n`);
    const a = s.wedge(kind, 'a', `[${A}]`, peers);
    const b = s.wedge(kind, 'b', B, peers);
    await Promise.all([waitEvent(a, 'listening', 20_000), waitEvent(b, 'listening', 20_000)]);
    const length = 6_000_000;
    const fetch = s.ns.spawn(s.client, process.execPath, [BATON, 'fetch', `http://pool${generatedObjectPath(length)}`, '--transport', kind, '--servers', `[${A}],[${B}]`, '-o', join(s.dir, 'out.bin'), '--sha256', '--rto-min', '200'], {
      t,
      name: 'baton fetch',
      timeoutMs: 100_000,
      stdout: 'pipe',
      stderr: 'pipe',
    });
    await waitEvent(a, 'request', 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    t.is(fetch.exitStatus, undefined, `the download is still running when a is killed\n${fetch.describe()}`);
    a.killNow('SIGKILL');
    const status = await fetch.waitForExit(90_000);
    const all = () => [a, b, fetch].map((p) => p.describe(3000)).join('\n');
    t.is(status.code, 0, all());
    t.true(fetch.stdout.includes(generatedSha256(length)), `the sha256 is the object's\n${all()}`);
    t.true(fetch.stderr.includes(`taken over by ${B}`), `the client reports b's takeover\n${all()}`);
    t.true(a.stderr.includes(`"connection":"[${CLIENT}]:`), `a served the client's IPv6 address\n${all()}`);
    t.true(b.stderr.includes('"event":"resumed"'), `b resumed\n${all()}`);
  });
}
