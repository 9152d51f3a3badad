// TCP-Migrate beyond a 64 KiB window (RFC 7323 window scaling and timestamps, carried with the
// x25519 key in an EDO-extended SYN, options.ts): one connection fills a 1 Gbit/s x 100 ms path in
// virtual time, a takeover keeps the scale factors, PAWS drops an old duplicate, and tshark decodes
// the extended SYN.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimNetwork, type LinkConfig } from '../src/sim/network.js';
import { PcapWriter, pcapTrace } from '../src/sim/pcap.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import { DEFAULT_CONFIG, type TcpMigrateConfig } from '../src/tcp-migrate/config.js';
import type { TcpMigrateConnection } from '../src/tcp-migrate/connection.js';
import { TcpMigrateEndpoint } from '../src/tcp-migrate/endpoint.js';
import { emitHeaderOptions, headerOptionsLength, type TcpOption } from '../src/tcp-migrate/options.js';
import { ACK, fillChecksum, parseSegment, pseudoHeaderSum, PSH, writeHeader } from '../src/tcp-migrate/wire.js';

const CLIENT: UdpAddress = { address: '10.0.0.1', port: 9898 };
const A: UdpAddress = { address: '10.0.0.2', port: 9898 };
const B: UdpAddress = { address: '10.0.0.3', port: 9898 };
const MiB = 1024 * 1024;

/** A server that sends an endless stream (a repeated 1 MiB pattern) and a client that counts it. */
class Bulk {
  readonly net: SimNetwork;
  readonly client: TcpMigrateEndpoint;
  readonly conn: TcpMigrateConnection;
  readonly servers = new Map<string, { endpoint: TcpMigrateEndpoint; conn?: TcpMigrateConnection; sent: number }>();
  readonly pattern = new Uint8Array(MiB).map((_, i) => (i * 7) & 0xff);
  received = 0;
  /** Bytes received by each virtual millisecond, sampled at every client wake. */
  readonly samples: { time: number; received: number }[] = [];
  mismatch = false;
  /** The most bytes a server had in flight (SND.NXT - SND.UNA). */
  maxFlight = 0;

  constructor(seed: number, link: LinkConfig, clientConfig: Partial<TcpMigrateConfig>, serverConfig: Partial<TcpMigrateConfig>, mtu?: number, servers: readonly [string, UdpAddress][] = [['a', A]], setup?: (net: SimNetwork) => void) {
    this.net = new SimNetwork({ seed });
    setup?.(this.net);
    this.net.addHost('client', [CLIENT.address]);
    for (const [name, address] of servers) {
      this.net.addHost(name, [address.address]);
      this.net.link('client', name, link);
      const endpoint = new TcpMigrateEndpoint({ addresses: [address], listen: name === 'a', random: this.net.random, rtoMin: 200, mtu, config: serverConfig });
      const s: { endpoint: TcpMigrateEndpoint; conn?: TcpMigrateConnection; sent: number } = { endpoint, sent: 0 };
      this.servers.set(name, s);
      this.net.attach(endpoint, [address], () => {
        if (s.conn === undefined) s.conn = endpoint.pollAccept();
        const c = s.conn;
        if (c === undefined) return;
        let resumeAt: number | undefined;
        for (let ev = c.pollEvent(); ev; ev = c.pollEvent()) if (ev.type === 'takeover-complete') resumeAt = ev.receiver.nextOffset;
        if (resumeAt !== undefined) s.sent = resumeAt;
        if (c.stateName !== 'ESTABLISHED') return;
        for (;;) {
          const at = s.sent % MiB;
          const n = c.send(this.pattern.subarray(at));
          s.sent += n;
          if (n === 0) break;
        }
        this.maxFlight = Math.max(this.maxFlight, c.sndNxt - c.sndUna);
      });
    }
    this.client = new TcpMigrateEndpoint({ addresses: [CLIENT], random: this.net.random, rtoMin: 200, mtu, config: clientConfig });
    this.conn = this.client.connect(0, A);
    this.net.attach(this.client, [CLIENT], (now) => {
      for (let ev = this.conn.pollEvent(); ev; ev = this.conn.pollEvent()) {
        if (ev.type !== 'data') continue;
        const at = this.received % MiB;
        // Spot-check the stream: the first and last byte of every delivery.
        if (ev.bytes[0] !== this.pattern[at] || ev.bytes[ev.bytes.length - 1] !== this.pattern[(this.received + ev.bytes.length - 1) % MiB]) this.mismatch = true;
        this.received += ev.bytes.length;
      }
      this.samples.push({ time: now, received: this.received });
    });
    this.net.wake(this.client);
  }

