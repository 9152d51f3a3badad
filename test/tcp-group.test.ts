// Clients behind NAT on TCP-Migrate (src/tcp-migrate/group.ts, README "Clients behind NAT"): the
// Group option's codec (RFC 6994 form, kind 253, ExID 0xBA70), and on the simulated network a
// SYN/ACK that lists the support group, the client's Group-Keepalives toward each member every
// groupKeepaliveMs, a member's answer for a connection it holds, no RST from one that does not
// know it, and the list kept across a takeover (bindings toward the others for a second one).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, pcapTrace } from '../src/sim/pcap.js';
import { SimNetwork } from '../src/sim/network.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { TcpMigrateConnection } from '../src/tcp-migrate/connection.js';
import { TcpMigrateEndpoint } from '../src/tcp-migrate/endpoint.js';
import { ipText, keepaliveSegment } from '../src/tcp-migrate/group.js';
import { emitHeaderOptions, findOption, GROUP_EXID, headerOptionsLength, optionLength, parseOptions, type TcpOption } from '../src/tcp-migrate/options.js';
import { ACK, HEADER_LENGTH, ipBytes, parseSegment, RST, SYN, writeHeader, type TcpSegment } from '../src/tcp-migrate/wire.js';
import { makeFile } from './conformance/world.js';

const bytes = (ip: string): Uint8Array => ipBytes(ip)!;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function roundTrip(options: TcpOption[]): TcpOption[] {
  const buf = new Uint8Array(HEADER_LENGTH + headerOptionsLength(options));
  writeHeader(buf, 1, 2, 3, 4, 0, SYN | ACK, 100);
  emitHeaderOptions(options, buf, 0);
  const p = parseSegment(buf);
  if (!p.ok) throw new Error(p.error);
  return p.segment.options;
}

test('codec: a Group-List of IPv4 and IPv6 addresses round-trips, also inside the EDO layout of a full SYN/ACK', (t) => {
  const list = ['10.77.0.3', '2001:db8::7', '10.77.0.4'].map(bytes);
  const group: TcpOption = { type: 'group-list', addresses: list };
  t.is(optionLength(group), 5 + 5 + 17 + 5);
  const alone = findOption(roundTrip([group]), 'group-list');
  t.deepEqual(alone?.addresses.map(hex), list.map(hex));
  // The SYN/ACK's other options first: 53 bytes already, so the list goes past the data offset.
  const synAck: TcpOption[] = [
    { type: 'mss', mss: 1400 },
    { type: 'sack-permitted' },
    { type: 'window-scale', shift: 2 },
    { type: 'timestamp', value: 5, echo: 6 },
    { type: 'migrate-permitted', curve: 'x25519', publicKey: new Uint8Array(32).fill(9) },
    group,
  ];
  const back = roundTrip(synAck);
  t.deepEqual(findOption(back, 'group-list')?.addresses.map(hex), list.map(hex));
  t.is(findOption(back, 'migrate-permitted')?.publicKey[0], 9);
  t.is(findOption(back, 'mss')?.mss, 1400);
  t.deepEqual(list.map(ipText), ['10.77.0.3', '2001:db8::7', '10.77.0.4']);
  t.deepEqual(['::1', '::', 'fe80::1:0:0:2', '1:0:0:2:0:0:0:3', '1:2:3:4:5:6:7:8'].map((a) => ipText(bytes(a))), ['::1', '::', 'fe80::1:0:0:2', '1:0:0:2::3', '1:2:3:4:5:6:7:8']);
});

test('codec: Group-Keepalive and its Ack are 5 bytes; wire bytes are kind 253, length, ExID 0xBA70, what', (t) => {
  const out = new Uint8Array(HEADER_LENGTH + 8);
  writeHeader(out, 1, 2, 3, 4, 0, ACK, 0);
  emitHeaderOptions([{ type: 'group-keepalive', ack: false }], out, 0);
  t.deepEqual([...out.subarray(HEADER_LENGTH, HEADER_LENGTH + 5)], [253, 5, 0xba, 0x70, 2]);
  t.deepEqual(roundTrip([{ type: 'group-keepalive', ack: true }]), [{ type: 'group-keepalive', ack: true }]);
  t.deepEqual(roundTrip([{ type: 'group-keepalive', ack: false }]), [{ type: 'group-keepalive', ack: false }]);
  t.is(GROUP_EXID, 0xba70);
});

