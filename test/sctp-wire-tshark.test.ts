// Interop at the byte level: every chunk type we emit, encapsulated in UDP (RFC 6951) in a pcap,
// is decoded by Wireshark's SCTP dissector (tshark) with a good CRC32c, no malformed or error
// expert items, and the field values we put in. tshark comes from .ci/install-deps.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitPacket, emitPacketWithAuth, signPacket, type Chunk } from '../src/sctp/wire/index.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const ipv4 = (address: string) => ({ type: 5 as const, kind: 'ipv4' as const, address });

interface Case {
  chunks: Chunk[];
  /** tshark field → expected value (multiple occurrences joined by ','). */
  expect: Record<string, string>;
}

const cases: Case[] = [
  {
    chunks: [
      {
        type: 1,
        initiateTag: 0xa1b2c3d4,
        advertisedReceiverWindow: 131072,
        outboundStreams: 10,
        inboundStreams: 65535,
        initialTsn: 0x01020304,
        params: [
          { type: 0x8002, kind: 'random', random: new Uint8Array(32).fill(7) },
          { type: 0x8003, kind: 'chunks', chunkTypes: [0xc1, 0x80] },
          { type: 0x8004, kind: 'hmac-algo', hmacIds: [3, 1] },
          { type: 0x8008, kind: 'supported-extensions', chunkTypes: [0xc1, 0x80, 0x0f, 0xc0] },
          { type: 0xbaf1, kind: 'baton-x25519', publicKey: new Uint8Array(32).fill(9) },
          ipv4('10.0.0.1'),
          { type: 6, kind: 'ipv6', address: 'fe80::1' },
          { type: 0xc000, kind: 'forward-tsn-supported' },
          { type: 0x8000, kind: 'ecn-capable' },
          { type: 9, kind: 'cookie-preservative', increment: 5000 },
          { type: 12, kind: 'supported-address-types', types: [5, 6] },
        ],
      },
    ],
    expect: {
      'sctp.chunk_type': '1',
      'sctp.init_initiate_tag': '0xa1b2c3d4',
      'sctp.init_credit': '131072',
      'sctp.init_nr_in_streams': '65535',
      'sctp.init_initial_tsn': '16909060',
      'sctp.parameter_type': '0x8002,0x8003,0x8004,0x8008,0xbaf1,0x0005,0x0006,0xc000,0x8000,0x0009,0x000c',
      'sctp.chunk_type_to_auth': '193,128',
      'sctp.hmac_id': '3,1',
      'sctp.parameter_ipv4_address': '10.0.0.1',
      'sctp.parameter_ipv6_address': 'fe80::1',
      'sctp.parameter_cookie_preservative_incr': '5000',
    },
  },
  {
    chunks: [
      {
        type: 2,
        initiateTag: 7,
        advertisedReceiverWindow: 1,
        outboundStreams: 1,
        inboundStreams: 1,
        initialTsn: 1,
        params: [
          { type: 7, kind: 'state-cookie', cookie: ascii('cookie!') },
          { type: 8, kind: 'unrecognized-parameter', parameter: new Uint8Array([0x81, 0x23, 0, 4]) },
          { type: 0xc006, kind: 'adaptation-layer', indication: 99 },
        ],
      },
    ],
    expect: { 'sctp.chunk_type': '2', 'sctp.parameter_type': '0x0007,0x0008,0x8123,0xc006', 'sctp.parameter_state_cookie': '636f6f6b696521' },
  },
  {
    chunks: [
      { type: 0, immediate: true, unordered: true, beginning: true, ending: false, tsn: 7, streamId: 1, ssn: 2, ppid: 51, userData: ascii('hello') },
      { type: 0, immediate: false, unordered: false, beginning: false, ending: true, tsn: 8, streamId: 1, ssn: 2, ppid: 51, userData: ascii('world!!!') },
    ],
    expect: {
      'sctp.chunk_type': '0,0',
      'sctp.data_tsn_raw': '7,8',
      'sctp.data_sid': '0x0001,0x0001',
      'sctp.data_ssn': '2,2',
      'sctp.data_payload_proto_id': '51,51',
      'sctp.data_i_bit': '1,0',
      'sctp.data_u_bit': '1,0',
      'sctp.data_b_bit': '1,0',
      'sctp.data_e_bit': '0,1',
    },
  },
  {
    chunks: [
      { type: 3, cumulativeTsnAck: 100, advertisedReceiverWindow: 65536, gapBlocks: [{ start: 2, end: 3 }, { start: 5, end: 5 }], duplicateTsns: [96] },
    ],
    expect: {
      'sctp.chunk_type': '3',
      'sctp.sack_cumulative_tsn_ack_raw': '100',
      'sctp.sack_a_rwnd': '65536',
      'sctp.sack_gap_block_start': '2,5',
      'sctp.sack_gap_block_end': '3,5',
      'sctp.sack_duplicate_tsn': '96',
    },
  },
  {
    chunks: [
      { type: 4, info: ascii('hb-1') },
      { type: 5, info: ascii('hb-22') },
    ],
    expect: { 'sctp.chunk_type': '4,5', 'sctp.parameter_type': '0x0001,0x0001', 'sctp.parameter_heartbeat_information': '68622d31,68622d3232' },
  },
  {
    chunks: [{ type: 6, reflectedTag: true, causes: [{ code: 12, info: ascii('bye') }, { code: 13, info: ascii('bad!') }] }],
    expect: { 'sctp.chunk_type': '6', 'sctp.abort_t_bit': '1', 'sctp.cause_code': '0x000c,0x000d' },
  },
  {
    chunks: [{ type: 9, reflectedTag: false, causes: [{ code: 1, info: new Uint8Array([0, 5, 0, 0]) }] }],
    expect: { 'sctp.chunk_type': '9', 'sctp.cause_code': '0x0001', 'sctp.cause_stream_identifier': '5' },
  },
  {
    chunks: [
      { type: 7, cumulativeTsnAck: 0x12345678 },
      { type: 8, reflectedTag: false },
    ],
    expect: { 'sctp.chunk_type': '7,8', 'sctp.shutdown_cumulative_tsn_ack': '305419896' },
  },
  {
    chunks: [{ type: 14, reflectedTag: true }],
    expect: { 'sctp.chunk_type': '14', 'sctp.shutdown_complete_t_bit': '1' },
  },
  {
    chunks: [
      { type: 10, cookie: ascii('a cookie') },
      { type: 11, reflectedTag: false },
    ],
    expect: { 'sctp.chunk_type': '10,11', 'sctp.cookie': '6120636f6f6b6965' },
  },
  {
    chunks: [
      { type: 12, tsn: 16 },
      { type: 13, tsn: 17 },
    ],
    expect: { 'sctp.chunk_type': '12,13', 'sctp.ecne_lowest_tsn': '16', 'sctp.cwr_lowest_tsn': '17' },
  },
  {
    chunks: [{ type: 0xc0, newCumulativeTsn: 256, streams: [{ streamId: 1, ssn: 5 }, { streamId: 2, ssn: 7 }] }],
    expect: { 'sctp.chunk_type': '192', 'sctp.forward_tsn_tsn': '256', 'sctp.forward_tsn_sid': '1,2', 'sctp.forward_tsn_ssn': '5,7' },
  },
  {
    chunks: [
      { type: 15, sharedKeyId: 1, hmacId: 3, hmac: new Uint8Array(32) },
      {
        type: 0xc1,
        serial: 7,
        address: ipv4('10.0.0.1'),
        params: [
          { type: 0xc001, kind: 'add-ip', correlationId: 1, address: ipv4('10.0.0.2') },
          { type: 0xc004, kind: 'set-primary', correlationId: 2, address: ipv4('10.0.0.2') },
          { type: 0xc002, kind: 'delete-ip', correlationId: 3, address: ipv4('10.0.0.1') },
          { type: 0xbaf2, kind: 'baton-takeover', requestNumber: 42 },
        ],
      },
    ],
    expect: {
      'sctp.chunk_type': '15,193',
      'sctp.shared_key_id': '1',
      'sctp.hmac_id': '3',
      'sctp.asconf_seq_nr_number': '0x00000007',
      'sctp.correlation_id': '0x00000001,0x00000002,0x00000003',
      'sctp.parameter_type': '0x0005,0xc001,0x0005,0xc004,0x0005,0xc002,0x0005,0xbaf2',
      'sctp.parameter_ipv4_address': '10.0.0.1,10.0.0.2,10.0.0.2,10.0.0.1',
    },
  },
  {
    chunks: [
      {
        type: 0x80,
        serial: 7,
        params: [
          { type: 0xc005, kind: 'success', correlationId: 1 },
          { type: 0xc003, kind: 'error-cause', correlationId: 3, causes: [{ code: 0xa2, info: new Uint8Array([0xc0, 0x02, 0, 16, 0, 0, 0, 3, 0, 5, 0, 8, 10, 0, 0, 1]) }] },
        ],
      },
    ],
    expect: {
      'sctp.chunk_type': '128',
      'sctp.asconf_ack_seq_nr_number': '0x00000007',
      // The cause carries the refused request, whose correlation id tshark decodes too.
      'sctp.correlation_id': '0x00000001,0x00000003,0x00000003',
      'sctp.cause_code': '0x00a2',
    },
  },
];