  server(name: string): TcpMigrateConnection {
    return this.servers.get(name)!.conn!;
  }

  /** Bytes the client had received at virtual time `t` (the last sample at or before it). */
  receivedAt(t: number): number {
    let r = 0;
    for (const s of this.samples) {
      if (s.time > t) break;
      r = s.received;
    }
    return r;
  }
}

// 1 Gbit/s each way, 50 ms one way: 100 ms RTT, 12.5 MB in flight to fill it. The bottleneck queue
// holds the whole receive window, so that what is measured is the window, not queue management.
const GIGABIT: LinkConfig = { delayMs: 50, rateBps: 1_000_000_000, queueBytes: 32 * MiB };
const LINK_BYTES_PER_S = 1_000_000_000 / 8;

test('one connection fills a 1 Gbit/s x 100 ms path (12.5 MB in flight): goodput near the link rate after slow start, in virtual time', (t) => {
  // A 16 MiB receive buffer (window scale 9) and a sender buffer that can hold it; 9000-byte MTU
  // so that the run takes fewer segments (MSS 8912, 8900 bytes of data with timestamps).
  const w = new Bulk(1, GIGABIT, { receiveWindow: 16 * MiB }, { sendBufferSize: 32 * MiB }, 9000);
  w.net.run(4000);
  const server = w.server('a');
  t.is(server.sndShift, 9, 'the server scales the window the client advertises by 2^9');
  t.is(w.conn.rcvShift, 9);
  t.true(server.tsOk && w.conn.tsOk, 'timestamps in use');
  t.false(w.mismatch, 'the stream arrived altered');
  t.is(w.net.linkStats('client', 'a')!.queueDropped + w.net.linkStats('client', 'a')!.lost, 0);
  // Slow start is over well within 2 s (about 10 round trips); measure the next 2 s.
  const bytes = w.receivedAt(4000) - w.receivedAt(2000);
  const goodput = bytes / 2;
  t.log(`goodput ${(goodput / 1e6).toFixed(1)} MB/s from 2 s to 4 s on a ${LINK_BYTES_PER_S / 1e6} MB/s link (${((100 * goodput) / LINK_BYTES_PER_S).toFixed(1)} %); at most ${(w.maxFlight / 1e6).toFixed(2)} MB in flight`);
  t.true(goodput >= 0.95 * LINK_BYTES_PER_S, `goodput ${goodput} B/s is below 95 % of the link rate`);
  t.true(w.maxFlight >= 12_500_000, `at most ${w.maxFlight} bytes in flight: the path was never full`);

  // The same path without window scaling (a 64 KiB buffer): one window per round trip.
  const small = new Bulk(1, GIGABIT, { receiveWindow: 65535 }, { sendBufferSize: 32 * MiB }, 9000);
  small.net.run(4000);
  const smallGoodput = (small.receivedAt(4000) - small.receivedAt(2000)) / 2;
  t.log(`without scaling: ${(smallGoodput / 1e6).toFixed(2)} MB/s`);
  t.true(smallGoodput <= 65535 / 0.1, 'a 64 KiB window carries at most 64 KiB per round trip');
  t.true(goodput > 100 * smallGoodput);
});