test('codec: malformed or foreign kind-253 options are kept as unknown, and a list is cut to fit 255 bytes (never 34 or 6 long)', (t) => {
  const raw = (...b: number[]) => parseOptions(new Uint8Array(b));
  // An entry length that is neither 4 nor 16.
  const bad = raw(253, 11, 0xba, 0x70, 1, 5, 1, 2, 3, 4, 5);
  t.true(bad.ok && bad.options[0]!.type === 'unknown');
  // An entry running past the option.
  const short = raw(253, 9, 0xba, 0x70, 1, 16, 1, 2, 3);
  t.true(short.ok && short.options[0]!.type === 'unknown');
  // An unknown "what", a keepalive with a body, another experiment's ExID.
  for (const b of [[253, 5, 0xba, 0x70, 9], [253, 6, 0xba, 0x70, 2, 0], [253, 5, 0x12, 0x34, 1]]) {
    const r = raw(...b);
    t.true(r.ok && r.options.length === 1 && r.options[0]!.type === 'unknown', `${b}`);
  }
  // 60 IPv4 addresses: the first 50 fit (5 + 50 x 5 = 255).
  const many = Array.from({ length: 60 }, (_, i) => bytes(`10.0.${i}.1`));
  const cut = findOption(roundTrip([{ type: 'group-list', addresses: many }]), 'group-list');
  t.is(cut?.addresses.length, 50);
  t.is(hex(cut!.addresses[49]!), hex(many[49]!));
  // Every mix of up to 50 IPv4 and 14 IPv6 entries: never the length of Migrate-Permitted or EDO.
  for (let v4 = 0; v4 <= 50; v4++) for (let v6 = 0; v6 <= 14; v6++) {
    const len = 5 + 5 * v4 + 17 * v6;
    if (len <= 255) t.true(len !== 34 && len !== 6);
  }
});

// ---------------------------------------------------------------------------------------------
// On the simulated network.

const PORT = 9898;
const CLIENT: UdpAddress = { address: '10.0.0.1', port: PORT };
const A: UdpAddress = { address: '10.0.0.2', port: PORT };
const B: UdpAddress = { address: '10.0.0.3', port: PORT };
const C: UdpAddress = { address: '10.0.0.4', port: PORT };
const KEEPALIVE_MS = 1000;

interface Sent {
  time: number;
  from: string;
  to: string;
  seg: TcpSegment;
}

/** Server A serves `file` and lists B and C (and an IPv6 member the IPv4 client leaves out); B holds the connection as announced, C does not know it. */
class World {
  readonly net = new SimNetwork({ seed: 7 });
  readonly file = makeFile(400_000, 7);
  readonly a: TcpMigrateEndpoint;
  readonly b: TcpMigrateEndpoint;
  readonly c: TcpMigrateEndpoint;
  readonly client: TcpMigrateEndpoint;
  readonly conn: TcpMigrateConnection;
  serving: TcpMigrateConnection | undefined;
  private servingSent = 0;
  readonly chunks: Uint8Array[] = [];
  readonly sent: Sent[] = [];
  readonly heldAsked: string[] = [];

  constructor(group: boolean) {
    for (const [name, addr] of [['client', CLIENT], ['a', A], ['b', B], ['c', C]] as const) this.net.addHost(name, [addr.address]);
    for (const s of ['a', 'b', 'c']) this.net.link('client', s, { delayMs: 10, rateBps: 2_000_000 });
    const common = { listen: true, random: this.net.random, rtoMin: 200 } as const;
    this.a = new TcpMigrateEndpoint({ ...common, addresses: [A], ...(group ? { groupAddresses: () => [B.address, C.address, '2001:db8::9'] } : {}) });
    this.net.attach(this.a, [A], (now) => {
      this.serving ??= this.a.pollAccept();
      this.feed(now);
    });
    this.b = new TcpMigrateEndpoint({
      ...common,
      addresses: [B],
      heldByGroup: (client, clientPort) => {
        this.heldAsked.push(`${client.address}:${client.port}/${clientPort}`);
        return client.address === CLIENT.address && clientPort === this.conn.localPort ? 0 : undefined;
      },
    });
    this.net.attach(this.b, [B], (now) => this.feed(now));
    this.c = new TcpMigrateEndpoint({ ...common, addresses: [C] });
    this.net.attach(this.c, [C]);
    this.client = new TcpMigrateEndpoint({ addresses: [CLIENT], random: this.net.random, rtoMin: 200, keepaliveMs: KEEPALIVE_MS });
    this.conn = this.client.connect(0, A);
    this.net.attach(this.client, [CLIENT], () => {
      for (let ev = this.conn.pollEvent(); ev; ev = this.conn.pollEvent()) if (ev.type === 'data') this.chunks.push(ev.bytes.slice());
    });
    this.net.onTrace((e) => {
      const p = parseSegment(e.payload);
      if (e.kind === 'send' && p.ok) this.sent.push({ time: e.time, from: e.from.address, to: e.to.address, seg: p.segment });
    });
    this.net.wake(this.client);
  }