function pcap(packets: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(101, 20); // LINKTYPE_RAW: an IP packet
  parts.push(global);
  for (const sctp of packets) {
    const ipUdp = Buffer.alloc(28);
    ipUdp[0] = 0x45;
    ipUdp.writeUInt16BE(28 + sctp.length, 2);
    ipUdp[8] = 64;
    ipUdp[9] = 17; // UDP
    ipUdp.set([127, 0, 0, 1], 12);
    ipUdp.set([127, 0, 0, 2], 16);
    ipUdp.writeUInt16BE(9899, 20);
    ipUdp.writeUInt16BE(9899, 22);
    ipUdp.writeUInt16BE(8 + sctp.length, 24);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(28 + sctp.length, 8);
    record.writeUInt32LE(28 + sctp.length, 12);
    parts.push(record, ipUdp, Buffer.from(sctp));
  }
  return Buffer.concat(parts);
}

test('tshark decodes every chunk type we emit, checksum good, fields as sent', (t) => {
  const packets = cases.map(({ chunks }) => {
    const { bytes, auth } = emitPacketWithAuth({ sourcePort: 9899, destinationPort: 9899, verificationTag: 0x11223344, chunks });
    if (auth) signPacket(bytes, auth, new Uint8Array(auth.hmacLength).fill(0xab));
    return bytes;
  });
  packets.push(emitPacket({ sourcePort: 9899, destinationPort: 9899, verificationTag: 0, chunks: [{ type: 0xfe, kind: 'unknown', flags: 1, raw: new Uint8Array([0xfe, 1, 0, 5, 0x77]) }] }));
  const dir = mkdtempSync(join(tmpdir(), 'sctp-wire-tshark-'));
  try {
    const file = join(dir, 'wire.pcap');
    writeFileSync(file, pcap(packets));
    const fields = [...new Set(['frame.number', 'sctp.checksum.status', '_ws.malformed', '_ws.expert.severity', ...cases.flatMap((c) => Object.keys(c.expect))])];
    const out = execFileSync(
      'tshark',
      ['-r', file, '-d', 'udp.port==9899,sctp', '-o', 'sctp.checksum:CRC-32c', '-o', 'sctp.relative_tsns:FALSE', '-T', 'fields', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])],
      { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const rows = out.trimEnd().split('\n').map((line) => Object.fromEntries(line.split('\t').map((v, i) => [fields[i]!, v])));
    t.is(rows.length, packets.length);
    const problems: string[] = [];
    const check = (frame: number, what: string, got: string | undefined, want: string): void => {
      if (got !== want) problems.push(`frame ${frame} ${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    };
    rows.forEach((row, i) => {
      check(i + 1, 'checksum status', row['sctp.checksum.status'], '1');
      check(i + 1, 'malformed', row['_ws.malformed'], '');
      // Severity 0x00800000 is "error"; notes/warnings (e.g. "unknown parameter") are fine.
      if ((row['_ws.expert.severity'] ?? '').split(',').includes('8388608')) problems.push(`frame ${i + 1}: expert error`);
      for (const [field, want] of Object.entries(cases[i]?.expect ?? { 'sctp.chunk_type': '254' })) check(i + 1, field, row[field], want);
    });
    t.deepEqual(problems, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