test('a takeover keeps the scaled window: the taker uses the exported scale factors and fills more than 64 KiB', (t) => {
  // 100 Mbit/s, 20 ms one way: 500 kB in flight to fill; the client's 4 MiB buffer scales by 2^7.
  const link: LinkConfig = { delayMs: 20, rateBps: 100_000_000, queueBytes: 8 * MiB };
  const w = new Bulk(2, link, { receiveWindow: 4 * MiB }, { sendBufferSize: 8 * MiB }, undefined, [
    ['a', A],
    ['b', B],
  ]);
  w.net.run(1500);
  const a = w.server('a');
  t.is(a.sndShift, 7);
  const state = a.exportState(w.net.now);
  t.is(state.tcp!.peerWindowScale, 7, 'the state exports the scale the client applies to its window');
  t.is(state.tcp!.localWindowScale, a.rcvShift);
  w.net.kill('a');
  const before = w.received;
  const sb = w.servers.get('b')!;
  const taker = sb.endpoint.importState(w.net.now, state);
  sb.conn = taker;
  t.is(taker.sndShift, 7, 'the taker reads the client window with the exported shift');
  t.is(taker.rcvShift, a.rcvShift);
  w.maxFlight = 0;
  taker.takeover(w.net.now, 1, 'go-back-n');
  w.net.wake(sb.endpoint);
  w.net.run(w.net.now + 3000);
  t.is(taker.stateName, 'ESTABLISHED');
  t.false(w.mismatch, 'the stream arrived altered');
  t.true(w.maxFlight > 4 * 65535, `the taker had at most ${w.maxFlight} bytes in flight: its window was not scaled`);
  const rate = (w.received - before) / 3;
  t.log(`after the takeover: ${(rate / 1e6).toFixed(1)} MB/s, ${(w.maxFlight / 1e3).toFixed(0)} kB in flight at most`);
  t.true(rate > 4 * 65535 / 0.04, `${rate} B/s after the takeover is no more than an unscaled window allows`);
  t.is(w.conn.pawsRejected, 0, 'the client dropped the taker\'s segments as old duplicates');
});

test('at the defaults (no window or buffer option) one connection fills a 1 Gbit/s x 100 ms path: a 16 MiB window (shift 9) and a send buffer that grows with the window', (t) => {
  // Nothing configured but the path: the default receive window and send buffer. A 9000-byte MTU
  // (a property of the path, not a tunable) keeps the run to fewer segments.
  const w = new Bulk(5, GIGABIT, {}, {}, 9000);
  t.is(DEFAULT_CONFIG.receiveWindow, 16 * MiB);
  w.net.run(4000);
  const server = w.server('a');
  t.is(w.conn.rcvShift, 9, 'the client offers shift 9 for its default 16 MiB buffer');
  t.is(server.sndShift, 9);
  t.false(w.mismatch, 'the stream arrived altered');
  const goodput = (w.receivedAt(4000) - w.receivedAt(2000)) / 2;
  t.log(`defaults: goodput ${(goodput / 1e6).toFixed(1)} MB/s from 2 s to 4 s (${((100 * goodput) / LINK_BYTES_PER_S).toFixed(1)} % of the link); at most ${(w.maxFlight / 1e6).toFixed(2)} MB in flight`);
  t.true(goodput >= 0.95 * LINK_BYTES_PER_S, `goodput ${goodput} B/s is below 95 % of the link rate`);
  t.true(w.maxFlight >= 12_500_000, `at most ${w.maxFlight} bytes in flight: the path was never full`);
  // The send buffer grew past its 4 MiB floor to keep the window full, within sendBufferMax.
  t.true(server.bufferedAmount > DEFAULT_CONFIG.sendBufferSize && server.bufferedAmount <= DEFAULT_CONFIG.sendBufferMax, `${server.bufferedAmount} bytes buffered`);
});

