// The pcap writer produces files tshark reads: SCTP over UDP decodes with `-d udp.port==9899,sctp`,
// TCP-Migrate segments as IP payload decode as TCP, and every IP/UDP/TCP checksum verifies.
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { DatagramCore, Transmit } from '../src/transport-abstraction/transport.js';
import { SimNetwork } from '../src/sim/network.js';
import { LINKTYPE_RAW, PcapWriter, pcapTrace } from '../src/sim/pcap.js';

const A: UdpAddress = { address: '10.0.0.1', port: 9899 };
const B: UdpAddress = { address: '10.0.0.2', port: 9899 };

function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of bytes) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** An SCTP packet holding one INIT chunk, CRC32c filled in (stored little-endian, as on the wire). */
function sctpInit(tag: number): Uint8Array {
  const p = new Uint8Array(32);
  const v = new DataView(p.buffer);
  v.setUint16(0, 5000);
  v.setUint16(2, 5001);
  v.setUint32(4, 0); // verification tag 0 for INIT
  v.setUint8(12, 1); // INIT
  v.setUint16(14, 20);
  v.setUint32(16, tag);
  v.setUint32(20, 65536); // a_rwnd
  v.setUint16(24, 10);
  v.setUint16(26, 10);
  v.setUint32(28, 1); // initial TSN
  v.setUint32(8, crc32c(p), true);
  return p;
}

/** A TCP SYN with 5 data bytes, checksum field left as garbage for the writer to fix. */
function tcpSyn(): Uint8Array {
  const s = new Uint8Array(25);
  const v = new DataView(s.buffer);
  v.setUint16(0, 1234);
  v.setUint16(2, 80);
  v.setUint32(4, 1000);
  v.setUint8(12, 0x50); // data offset 5
  v.setUint8(13, 0x02); // SYN
  v.setUint16(14, 65535);
  v.setUint16(16, 0xbeef);
  s.set(Buffer.from('hello'), 20);
  return s;
}

function tshark(t: ExecutionContext, file: string, fields: string[]): string[][] {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore', timeout: 30_000 });
  } catch {
    t.fail('tshark is not installed (or does not run): install it with `apt-get install -y tshark`');
    return [];
  }
  const out = execFileSync(
    'tshark',
    [
      '-r', file,
      '-d', 'udp.port==9899,sctp',
      '-o', 'ip.check_checksum:TRUE',
      '-o', 'udp.check_checksum:TRUE',
      '-o', 'tcp.check_checksum:TRUE',
      '-o', 'sctp.checksum:CRC-32C',
      '-T', 'fields', '-E', 'separator=|',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return out.trim().split('\n').map((line) => line.split('|'));
}

function tempFile(t: ExecutionContext, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-pcap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

test('the file layout: pcap header, record header, IPv4 + UDP with lengths and checksums', (t) => {
  const w = new PcapWriter();
  const payload = new Uint8Array([1, 2, 3]);
  w.add(1500.25, A, { address: '192.168.1.200', port: 4000 }, payload);
  const buf = w.toBuffer();
  t.is(buf.length, 24 + 16 + 20 + 8 + 3);
  t.is(buf.readUInt32LE(0), 0xa1b2c3d4);
  t.is(buf.readUInt16LE(4), 2);
  t.is(buf.readUInt16LE(6), 4);
  t.is(buf.readUInt32LE(20), LINKTYPE_RAW);
  t.is(buf.readUInt32LE(24), 1, 'seconds');
  t.is(buf.readUInt32LE(28), 500_250, 'microseconds');
  t.is(buf.readUInt32LE(32), 31);
  t.is(buf.readUInt32LE(36), 31);
  const ip = buf.subarray(40);
  t.is(ip[0], 0x45);
  t.is(ip.readUInt16BE(2), 31);
  t.is(ip[9], 17);
  t.deepEqual([...ip.subarray(12, 20)], [10, 0, 0, 1, 192, 168, 1, 200]);
  t.is(onesSum(ip.subarray(0, 20)), 0xffff, 'IPv4 header checksum verifies');
  t.is(ip.readUInt16BE(20), 9899);
  t.is(ip.readUInt16BE(22), 4000);
  t.is(ip.readUInt16BE(24), 11, 'UDP length');
  const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17, 0, 11]), ip.subarray(20)]);
  t.is(onesSum(pseudo), 0xffff, 'UDP checksum verifies');
  t.is(w.packetCount, 1);
});

test('IPv6 addresses are refused with a clear error (the writer is IPv4 only)', (t) => {
  const w = new PcapWriter();
  t.throws(() => w.add(0, { address: '::1', port: 1 }, A, new Uint8Array(1)), { code: 'BATON_ERR_PCAP_IPV6', message: /IPv4 only/ });
  t.throws(() => w.add(0, { address: '10.0.0.256', port: 1 }, A, new Uint8Array(1)), { code: 'BATON_ERR_PCAP_ADDRESS' });
});

