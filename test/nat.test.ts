// Clients behind NAT, through a real NAT (README "Clients behind NAT"). Three network namespaces
// made by each test (unique names, deleted after it, even on failure):
//
//   client ns 192.168.77.2 --veth-- 192.168.77.1 router ns 10.77.0.1 --veth-- server ns 10.77.0.2, .3
//                                   (nftables masquerade out of its server side)
//
// The server ns has no route to 192.168.77.0/24: the servers reach the client only through the
// router's connection tracking, i.e. only from an address the client itself sent to. In the server
// ns the embedded content server (paced, 127.0.0.1) and two `baton serve` wedges a (10.77.0.2) and
// b (10.77.0.3); in the client ns `baton fetch` downloads from a, a is SIGKILLed mid-download, b
// takes the connection over. Both transports: SCTP (the group as the INIT ACK's addresses, HEARTBEATs)
// and TCP-Migrate (the SYN/ACK's Group-List option, Group-Keepalives: src/tcp-migrate/group.ts). The router's conntrack UDP timeouts are cut to 4 s, so a binding
// lives only while the client's keepalives refresh it:
//   - keepalives every second: b's takeover comes in through the binding the client holds open
//     toward it, the download completes with the right sha256;
//   - the control, keepalives every 60 s (none within the test): the binding toward b has expired
//     when b takes over; its takeover never reaches the client and the download does not complete;
//   - three wedges: a is killed, then the member that took over too; the third one's takeover
//     comes in through the binding the client kept toward it after the first one (SCTP: the
//     keepalives toward the addresses the first takeover deleted, src/addip/keepalive.ts).
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedObjectPath, generatedSha256 } from '../src/node/content-server.js';
import type { TransportKind } from '../src/transport-abstraction/transport.js';
import { Namespaces, netnsMissing, sh } from './helpers/netns.js';
import { runToExit, type ManagedProcess } from './helpers/process.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const CONTENT_SERVER = fileURLToPath(new URL('../dist/src/node/content-server.js', import.meta.url));
const LENGTH = 6_000_000;
/** About 6 s of download: the kill lands mid-stream, the takeover (about 4 s later) too. */
const RATE = 1_000_000;
/** The router's conntrack UDP timeouts (a flow seen one way, and an answered one). */
const NAT_TIMEOUT_S = 4;
const HEARTBEAT = ['--update-sec', '1', '--dead-after', '3', '--cache-timeout', '6'];

interface Lab {
  readonly client: string;
  readonly router: string;
  readonly servers: string;
  readonly ns: Namespaces;
  readonly dir: string;
}

/** The three namespaces, the veths, the addresses, the masquerade and the short timeouts. */
async function lab(t: ExecutionContext): Promise<Lab> {
  const ns = new Namespaces(t);
  const dir = mkdtempSync(join(tmpdir(), 'baton-nat-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const client = await ns.add('c');
  const router = await ns.add('r');
  const servers = await ns.add('s');
  await sh(`
ip -n ${client} link add eth0 type veth peer name inside netns ${router}
ip -n ${servers} link add eth0 type veth peer name outside netns ${router}
ip -n ${client} addr add 192.168.77.2/24 dev eth0
ip -n ${client} link set eth0 up
ip -n ${client} route add default via 192.168.77.1
ip -n ${router} addr add 192.168.77.1/24 dev inside
ip -n ${router} addr add 10.77.0.1/24 dev outside
ip -n ${router} link set inside up
ip -n ${router} link set outside up
ip -n ${servers} addr add 10.77.0.2/24 dev eth0
ip -n ${servers} addr add 10.77.0.3/24 dev eth0
ip -n ${servers} link set eth0 up
ip netns exec ${router} sysctl -qw net.ipv4.ip_forward=1
printf 'table ip nat {\\n chain post {\\n  type nat hook postrouting priority srcnat;\\n  oifname "outside" masquerade\\n }\\n}\\n' | ip netns exec ${router} nft -f -
ip netns exec ${router} sysctl -qw net.netfilter.nf_conntrack_udp_timeout=${NAT_TIMEOUT_S} net.netfilter.nf_conntrack_udp_timeout_stream=${NAT_TIMEOUT_S}
`);
  return { client, router, servers, ns, dir };
}

type Event = Record<string, unknown> & { event: string };

function events(p: ManagedProcess, name: string): Event[] {
  return p.stderr.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      const e = JSON.parse(line) as Event;
      return e.event === name ? [e] : [];
    } catch {
      return [];
    }
  });
}