  private feed(now: number): void {
    const c = this.serving;
    if (c === undefined) return;
    for (let ev = c.pollEvent(); ev; ev = c.pollEvent()) if (ev.type === 'takeover-complete') this.servingSent = ev.receiver.nextOffset;
    if (c.state !== 'ESTABLISHED') return;
    while (this.servingSent < this.file.length) {
      const n = c.send(this.file.subarray(this.servingSent, Math.min(this.file.length, this.servingSent + 65536)));
      if (n === 0) break;
      this.servingSent += n;
    }
    if (this.servingSent === this.file.length) c.close(now);
  }

  keepalives(to: string, ack = false): Sent[] {
    return this.sent.filter((s) => s.to === to && findOption(s.seg.options, 'group-keepalive')?.ack === ack);
  }

  from(address: string): Sent[] {
    return this.sent.filter((s) => s.from === address);
  }

  intact(): boolean {
    const h = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    return h(Buffer.concat(this.chunks)) === h(this.file);
  }
}

test('sim: the SYN/ACK lists the group; the client keeps bindings toward B and C; B answers, C (not told yet) sends no RST', (t) => {
  const w = new World(true);
  w.net.run(5_500);
  const synAck = w.from(A.address).find((s) => s.seg.flags === (SYN | ACK));
  t.deepEqual(findOption(synAck!.seg.options, 'group-list')?.addresses.map(ipText), [B.address, C.address], 'the IPv6 member is left out for an IPv4 client');
  t.deepEqual(
    w.conn.groupPeers.map((p) => `${p.address}:${p.port}`),
    [A, B, C].map((p) => `${p.address}:${PORT}`),
    'the server itself, then the members it listed',
  );
  for (const m of [B.address, C.address]) {
    const times = w.keepalives(m).map((s) => s.time);
    t.true(times.length >= 5, `${m}: ${times.length} keepalives in 5.5 s`);
    for (let i = 1; i < times.length; i++) t.is(Math.round(times[i]! - times[i - 1]!), KEEPALIVE_MS, `${m}: one every ${KEEPALIVE_MS} ms`);
    const k = w.keepalives(m)[0]!.seg;
    t.is(k.srcPort, w.conn.localPort, 'on the connection ports');
    t.is(k.payload.length, 0);
  }
  t.is(w.keepalives(A.address).length, 0, 'none toward the current peer: the stream holds that binding');
  t.true(w.heldAsked.includes(`${CLIENT.address}:${PORT}/${w.conn.localPort}`));
  t.is(w.keepalives(CLIENT.address, true).filter((s) => s.from === B.address).length, w.keepalives(B.address).length, 'B answers each');
  t.is(w.client.groupKeepaliveAcks, w.b.groupKeepalivesAnswered);
  t.true(w.b.groupKeepalivesAnswered >= 5);
  t.is(w.from(C.address).length, 0, 'C neither answers nor resets');
  t.is(w.from(B.address).filter((s) => s.seg.flags & RST).length, 0);
  t.is(w.c.dropped.get('no-connection'), w.keepalives(C.address).length);
  w.net.runUntil(() => w.chunks.reduce((n, c) => n + c.length, 0) === w.file.length, 60_000);
  t.true(w.intact(), 'the answers touched nothing of the stream');
});