test('at the defaults a takeover keeps the scaled window: the taker reads the client\'s window with shift 9 and fills the 1 Gbit/s x 100 ms path again', (t) => {
  const w = new Bulk(6, GIGABIT, {}, {}, 9000, [
    ['a', A],
    ['b', B],
  ]);
  w.net.run(3000);
  const state = w.server('a').exportState(w.net.now);
  t.is(state.tcp!.peerWindowScale, 9);
  w.net.kill('a');
  const sb = w.servers.get('b')!;
  const taker = sb.endpoint.importState(w.net.now, state);
  sb.conn = taker;
  t.is(taker.sndShift, 9);
  taker.takeover(w.net.now, 1, 'go-back-n');
  w.net.wake(sb.endpoint);
  const start = w.net.now;
  w.maxFlight = 0;
  w.net.run(start + 4000);
  t.is(taker.stateName, 'ESTABLISHED');
  t.false(w.mismatch, 'the stream arrived altered');
  const goodput = (w.receivedAt(start + 4000) - w.receivedAt(start + 2000)) / 2;
  t.log(`after the takeover: ${(goodput / 1e6).toFixed(1)} MB/s, ${(w.maxFlight / 1e6).toFixed(2)} MB in flight at most`);
  t.true(goodput >= 0.95 * LINK_BYTES_PER_S, `goodput ${goodput} B/s after the takeover`);
  t.true(w.maxFlight >= 12_500_000, `the taker had at most ${w.maxFlight} bytes in flight`);
});

test('a reader that stops at the defaults: the receiver holds no more than its auto-tuned buffer (256 KiB, not the 16 MiB maximum), and the sender stops (zero window) instead of buffering beyond it', (t) => {
  // The client reads nothing; the server has an endless stream for it.
  const net = new SimNetwork({ seed: 7 });
  net.addHost('client', [CLIENT.address]);
  net.addHost('a', [A.address]);
  net.link('client', 'a', { delayMs: 5, rateBps: 1_000_000_000, queueBytes: 32 * MiB });
  const server = new TcpMigrateEndpoint({ addresses: [A], listen: true, random: net.random, rtoMin: 200, mtu: 9000 });
  const chunk = new Uint8Array(MiB);
  let conn: TcpMigrateConnection | undefined;
  net.attach(server, [A], () => {
    conn ??= server.pollAccept();
    if (conn?.stateName !== 'ESTABLISHED') return;
    while (conn.send(chunk) > 0);
  });
  const client = new TcpMigrateEndpoint({ addresses: [CLIENT], random: net.random, rtoMin: 200, mtu: 9000 });
  net.attach(client, [CLIENT]); // never polls events: a reader that stopped
  const c = client.connect(0, A);
  net.wake(client);
  let held = 0;
  // A reader that never read never grew its buffer past the initial one (receive-buffer
  // auto-tuning), plus what rounding the scaled window up may promise.
  const limit = DEFAULT_CONFIG.receiveWindowInitial + 2 ** 9;
  for (let at = 500; at <= 20_000; at += 500) {
    net.run(at);
    held = Math.max(held, c.rcvUnread + c.reasm.held);
    t.true(c.rcvUnread + c.reasm.held <= limit, `${c.rcvUnread + c.reasm.held} bytes held at ${at} ms`);
  }
  t.true(held >= DEFAULT_CONFIG.receiveWindowInitial - 9000, `the window filled (${held} bytes held)`);
  t.true(c.receiveWindow() < c.effectiveMss(), `the window is closed to less than a segment (${c.receiveWindow()} bytes)`);
  const sent = conn!.sndNxt - conn!.sndUna;
  t.true(sent <= 2 ** 9, `${sent} bytes in flight towards a closed window (at most one probe)`);
  t.is(conn!.stateName, 'ESTABLISHED', 'the sender waits, probing the window');
  // The sender's own buffer stayed within its floor: the window in use is 0.
  t.true(conn!.bufferedAmount <= DEFAULT_CONFIG.sendBufferMax);
});

test('PAWS (RFC 7323 §5.3): a segment whose TSval is older than TS.Recent is dropped, answered and counted; the stream is intact', (t) => {
  const w = new Bulk(3, { delayMs: 5, rateBps: 10_000_000, queueBytes: MiB }, {}, {});
  w.net.run(500);
  const c = w.conn;
  t.true(c.tsOk);
  const before = c.rcvNxt;
  const options: TcpOption[] = [{ type: 'timestamp', value: (c.tsRecent - 1000) >>> 0, echo: 0 }];
  const optLen = headerOptionsLength(options);
  const payload = new TextEncoder().encode('EVIL');
  const b = new Uint8Array(20 + optLen + payload.length);
  writeHeader(b, c.remotePort, c.localPort, c.ackNumber(), c.sndWire(c.sndNxt), 0, ACK | PSH, 65535);
  emitHeaderOptions(options, b, 0);
  b.set(payload, 20 + optLen);
  fillChecksum(b, pseudoHeaderSum(A.address, CLIENT.address));
  t.true(parseSegment(b).ok);
  w.client.handleDatagram(w.net.now, A, b, CLIENT);
  t.is(c.pawsRejected, 1);
  t.is(c.rcvNxt, before, 'an old duplicate was accepted');
  w.net.run(w.net.now + 500);
  t.false(w.mismatch, 'the stream arrived altered');
  t.true(c.rcvNxt > before);
});

