// IPv4/IPv6 text <-> bytes for the address parameters, and byte-level interop with the npm
// `sctp` package (its INIT parses here; ours parse there, checksum included).
import test from 'ava';
import { createRequire } from 'node:module';
import {
  emitPacket,
  ipv4FromBytes,
  ipv4ToBytes,
  ipv6FromBytes,
  ipv6ToBytes,
  parsePacket,
} from '../src/sctp/wire/index.js';
import { hex, toHex, seq, bytes, ascii, packetOf } from './helpers/sctp-bytes.js';

// ------------------------------------------------------------------------------------- addresses

test('IPv4 and IPv6 text <-> bytes', (t) => {
  t.is(toHex(ipv4ToBytes('127.0.0.1')), '7f000001');
  t.is(ipv4FromBytes(hex('ff00010a')), '255.0.1.10');
  const cases: Array<[string, string, string]> = [
    ['::', '00000000000000000000000000000000', '::'],
    ['::1', '00000000000000000000000000000001', '::1'],
    ['2001:DB8::1', '20010db8000000000000000000000001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304', '::ffff:102:304'],
    ['::1.2.3.4', '00000000000000000000000001020304', '::102:304'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304', '1:2:3:4:5:6:102:304'],
    ['fe80::1%eth0', 'fe800000000000000000000000000001', 'fe80::1'],
    ['1::', '00010000000000000000000000000000', '1::'],
    ['1:0:0:2:0:0:0:3', '00010000000000020000000000000003', '1:0:0:2::3'],
  ];
  for (const [text, bin, canonical] of cases) {
    t.is(toHex(ipv6ToBytes(text)), bin, text);
    t.is(ipv6FromBytes(hex(bin)), canonical, text);
  }
  t.throws(() => ipv4ToBytes('1.2.3'));
  t.throws(() => ipv6ToBytes('1:::2'));
});

// ---------------------------------------------------------------- interop with the npm sctp package

const require = createRequire(import.meta.url);

test('INIT built by the npm sctp package parses, checksum included', (t) => {
  const SctpChunk = require('sctp/lib/chunk.js');
  const SctpPacket = require('sctp/lib/packet.js');
  const init = new SctpChunk('init', {
    initiate_tag: 0x01020304,
    a_rwnd: 65536,
    outbound_streams: 10,
    inbound_streams: 11,
    initial_tsn: 5,
    ipv4_address: ['10.0.0.1'],
    supported_address_type: 5,
    ecn: true,
  });
  const wire = new Uint8Array(new SctpPacket({ src_port: 5000, dst_port: 5001, v_tag: 0 }, [init.toBuffer()]).toBuffer());
  const r = parsePacket(wire);
  if (!r.ok) return t.fail(`${r.error.code}: ${r.error.message}`);
  t.deepEqual(r.packet, {
    sourcePort: 5000,
    destinationPort: 5001,
    verificationTag: 0,
    chunks: [
      {
        type: 1,
        initiateTag: 0x01020304,
        advertisedReceiverWindow: 65536,
        outboundStreams: 10,
        inboundStreams: 11,
        initialTsn: 5,
        params: [
          { type: 5, kind: 'ipv4', address: '10.0.0.1' },
          { type: 12, kind: 'supported-address-types', types: [5] },
        ],
      },
    ],
  });
  t.is(toHex(emitPacket(r.packet)), toHex(wire), 'we emit the same bytes');
});

test('our INIT ACK and DATA parse in the npm sctp package', (t) => {
  const SctpChunk = require('sctp/lib/chunk.js');
  const SctpPacket = require('sctp/lib/packet.js');
  const ours = emitPacket(
    packetOf(
      {
        type: 2,
        initiateTag: 0xcafe,
        advertisedReceiverWindow: 1 << 20,
        outboundStreams: 3,
        inboundStreams: 4,
        initialTsn: 99,
        params: [{ type: 7, kind: 'state-cookie', cookie: bytes(1, 9) }],
      },
      { type: 0, immediate: false, unordered: false, beginning: true, ending: true, tsn: 99, streamId: 1, ssn: 0, ppid: 51, userData: ascii('hi') },
    ),
  );
  const theirs = new SctpPacket(Buffer.from(ours));
  t.falsy(theirs.checksum_error, 'their CRC32c agrees with ours');
  t.is(theirs.v_tag, 0xdeadbeef);
  t.is(theirs.chunks.length, 2);
  const ack = new SctpChunk(theirs.chunks[0]);
  t.is(ack.chunkType, 'init_ack');
  t.is(ack.initiate_tag, 0xcafe);
  t.is(ack.initial_tsn, 99);
  t.is(toHex(ack.state_cookie), seq(1, 9));
  const data = new SctpChunk(theirs.chunks[1]);
  t.is(data.chunkType, 'data');
  t.is(data.tsn, 99);
  t.is(Buffer.from(data.user_data).toString(), 'hi');
});