test('sim: control — a server given no group lists none, and the client sends no Group-Keepalive', (t) => {
  const w = new World(false);
  w.net.run(5_500);
  const synAck = w.from(A.address).find((s) => s.seg.flags === (SYN | ACK));
  t.truthy(synAck);
  t.is(findOption(synAck!.seg.options, 'group-list'), undefined);
  t.is(w.sent.filter((s) => findOption(s.seg.options, 'group-keepalive') !== undefined).length, 0);
  t.is(w.conn.groupKeepalivesSent, 0);
});

test('sim: after B takes over, the client still keeps bindings toward C and toward the dead A (a second takeover finds one)', (t) => {
  const w = new World(true);
  w.net.run(1_500);
  const state = w.serving!.exportState(w.net.now);
  w.net.kill('a');
  const taker = w.b.importState(w.net.now, state);
  w.serving = taker;
  taker.takeover(w.net.now, state.takeoverNumber + 1, 'go-back-n');
  w.net.wake(w.b);
  t.true(w.net.runUntil(() => w.conn.remote.address === B.address, 10_000), 'the client accepted B');
  const after = w.net.now;
  w.net.run(after + 4_500);
  t.true(w.keepalives(C.address).filter((s) => s.time > after).length >= 4, 'toward C');
  t.true(w.keepalives(A.address).filter((s) => s.time > after).length >= 4, 'toward A, the first server, which a restarted A could use');
  t.is(w.keepalives(B.address).filter((s) => s.time > after).length, 0, 'none toward the current peer');
  w.net.runUntil(() => w.chunks.reduce((n, c) => n + c.length, 0) === w.file.length, 120_000);
  t.true(w.intact());
});

test('sim: a Group-Keepalive on a live connection\'s own 4-tuple is answered by the endpoint and never reaches the connection (no duplicate ACK)', (t) => {
  const w = new World(true);
  w.net.run(1_500);
  const served = w.serving!;
  const before = { dupAcks: served.dupAcks, answered: w.a.groupKeepalivesAnswered };
  const ack = served.sndWire(served.sndUna);
  for (let i = 0; i < 3; i++) {
    const k = keepaliveSegment(CLIENT, w.conn.localPort, A, PORT, w.conn.sndWire(w.conn.sndNxt), ack, false);
    w.a.handleDatagram(w.net.now, CLIENT, k.payload, A);
  }
  t.is(served.dupAcks, before.dupAcks, 'three would have made a fast retransmit');
  t.is(w.a.groupKeepalivesAnswered, before.answered + 3, 'held: answered');
  w.net.runUntil(() => w.chunks.reduce((n, c) => n + c.length, 0) === w.file.length, 60_000);
  t.true(w.intact());
});

test('tshark decodes a Group-Keepalive and its Ack as an RFC 6994 experimental option (ExID 0xba70), checksums good, nothing malformed', (t) => {
  const w = new World(true);
  const writer = new PcapWriter({ encapsulation: 'ip-payload', protocol: 6, fixChecksum: false });
  w.net.onTrace(pcapTrace(writer, { kind: 'send' }));
  w.net.run(2_500);
  const dir = mkdtempSync(join(tmpdir(), 'baton-tcp-group-'));
  try {
    const file = join(dir, 'group.pcap');
    writeFileSync(file, writer.toBuffer());
    const fields = ['ip.src', 'ip.dst', 'tcp.len', 'tcp.options.experimental.exid', 'tcp.checksum.status', '_ws.malformed'];
    const out = execFileSync('tshark', ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-Y', `ip.dst == ${C.address} || ip.src == ${B.address}`, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const rows = out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => Object.fromEntries(l.split('\t').map((v, i) => [fields[i]!, v])));
    const toC = rows.filter((r) => r['ip.dst'] === C.address);
    const fromB = rows.filter((r) => r['ip.src'] === B.address);
    t.is(toC.length, w.keepalives(C.address).length);
    t.is(fromB.length, w.b.groupKeepalivesAnswered);
    t.true(toC.length >= 2 && fromB.length >= 2);
    for (const r of [...toC, ...fromB]) {
      t.is(r['tcp.options.experimental.exid'], '0xba70');
      t.is(r['tcp.len'], '0');
      t.is(r['tcp.checksum.status'], '1');
      t.is(r['_ws.malformed'], '');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