test('tshark decodes the EDO-extended SYN: EDO (ExID 0x0ed0), MSS, SACK-Permitted, window scale and timestamps as options, the key after the data offset as payload', (t) => {
  const writer = new PcapWriter({ encapsulation: 'ip-payload', protocol: 6, fixChecksum: false });
  const w = new Bulk(4, { delayMs: 5, rateBps: 10_000_000, queueBytes: MiB }, { receiveWindow: MiB }, {}, undefined, [['a', A]], (net) => net.onTrace(pcapTrace(writer, { at: [CLIENT.address] })));
  w.net.run(300);
  t.true(w.received > 0);
  const dir = mkdtempSync(join(tmpdir(), 'baton-tcp-window-'));
  try {
    const file = join(dir, 'syn.pcap');
    writeFileSync(file, writer.toBuffer());
    const fields = ['ip.src', 'tcp.flags', 'tcp.hdr_len', 'tcp.len', 'tcp.options.experimental.exid', 'tcp.options.wscale.shift', 'tcp.options.timestamp.tsval', 'tcp.option_kind', 'tcp.checksum.status', '_ws.malformed', 'tcp.window_size'];
    const out = execFileSync('tshark', ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const rows = out.trim().split('\n').map((l) => Object.fromEntries(l.split('\t').map((v, i) => [fields[i]!, v])));
    const syn = rows.find((r) => r['tcp.flags'] === '0x0002');
    const synAck = rows.find((r) => r['tcp.flags'] === '0x0012');
    t.truthy(syn);
    t.truthy(synAck);
    for (const r of [syn!, synAck!]) {
      t.is(r['tcp.options.experimental.exid'], '0x0ed0', 'tshark names the EDO option (Extended Data Offset)');
      t.is(r['tcp.hdr_len'], '48', 'the data offset field points past EDO, MSS, SACK-Permitted, WS, TS and NOP padding');
      t.is(r['tcp.len'], '36', 'the Migrate-Permitted key (34 bytes + 2 EOL) lies past the data offset: tshark shows it as payload');
      t.not(r['tcp.options.timestamp.tsval'], '');
      t.is(r['tcp.checksum.status'], '1');
      t.is(r['_ws.malformed'], '');
    }
    t.is(syn!['tcp.options.wscale.shift'], '5', 'a 1 MiB buffer offers shift 5');
    // Segments after the handshake have the plain layout, timestamps and no EDO; but the client
    // repeats its key until the listener's first segment (syn-cookie.ts), 34 + 10 bytes: EDO again.
    const data = rows.filter((r) => r['tcp.flags'] !== '0x0002' && r['tcp.flags'] !== '0x0012');
    t.true(data.length > 10);
    t.true(data.every((r) => r['tcp.options.timestamp.tsval'] !== '' && r['tcp.checksum.status'] === '1' && r['_ws.malformed'] === ''));
    t.true(data.filter((r) => r['ip.src'] === A.address).every((r) => r['tcp.options.experimental.exid'] === ''), 'EDO on a server segment with 40 bytes of options or less');
    t.is(data.find((r) => r['ip.src'] === CLIENT.address)?.['tcp.options.experimental.exid'], '0x0ed0', 'the client\'s first ACK repeats its key');
    // tshark applies the scale it saw on the SYNs: the client's window shows as more than 64 KiB.
    t.true(data.some((r) => Number(r['tcp.window_size']) > 65535), 'tshark computed no scaled window');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