const waitEvent = (p: ManagedProcess, name: string, timeoutMs: number) => p.waitForLine(new RegExp(`"event":\\s*"${name}"`), timeoutMs, 'stderr');

/** The content server, both wedges (a serves first) and the client's fetch, started in the lab. */
async function run(t: ExecutionContext, kind: TransportKind, keepaliveSec: number, members = 2, length = LENGTH) {
  const l = await lab(t);
  const addresses = Array.from({ length: members }, (_, i) => `10.77.0.${i + 2}`);
  for (const address of addresses.slice(2)) await sh(`ip -n ${l.servers} addr add ${address}/24 dev eth0`);
  writeFileSync(join(l.dir, 'content.mjs'), `import { ContentServer } from ${JSON.stringify(CONTENT_SERVER)};\nconst c = await ContentServer.start({ address: '127.0.0.1', rateBytesPerSec: ${RATE} });\nconsole.log('PORT ' + c.port);\n`);
  const content = l.ns.spawn(l.servers, process.execPath, [join(l.dir, 'content.mjs')], { t, name: 'content server', timeoutMs: 120_000, stdout: 'pipe', stderr: 'pipe' });
  const port = Number((await content.waitForLine(/^PORT (\d+)$/, 20_000))[1]);
  const keyFile = join(l.dir, 'group.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const ids = addresses.map((_, i) => String.fromCharCode(97 + i)); // a, b, c
  const peers = addresses.map((address, i) => `${ids[i]}@${address}`).join(',');
  const wedge = (id: string, address: string) =>
    l.ns.spawn(l.servers, process.execPath, [BATON, 'serve', '--transport', kind, '--listen', address, '--id', id, '--peers', peers, '--group-key', keyFile, '--backend', `http://127.0.0.1:${port}`, '--rto-min', '200', '--log', 'json', ...HEARTBEAT], {
      t,
      name: `baton serve ${id}`,
      timeoutMs: 120_000,
      stderr: 'pipe',
    });
  const wedges = addresses.map((address, i) => wedge(ids[i]!, address));
  const [a, b] = wedges as [ManagedProcess, ManagedProcess];
  await Promise.all(wedges.map((w) => waitEvent(w, 'listening', 20_000)));
  const out = join(l.dir, 'out.bin');
  const fetch = l.ns.spawn(l.client, process.execPath, [BATON, 'fetch', `http://pool${generatedObjectPath(length)}`, '--transport', kind, '--servers', addresses.join(','), '-o', out, '--sha256', '-q', '--rto-min', '200', '--keepalive', String(keepaliveSec)], {
    t,
    name: 'baton fetch',
    timeoutMs: 110_000,
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const describe = () => [content, ...wedges, fetch].map((p) => p.describe(3000)).join('\n');
  await waitEvent(a, 'request', 20_000).catch((error: Error) => Promise.reject(new Error(`${error.message}\n${describe()}`)));
  // Well past the NAT timeout: only keepalives can have kept a binding toward b alive.
  await new Promise((r) => setTimeout(r, (NAT_TIMEOUT_S + 1.5) * 1000));
  t.is(fetch.exitStatus, undefined, `the download is still running when a is killed\n${fetch.describe()}`);
  a.killNow('SIGKILL');
  if (members === 2) await waitEvent(b, 'takeover-start', 30_000);
  return { a, b, wedges, fetch, describe };
}

const missing = netnsMissing(['/usr/sbin/nft']);

for (const kind of ['sctp', 'tcp'] as const) {
  test.serial(`${kind}: behind a real NAT, a takeover from a group member the client keeps a binding open to completes the download`, async (t) => {
    if (missing !== undefined) return t.fail(missing);
    const r = await run(t, kind, 1);
    const status = await r.fetch.waitForExit(100_000);
    t.is(status.code, 0, r.describe());
    t.true(r.fetch.stdout.includes(generatedSha256(LENGTH)), `the body's sha256 is the object's\n${r.describe()}`);
    t.true(events(r.b, 'resumed').length >= 1, `b resumed the stream\n${r.describe()}`);
    t.regex(r.fetch.stderr, /taken over|failover|takeover/i, 'the client reports the failover');
  });

  test.serial(`${kind}: control — without keepalives the NAT binding toward b expires and b's takeover never reaches the client`, async (t) => {
    if (missing !== undefined) return t.fail(missing);
    const r = await run(t, kind, 60);
    // b's takeover is retried for about 20 s, then given up; the download must not have completed.
    await waitEvent(r.b, 'takeover-lost', 60_000);
    t.true(events(r.b, 'takeover-lost').some((e) => e['reason'] === 'BATON_ERR_TIMEOUT'), `b's takeover went unanswered\n${r.describe()}`);
    // TCP-Migrate: the client's own keep-alive (20 s after a fell silent) may close it first, with an error.
    if (kind === 'sctp') t.is(r.fetch.exitStatus, undefined, `the download did not complete\n${r.describe()}`);
    else t.not(r.fetch.exitStatus?.code, 0, `the download did not complete\n${r.describe()}`);
    t.false(r.fetch.stdout.includes(generatedSha256(LENGTH)), `no body's sha256\n${r.describe()}`);
    t.is(events(r.b, 'resumed').length, 0, `b never resumed the stream\n${r.describe()}`);
    t.is(events(r.b, 'takeover-won').length, 0, `b never won\n${r.describe()}`);
  });
}

for (const kind of ['sctp', 'tcp'] as const) test.serial(`${kind}: behind a real NAT, a second takeover — by the third member, after the first taker is killed too — completes the download`, async (t) => {
  if (missing !== undefined) return t.fail(missing);
  const length = 24_000_000; // ~24 s at the content server's pace: room for two takeovers
  const r = await run(t, kind, 1, 3, length);
  const [, b, c] = r.wedges as [ManagedProcess, ManagedProcess, ManagedProcess];
  // The first taker is whichever of b and c resumes the stream; let it serve past the NAT timeout.
  const first = await Promise.race([b, c].map((w) => waitEvent(w, 'resumed', 40_000).then(() => w)));
  const second = first === b ? c : b;
  await new Promise((res) => setTimeout(res, (NAT_TIMEOUT_S + 1.5) * 1000));
  t.is(r.fetch.exitStatus, undefined, `the download is still running when the first taker is killed\n${r.describe()}`);
  first.killNow('SIGKILL');
  await waitEvent(second, 'resumed', 40_000).catch((error: Error) => Promise.reject(new Error(`${error.message}\n${r.describe()}`)));
  const status = await r.fetch.waitForExit(100_000);
  t.is(status.code, 0, r.describe());
  t.true(r.fetch.stdout.includes(generatedSha256(length)), `the body's sha256 is the object's\n${r.describe()}`);
});

test('--keepalive is checked: seconds from 0.1 to 600, else exit 2 with one line', async (t) => {
  for (const command of ['fetch', 'connect'] as const) {
    for (const bad of ['0', '-1', 'abc', '601', '']) {
      const args = command === 'fetch' ? ['fetch', 'http://pool/x', '--servers', '127.0.0.2', '--keepalive', bad] : ['connect', '--listen', '127.0.0.1:0', '--servers', '127.0.0.2', '--keepalive', bad];
      const r = await runToExit(process.execPath, [BATON, ...args], { timeoutMs: 20_000, stdout: 'pipe', stderr: 'pipe' });
      t.is(r.status.code, 2, `${command} --keepalive "${bad}": ${r.stderr}`);
      t.regex(r.stderr, /--keepalive must be a number of seconds from 0\.1 to 600/, `${command} --keepalive "${bad}"`);
    }
  }
});