test('tshark reads SCTP over UDP and TCP-Migrate segments, and every checksum is good', (t) => {
  const w = new PcapWriter();
  w.add(1500.25, A, B, sctpInit(0x11223344));
  w.add(2000, { address: '10.0.0.1', port: 9898 }, { address: '10.0.0.2', port: 9898 }, tcpSyn(), { encapsulation: 'ip-payload', protocol: 6 });
  w.add(2001, B, A, new Uint8Array([0xde, 0xad]), { encapsulation: 'udp' }); // odd-length, not SCTP
  // Control: without the fix, tshark must flag the TCP checksum as bad — so the checks above can fail.
  w.add(2002, A, B, tcpSyn(), { encapsulation: 'ip-payload', protocol: 6, fixChecksum: false });
  const file = tempFile(t, 'mixed.pcap');
  writeFileSync(file, w.toBuffer());
  const rows = tshark(t, file, [
    'frame.number', 'frame.time_epoch', 'ip.src', 'ip.dst', 'ip.checksum.status',
    'udp.srcport', 'udp.dstport', 'udp.length', 'udp.checksum.status',
    'sctp.chunk_type', 'sctp.init_initiate_tag', 'sctp.checksum.status', 'tcp.srcport', 'tcp.dstport', 'tcp.len', 'tcp.checksum.status',
  ]);
  t.log(rows.map((r) => r.join(' ')).join('\n'));
  t.is(rows.length, 4);
  const [sctp, tcp, udp, badTcp] = rows as [string[], string[], string[], string[]];
  // Checksum status: 1 = good, 0 = bad.
  t.deepEqual(sctp, ['1', '1.500250000', '10.0.0.1', '10.0.0.2', '1', '9899', '9899', '40', '1', '1', '0x11223344', '1', '', '', '', '']);
  t.deepEqual(tcp, ['2', '2.000000000', '10.0.0.1', '10.0.0.2', '1', '', '', '', '', '', '', '', '1234', '80', '5', '1']);
  t.deepEqual(udp.slice(2, 9), ['10.0.0.2', '10.0.0.1', '1', '9899', '9899', '10', '1']);
  t.is(badTcp[15], '0', 'an unfixed TCP checksum is reported bad');
});

test("the sim's trace hook writes a capture tshark reads, with virtual times", (t) => {
  const net = new SimNetwork({ seed: 9 });
  net.addHost('a', [A.address]);
  net.addHost('b', [B.address]);
  net.link('a', 'b', { delayMs: 20, rateBps: 128_000 });
  const w = new PcapWriter();
  net.onTrace(pcapTrace(w, { kind: 'deliver' }));
  const out: Transmit[] = [0, 1, 2].map((i) => ({ destination: B, payload: sctpInit(1000 + i) }));
  const sender: DatagramCore = {
    handleDatagram() {},
    handleTimeout() {},
    pollTransmit: () => out.shift(),
    pollTimeout: () => undefined,
  };
  const received: number[] = [];
  const receiver: DatagramCore = {
    handleDatagram: (now) => void received.push(now),
    handleTimeout() {},
    pollTransmit: () => undefined,
    pollTimeout: () => undefined,
  };
  net.attach(sender, [A]);
  net.attach(receiver, [B]);
  net.wake(sender);
  net.run();
  t.is(w.packetCount, 3);
  const file = tempFile(t, 'sim.pcap');
  writeFileSync(file, w.toBuffer());
  const rows = tshark(t, file, ['frame.time_epoch', 'sctp.init_initiate_tag', 'udp.checksum.status', 'sctp.checksum.status']);
  // 32 bytes at 128 kbit/s = 2 ms each, then 20 ms propagation.
  t.deepEqual(rows, [
    ['0.022000000', '0x000003e8', '1', '1'],
    ['0.024000000', '0x000003e9', '1', '1'],
    ['0.026000000', '0x000003ea', '1', '1'],
  ]);
  t.deepEqual(received, [22, 24, 26]);
});

function onesSum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

test('pcapTrace({ at }) captures what tcpdump on that host would see: its sends and its deliveries', (t) => {
  const net = new SimNetwork({ seed: 2 });
  net.addHost('client', ['10.0.0.1']);
  net.addHost('a', ['10.0.0.2']);
  net.addHost('b', ['10.0.0.3']);
  net.link('client', 'a', { delayMs: 5, loss: 0 });
  net.partition(['client'], ['b']);
  const atClient = new PcapWriter();
  const everything = new PcapWriter();
  net.onTrace(pcapTrace(atClient, { at: ['10.0.0.1'] }));
  net.onTrace(pcapTrace(everything, { kind: 'send' }));
  const echo: Transmit[] = [];
  const server: DatagramCore = {
    handleDatagram: (_now, from, bytes) => void echo.push({ destination: from, payload: bytes }),
    handleTimeout() {},
    pollTransmit: () => echo.shift(),
    pollTimeout: () => undefined,
  };
  const out: Transmit[] = [
    { destination: { address: '10.0.0.2', port: 9899 }, payload: new Uint8Array(8) },
    { destination: { address: '10.0.0.3', port: 9899 }, payload: new Uint8Array(8) }, // partitioned
  ];
  const client: DatagramCore = {
    handleDatagram() {},
    handleTimeout() {},
    pollTransmit: () => out.shift(),
    pollTimeout: () => undefined,
  };
  net.attach(server, [{ address: '10.0.0.2', port: 9899 }]);
  net.attach(client, [A]);
  net.wake(client);
  net.run();
  t.is(atClient.packetCount, 3, 'two sends from the client, one echo delivered to it');
  t.is(everything.packetCount, 3, 'two sends from the client, one from a');
  const buf = atClient.toBuffer();
  // Third record: the echo from 10.0.0.2 arriving at t = 10 ms.
  const third = 24 + 2 * (16 + 20 + 8 + 8);
  t.is(buf.readUInt32LE(third + 4), 10_000);
  t.deepEqual([...buf.subarray(third + 16 + 12, third + 16 + 16)], [10, 0, 0, 2]);
});
