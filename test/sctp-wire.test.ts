// Fixed-byte tests of the SCTP wire layer: every chunk, parameter and cause both ways
// (Repr → emit → hand-written hex; hex → parse → Repr), plus the ways bytes can be wrong.
import test from 'ava';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  authenticatedBytes,
  asKnownChunk,
  authenticatedRegion,
  chunkSpans,
  isUnknownChunk,
  chunkLength,
  computeChecksum,
  crc32c,
  emitChunk,
  emitErrorCause,
  emitPacket,
  emitPacketWithAuth,
  emitParam,
  finalizeChecksum,
  ipv4FromBytes,
  ipv4ToBytes,
  ipv6FromBytes,
  ipv6ToBytes,
  parsePacket,
  parsePacketHeader,
  peekFirstChunkType,
  peekVerificationTag,
  signPacket,
  unknownChunkAction,
  unknownParamAction,
  verifyChecksum,
  type AuthChunk,
  type Chunk,
  type DataChunk,
  type InitChunk,
  type Packet,
  type WireErrorCode,
} from '../src/sctp/wire/index.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const seq = (from: number, n: number): string => toHex(Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff));
const bytes = (from: number, n: number): Uint8Array => hex(seq(from, n));
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

const HEADER = { sourcePort: 5000, destinationPort: 5001, verificationTag: 0xdeadbeef };
/** A packet from hand-written chunk hex: the common header above, checksum filled in. */
function pkt(chunksHex: string, vtag = 'deadbeef'): Uint8Array {
  const b = hex(`1388 1389 ${vtag} 00000000 ${chunksHex}`);
  finalizeChecksum(b);
  return b;
}
const packetOf = (...chunks: Chunk[]): Packet => ({ ...HEADER, chunks });

/** Both directions: the Repr emits exactly the hex, and the hex parses to exactly the Repr. */
function both(t: import('ava').ExecutionContext, chunkHex: string, chunk: Chunk): void {
  const wire = pkt(chunkHex);
  t.is(toHex(emitPacket(packetOf(chunk))), toHex(wire), 'emit');
  const r = parsePacket(wire);
  if (!r.ok) return t.fail(`parse: ${r.error.code} ${r.error.message}`);
  t.deepEqual(r.packet, packetOf(chunk), 'parse');
  t.is(chunkLength(chunk), wire.length - 12, 'chunkLength is padded');
}

// ------------------------------------------------------------------------------------------- CRC32c

test('crc32c: standard check value and RFC 3720 B.4 vectors', (t) => {
  t.is(crc32c(ascii('123456789')), 0xe3069283);
  t.is(crc32c(new Uint8Array(32)), 0x8a9136aa);
  t.is(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  t.is(crc32c(bytes(0, 32)), 0x46dd794e);
  t.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  const iscsiRead = hex(
    '01c00000 00000000 00000000 00000000 14000000 00000400 00000014 00000018 28000000 00000000 02000000 00000000',
  );
  t.is(crc32c(iscsiRead), 0xd9963a56);
  t.is(crc32c(new Uint8Array(0)), 0);
});

test('crc32c: every length and alignment agrees with a bitwise reference', (t) => {
  const ref = (b: Uint8Array): number => {
    let c = 0xffffffff;
    for (const x of b) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);
  for (let start = 0; start < 9; start++) {
    for (let len = 0; len < 100; len++) t.is(crc32c(data, start, start + len), ref(data.subarray(start, start + len)));
  }
});

test('crc32c: long buffers and split updates agree with the bitwise reference', (t) => {
  const ref = (b: Uint8Array): number => {
    let c = 0xffffffff;
    for (const x of b) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const data = Uint8Array.from({ length: 9000 }, (_, i) => (i * 2654435761) >>> 24);
  t.is(crc32c(data), ref(data));
  t.is(crc32c(data, 3, 8999), ref(data.subarray(3, 8999)));
  t.is(crc32c(data.subarray(1401, 2801)), ref(data.subarray(1401, 2801)));
});

test('checksum: a packet from an independent implementation (scapy INIT) verifies', (t) => {
  // scapy's SCTP regression test: raw(IP()/SCTP()/SCTPChunkInit(params=[SCTPChunkParamIPv4Addr()])), SCTP part.
  const wire = hex('0000 0000 00000000 402c0b5f 01 00 001c 00000000 00000000 0000 0000 00000000 0005 0008 7f000001');
  t.true(verifyChecksum(wire));
  const r = parsePacket(wire);
  if (!r.ok) return t.fail(r.error.code);
  t.deepEqual((r.packet.chunks[0] as InitChunk).params, [{ type: 5, kind: 'ipv4', address: '127.0.0.1' }]);
  t.is(toHex(emitPacket(r.packet)), toHex(wire));
});

test('checksum: computed with the field zeroed, stored little-endian', (t) => {
  const b = hex('1388 1389 deadbeef 00000000 0b000004');
  const zeroed = crc32c(b);
  b.set([1, 2, 3, 4], 8); // whatever the field holds, it counts as zero
  t.is(computeChecksum(b), zeroed);
  t.false(verifyChecksum(b));
  finalizeChecksum(b);
  t.deepEqual([...b.subarray(8, 12)], [zeroed & 0xff, (zeroed >>> 8) & 0xff, (zeroed >>> 16) & 0xff, zeroed >>> 24]);
  t.true(verifyChecksum(b));
  t.false(verifyChecksum(b.subarray(0, 11)));
});

// ------------------------------------------------------------------------------------- every chunk

test('DATA with B/E flags, user data padded', (t) => {
  both(t, '00 03 0015 00000001 0002 0003 00000033 68656c6c6f 000000', {
    type: 0,
    immediate: false,
    unordered: false,
    beginning: true,
    ending: true,
    tsn: 1,
    streamId: 2,
    ssn: 3,
    ppid: 0x33,
    userData: ascii('hello'),
  });
});

test('DATA with I/U flags and an aligned payload', (t) => {
  both(t, '00 0c 0014 fffffffe ffff 8000 00000000 01020304', {
    type: 0,
    immediate: true,
    unordered: true,
    beginning: false,
    ending: false,
    tsn: 0xfffffffe,
    streamId: 0xffff,
    ssn: 0x8000,
    ppid: 0,
    userData: hex('01020304'),
  });
});

test('DATA user data is a view of the input (zero copy)', (t) => {
  const wire = pkt('00 03 0014 00000001 0000 0000 00000000 01020304');
  const r = parsePacket(wire);
  if (!r.ok) return t.fail();
  const d = r.packet.chunks[0] as DataChunk;
  t.is(d.userData.buffer, wire.buffer);
  t.is(d.userData.byteOffset, wire.byteOffset + 28);
});

test('INIT with RANDOM, CHUNKS, HMAC-ALGO, SUPPORTED-EXTENSIONS, baton-x25519 and more', (t) => {
  const chunkHex = [
    '01 00 008a a1b2c3d4 00020000 000a ffff 01020304',
    `8002 0024 ${seq(0, 32)}`,
    '8003 0006 c180 0000',
    '8004 0008 0003 0001',
    '8008 0008 c1800fc0',
    `baf1 0024 ${seq(0x20, 32)}`,
    '0005 0008 0a000001',
    'c000 0004',
    '8000 0004',
    '000c 0006 0005', // last parameter: its padding is not in the chunk length...
    '0000', // ...but is the chunk's padding
  ].join(' ');
  both(t, chunkHex, {
    type: 1,
    initiateTag: 0xa1b2c3d4,
    advertisedReceiverWindow: 0x20000,
    outboundStreams: 10,
    inboundStreams: 0xffff,
    initialTsn: 0x01020304,
    params: [
      { type: 0x8002, kind: 'random', random: bytes(0, 32) },
      { type: 0x8003, kind: 'chunks', chunkTypes: [0xc1, 0x80] },
      { type: 0x8004, kind: 'hmac-algo', hmacIds: [3, 1] },
      { type: 0x8008, kind: 'supported-extensions', chunkTypes: [0xc1, 0x80, 0x0f, 0xc0] },
      { type: 0xbaf1, kind: 'baton-x25519', publicKey: bytes(0x20, 32) },
      { type: 5, kind: 'ipv4', address: '10.0.0.1' },
      { type: 0xc000, kind: 'forward-tsn-supported' },
      { type: 0x8000, kind: 'ecn-capable' },
      { type: 12, kind: 'supported-address-types', types: [5] },
    ],
  });
});

test('INIT ACK with cookie, IPv6, unrecognized parameter, preservative, adaptation, unknown', (t) => {
  const chunkHex = [
    '02 00 0055 11223344 0000ffff 0001 0001 fffffffe',
    '0007 0009 0102030405 000000',
    '0006 0014 20010db8 00000000 00000000 00000001',
    '0008 000c 8123 0008 deadbeef',
    '0009 0008 00001388',
    'c006 0008 01020304',
    '8abc 0005 ee',
    '000000',
  ].join(' ');
  both(t, chunkHex, {
    type: 2,
    initiateTag: 0x11223344,
    advertisedReceiverWindow: 0xffff,
    outboundStreams: 1,
    inboundStreams: 1,
    initialTsn: 0xfffffffe,
    params: [
      { type: 7, kind: 'state-cookie', cookie: hex('0102030405') },
      { type: 6, kind: 'ipv6', address: '2001:db8::1' },
      { type: 8, kind: 'unrecognized-parameter', parameter: hex('81230008deadbeef') },
      { type: 9, kind: 'cookie-preservative', increment: 5000 },
      { type: 0xc006, kind: 'adaptation-layer', indication: 0x01020304 },
      { type: 0x8abc, kind: 'unknown', value: hex('ee') },
    ],
  });
});

test('INIT whose length counts the last parameter padding is accepted too', (t) => {
  const r = parsePacket(pkt('01 00 001c 00000001 00001000 0001 0001 00000001 000c 0006 0005 0000'));
  if (!r.ok) return t.fail(r.error.code);
  const init = r.packet.chunks[0] as InitChunk;
  t.deepEqual(init.params, [{ type: 12, kind: 'supported-address-types', types: [5] }]);
});

test('SACK with gap blocks and duplicate TSNs', (t) => {
  both(t, '03 00 001c 00000064 00010000 0002 0001 0002 0003 0005 0005 00000060', {
    type: 3,
    cumulativeTsnAck: 100,
    advertisedReceiverWindow: 0x10000,
    gapBlocks: [
      { start: 2, end: 3 },
      { start: 5, end: 5 },
    ],
    duplicateTsns: [0x60],
  });
});

test('HEARTBEAT and HEARTBEAT ACK carry the Heartbeat Info value', (t) => {
  both(t, '04 00 000d 0001 0009 0102030405 000000', { type: 4, info: hex('0102030405') });
  both(t, '05 00 000c 0001 0008 aabbccdd', { type: 5, info: hex('aabbccdd') });
});

test('ABORT with T bit and two causes; ERROR with Unrecognized Chunk Type', (t) => {
  both(t, '06 01 0013 000c 0008 62796521 000d 0007 626164 00', {
    type: 6,
    reflectedTag: true,
    causes: [
      { code: 12, info: ascii('bye!') },
      { code: 13, info: ascii('bad') },
    ],
  });
  both(t, '06 00 0004', { type: 6, reflectedTag: false, causes: [] });
  both(t, '09 00 0010 0006 000c c5000008aabbccdd', {
    type: 9,
    reflectedTag: false,
    causes: [{ code: 6, info: hex('c5000008aabbccdd') }],
  });
});

test('SHUTDOWN, SHUTDOWN ACK, COOKIE ACK, SHUTDOWN COMPLETE', (t) => {
  both(t, '07 00 0008 12345678', { type: 7, cumulativeTsnAck: 0x12345678 });
  both(t, '08 00 0004', { type: 8, reflectedTag: false });
  both(t, '0b 00 0004', { type: 11, reflectedTag: false });
  both(t, '0e 01 0004', { type: 14, reflectedTag: true });
  both(t, '0e 00 0004', { type: 14, reflectedTag: false });
});

test('COOKIE ECHO, ECNE, CWR', (t) => {
  both(t, '0a 00 000b a1a2a3a4a5a6a7 00', { type: 10, cookie: hex('a1a2a3a4a5a6a7') });
  both(t, '0c 00 0008 00000010', { type: 12, tsn: 0x10 });
  both(t, '0d 00 0008 00000011', { type: 13, tsn: 0x11 });
});

test('AUTH', (t) => {
  both(t, `0f 00 001c 0001 0001 ${seq(0x40, 20)}`, { type: 15, sharedKeyId: 1, hmacId: 1, hmac: bytes(0x40, 20) });
});

test('FORWARD TSN', (t) => {
  both(t, 'c0 00 0010 00000100 0001 0005 0002 0007', {
    type: 0xc0,
    newCumulativeTsn: 0x100,
    streams: [
      { streamId: 1, ssn: 5 },
      { streamId: 2, ssn: 7 },
    ],
  });
});

test('ASCONF with add-ip, set-primary, delete-ip and the baton takeover parameter', (t) => {
  const chunkHex = [
    'c1 00 0048 00000007',
    '0005 0008 0a000001',
    'c001 0010 00000001 0005 0008 0a000002',
    'c004 0010 00000002 0005 0008 0a000002',
    'c002 0010 00000003 0005 0008 0a000001',
    'baf2 0008 0000002a',
  ].join(' ');
  both(t, chunkHex, {
    type: 0xc1,
    serial: 7,
    address: { type: 5, kind: 'ipv4', address: '10.0.0.1' },
    params: [
      { type: 0xc001, kind: 'add-ip', correlationId: 1, address: { type: 5, kind: 'ipv4', address: '10.0.0.2' } },
      { type: 0xc004, kind: 'set-primary', correlationId: 2, address: { type: 5, kind: 'ipv4', address: '10.0.0.2' } },
      { type: 0xc002, kind: 'delete-ip', correlationId: 3, address: { type: 5, kind: 'ipv4', address: '10.0.0.1' } },
      { type: 0xbaf2, kind: 'baton-takeover', requestNumber: 42 },
    ],
  });
});

test('ASCONF with IPv6 addresses', (t) => {
  const chunkHex = [
    'c1 00 0038 ffffffff',
    '0006 0014 fe800000 00000000 00000000 00000001',
    'c001 001c 00000009 0006 0014 20010db8 00000000 00000000 00000002',
  ].join(' ');
  both(t, chunkHex, {
    type: 0xc1,
    serial: 0xffffffff,
    address: { type: 6, kind: 'ipv6', address: 'fe80::1' },
    params: [{ type: 0xc001, kind: 'add-ip', correlationId: 9, address: { type: 6, kind: 'ipv6', address: '2001:db8::2' } }],
  });
});

test('ASCONF-ACK with success and error-cause', (t) => {
  const chunkHex = [
    '80 00 002c 00000007',
    'c005 0008 00000001',
    'c003 001c 00000003 00a2 0014 c002 0010 00000003 0005 0008 0a000001',
  ].join(' ');
  both(t, chunkHex, {
    type: 0x80,
    serial: 7,
    params: [
      { type: 0xc005, kind: 'success', correlationId: 1 },
      { type: 0xc003, kind: 'error-cause', correlationId: 3, causes: [{ code: 0xa2, info: hex('c002001000000003000500080a000001') }] },
    ],
  });
});

test('several chunks bundled: COOKIE ECHO + DATA, each padded', (t) => {
  const wire = pkt('0a 00 0005 ff 000000  00 03 0011 00000001 0000 0000 00000000 aa 000000');
  const r = parsePacket(wire);
  if (!r.ok) return t.fail(r.error.code);
  t.is(r.packet.chunks.length, 2);
  t.deepEqual(r.packet.chunks[0], { type: 10, cookie: hex('ff') });
  t.is(toHex(emitPacket(r.packet)), toHex(wire));
});

test('the last chunk may lack its padding', (t) => {
  const wire = pkt('0a 00 0005 ff');
  const r = parsePacket(wire);
  t.true(r.ok);
  if (r.ok) t.deepEqual(r.packet.chunks, [{ type: 10, cookie: hex('ff') }]);
});

// ------------------------------------------------------------------------------------ unknowns

test('unknown chunk is kept with flags and raw bytes; skip types let parsing go on', (t) => {
  const wire = pkt('c5 a5 0007 010203 00  0b 00 0004');
  const r = parsePacket(wire);
  if (!r.ok) return t.fail(r.error.code);
  t.deepEqual(r.packet.chunks, [
    { type: 0xc5, kind: 'unknown', flags: 0xa5, raw: hex('c5a50007010203') },
    { type: 11, reflectedTag: false },
  ]);
  t.is(toHex(emitPacket(r.packet)), toHex(wire));
  t.is(unknownChunkAction(0xc5), 'skip-report');
});

test('unknown chunk with stop bits ends the chunk list', (t) => {
  const r = parsePacket(pkt('40 00 0004  ff ff 0000')); // garbage after it is not examined
  if (!r.ok) return t.fail(r.error.code);
  t.deepEqual(r.packet.chunks, [{ type: 0x40, kind: 'unknown', flags: 0, raw: hex('40000004') }]);
  t.is(unknownChunkAction(0x40), 'stop-report');
  t.is(unknownChunkAction(0x3f), 'stop');
  t.is(unknownChunkAction(0x84), 'skip');
});

test('unknown parameter kept; one with stop bits ends the parameter list', (t) => {
  const r = parsePacket(pkt('01 00 0024 00000001 00001000 0001 0001 00000001 c123 0006 abcd 0000 4123 0004 ffff ffff'));
  if (!r.ok) return t.fail(r.error.code);
  const init = r.packet.chunks[0] as InitChunk;
  t.deepEqual(init.params, [
    { type: 0xc123, kind: 'unknown', value: hex('abcd') },
    { type: 0x4123, kind: 'unknown', value: hex('') },
  ]);
  t.is(unknownParamAction(0xc123), 'skip-report');
  t.is(unknownParamAction(0x4123), 'stop-report');
  t.is(unknownParamAction(0x0123), 'stop');
  t.is(unknownParamAction(0xbaf1), 'skip');
  t.is(unknownParamAction(0xbaf2), 'skip');
});

// -------------------------------------------------------------------------------------- errors

function code(t: import('ava').ExecutionContext, b: Uint8Array, want: WireErrorCode, opts?: { verifyChecksum?: boolean }): void {
  const r = parsePacket(b, opts);
  t.false(r.ok, `expected ${want}`);
  if (!r.ok) t.is(r.error.code, want);
}

test('too short, bad checksum, no chunks', (t) => {
  code(t, new Uint8Array(0), 'SCTP_WIRE_SHORT');
  code(t, hex('1388 1389 deadbeef 000000'), 'SCTP_WIRE_SHORT');
  const good = pkt('0b 00 0004');
  const bad = good.slice();
  bad[13] = 1; // the flags byte: only the checksum catches it
  code(t, bad, 'SCTP_WIRE_CHECKSUM');
  t.true(parsePacket(bad, { verifyChecksum: false }).ok);
  code(t, pkt(''), 'SCTP_WIRE_NO_CHUNKS');
  code(t, pkt('0b 00'), 'SCTP_WIRE_SHORT');
});

test('every truncation of valid packets is rejected, unless it ends at a chunk end', (t) => {
  const samples = [
    '01 00 0024 00000001 00001000 0001 0001 00000001 8002 0008 01020304 000c 0006 0005 0000',
    '00 03 0015 00000001 0002 0003 00000033 68656c6c6f 000000',
    '03 00 001c 00000064 00010000 0002 0001 0002 0003 0005 0005 00000060',
    'c1 00 0020 00000007 0005 0008 0a000001 c001 0010 00000001 0005 0008 0a000002',
    '80 00 001a 00000007 c003 0012 00000003 000c 000a 627965212121 0000',
    '0a 00 0006 abcd 0000 0f 00 001c 0001 0001 ' + seq(0, 20),
  ];
  for (const sample of samples) {
    const full = pkt(sample);
    const r = parsePacket(full);
    if (!r.ok) return t.fail(`${sample}: ${r.error.code}`);
    const spans = chunkSpans(full);
    if (!spans.ok) return t.fail();
    for (let cut = 0; cut < full.length; cut++) {
      const b = full.slice(0, cut);
      if (cut >= 12) finalizeChecksum(b);
      const c = parsePacket(b);
      // A cut that only drops whole chunks and/or the padding of the new last chunk leaves a
      // valid packet: its chunks are a prefix of the original's. Any other cut is an error.
      const kept = spans.spans.findIndex((s) => cut >= s.offset + s.length && cut <= s.offset + ((s.length + 3) & ~3));
      if (kept >= 0) {
        t.true(c.ok, `${sample} cut at ${cut} only drops padding / whole chunks`);
        if (c.ok) t.deepEqual(c.packet.chunks, r.packet.chunks.slice(0, kept + 1));
      } else {
        t.false(c.ok, `${sample} cut at ${cut}`);
      }
    }
  }
});

test('impossible chunk lengths', (t) => {
  code(t, pkt('0b 00 0000'), 'SCTP_WIRE_CHUNK_LENGTH');
  code(t, pkt('0b 00 0003'), 'SCTP_WIRE_CHUNK_LENGTH');
  code(t, pkt('0a 00 0009 ffff'), 'SCTP_WIRE_CHUNK_LENGTH'); // beyond the packet
  code(t, pkt('00 03 000c 00000001 00000000'), 'SCTP_WIRE_CHUNK_LENGTH'); // DATA shorter than its header
  code(t, pkt('01 00 0010 00000001 00001000 00010001'), 'SCTP_WIRE_CHUNK_LENGTH');
  code(t, pkt('03 00 0014 00000064 00010000 0002 0000 0002 0003'), 'SCTP_WIRE_CHUNK_LENGTH'); // 2 gaps, room for 1
  code(t, pkt('07 00 0004'), 'SCTP_WIRE_CHUNK_LENGTH');
  code(t, pkt('c0 00 000a 00000100 0001'), 'SCTP_WIRE_CHUNK_LENGTH');
  code(t, pkt('0f 00 0006 0001'), 'SCTP_WIRE_CHUNK_LENGTH');
  code(t, pkt('80 00 0006 0000'), 'SCTP_WIRE_CHUNK_LENGTH');
  // A middle chunk that lost its padding misaligns the next one.
  code(t, pkt('0a 00 0005 ff 0b 00 0004'), 'SCTP_WIRE_SHORT');
});

test('impossible parameter lengths and malformed contents', (t) => {
  const init = (params: string, len: number): Uint8Array =>
    pkt(`01 00 ${len.toString(16).padStart(4, '0')} 00000001 00001000 0001 0001 00000001 ${params}`);
  code(t, init('0005 0003 0a00', 26), 'SCTP_WIRE_PARAM_LENGTH'); // length < 4
  code(t, init('0005 000c 0a000001', 28), 'SCTP_WIRE_PARAM_LENGTH'); // beyond the chunk
  code(t, init('0005 0006 0a00', 26), 'SCTP_WIRE_PARAM_LENGTH'); // IPv4 must be 8
  code(t, init('0006 0008 0a000001', 28), 'SCTP_WIRE_PARAM_LENGTH'); // IPv6 must be 20
  code(t, init('8004 0007 000300', 27), 'SCTP_WIRE_PARAM_LENGTH'); // odd HMAC-ALGO list
  code(t, init('baf1 0008 00000000', 28), 'SCTP_WIRE_PARAM_LENGTH'); // x25519 key must be 32 bytes
  code(t, init('8000 0004 00', 25), 'SCTP_WIRE_PARAM_LENGTH'); // a truncated TLV header
  code(t, pkt('04 00 0008 0002 0004'), 'SCTP_WIRE_MALFORMED'); // HEARTBEAT without Heartbeat Info
  code(t, pkt('06 00 000a 000c 0009 6279'), 'SCTP_WIRE_PARAM_LENGTH'); // cause beyond the chunk
  code(t, pkt('c1 00 0010 00000001 c005 0008 00000001'), 'SCTP_WIRE_MALFORMED'); // ASCONF without address
  code(t, pkt('c1 00 0018 00000001 0005 0008 0a000001 c001 0008 00000001'), 'SCTP_WIRE_PARAM_LENGTH');
  code(t, pkt('80 00 0010 00000001 c005 000c 00000001'), 'SCTP_WIRE_PARAM_LENGTH');
});

test('WireError carries code, message and offset and is a BatonError', (t) => {
  const r = parsePacket(pkt('0b 00 0004 0a 00 0009 ffff'));
  if (r.ok) return t.fail();
  t.is(r.error.code, 'SCTP_WIRE_CHUNK_LENGTH');
  t.is(r.error.offset, 16);
  t.true(r.error instanceof Error);
  t.regex(r.error.message, /chunk length 9/);
});

// ------------------------------------------------------------------------------ header peeking

test('parsePacketHeader, peekVerificationTag, peekFirstChunkType', (t) => {
  const wire = pkt('01 00 0014 00000001 00001000 0001 0001 00000001', '00000000');
  const h = parsePacketHeader(wire);
  t.true(h.ok);
  if (h.ok) t.deepEqual(h.header, { sourcePort: 5000, destinationPort: 5001, verificationTag: 0, checksum: computeChecksum(wire) });
  t.is(peekVerificationTag(pkt('0b000004')), 0xdeadbeef);
  t.is(peekVerificationTag(new Uint8Array(11)), undefined);
  t.is(peekFirstChunkType(wire), 1);
  t.is(peekFirstChunkType(new Uint8Array(12)), undefined);
  t.false(parsePacketHeader(new Uint8Array(5)).ok);
});

test('chunkSpans: the checked layout without decoding', (t) => {
  const r = chunkSpans(pkt('0a 00 0005 ff 000000  c5 07 0004  00 03 0011 00000001 0000 0000 00000000 aa'));
  t.deepEqual(r, {
    ok: true,
    spans: [
      { type: 10, flags: 0, offset: 12, length: 5 },
      { type: 0xc5, flags: 7, offset: 20, length: 4 },
      { type: 0, flags: 3, offset: 24, length: 17 },
    ],
  });
  const bad = chunkSpans(pkt('0a 00 0003'));
  t.is(bad.ok ? '' : bad.error.code, 'SCTP_WIRE_CHUNK_LENGTH');
  const none = chunkSpans(pkt(''));
  t.is(none.ok ? '' : none.error.code, 'SCTP_WIRE_NO_CHUNKS');
  t.false(chunkSpans(new Uint8Array(3)).ok);
});

test('isUnknownChunk / asKnownChunk', (t) => {
  const r = parsePacket(pkt('c5 00 0004 0b 00 0004'));
  if (!r.ok) return t.fail();
  const [unknown, cookieAck] = r.packet.chunks;
  t.true(isUnknownChunk(unknown!));
  t.is(asKnownChunk(unknown!), undefined);
  t.false(isUnknownChunk(cookieAck!));
  const k = asKnownChunk(cookieAck!);
  t.is(k?.type === 11 ? k.reflectedTag : undefined, false);
});

// ------------------------------------------------------------------------------------------ AUTH

test('AUTH region: offsets of the HMAC field and of the covered bytes', (t) => {
  // COOKIE ECHO (not covered), AUTH (covered, HMAC zeroed), DATA (covered).
  const wire = pkt(`0a 00 0006 abcd 0000  0f 00 001c 0002 0001 ${seq(0x40, 20)}  00 03 0011 00000001 0000 0000 00000000 aa 000000`);
  const region = authenticatedRegion(wire);
  t.deepEqual(region, { authStart: 20, hmacOffset: 28, hmacLength: 20, end: wire.length, sharedKeyId: 2, hmacId: 1 });
  const input = authenticatedBytes(wire, region!);
  t.is(toHex(input), `0f00001c00020001${'00'.repeat(20)}000300110000000100000000000000000aa000000`.replace('0aa', 'aa'));
  t.is(wire[28], 0x40, 'the input is a copy; the packet keeps its HMAC');
  t.is(authenticatedRegion(pkt('0b 00 0004')), undefined);
  t.is(authenticatedRegion(pkt('0f 00 0006 0001')), undefined);
});

test('emitPacketWithAuth + signPacket produce a packet the receiver verifies', (t) => {
  const key = ascii('shared association key');
  const packet = packetOf(
    { type: 15, sharedKeyId: 0, hmacId: 3, hmac: new Uint8Array(32) },
    {
      type: 0xc1,
      serial: 1,
      address: { type: 5, kind: 'ipv4', address: '127.0.0.2' },
      params: [{ type: 0xbaf2, kind: 'baton-takeover', requestNumber: 7 }],
    },
  );
  const { bytes: out, auth } = emitPacketWithAuth(packet);
  if (!auth) return t.fail('no region');
  t.is(auth.authStart, 12);
  t.is(auth.hmacOffset, 20);
  t.is(auth.hmacLength, 32);
  t.deepEqual(auth, authenticatedRegion(out));
  const mac = createHmac('sha256', key).update(out.subarray(auth.authStart, auth.end)).digest();
  signPacket(out, auth, new Uint8Array(mac));
  t.true(verifyChecksum(out));
  // Receiver side.
  const r = parsePacket(out);
  if (!r.ok) return t.fail(r.error.code);
  const region = authenticatedRegion(out)!;
  const expect = createHmac('sha256', key).update(authenticatedBytes(out, region)).digest();
  t.is(toHex((r.packet.chunks[0] as AuthChunk).hmac), expect.toString('hex'));
  t.throws(() => signPacket(out, auth, new Uint8Array(20)));
  t.is(emitPacketWithAuth(packetOf({ type: 11, reflectedTag: false })).auth, undefined);
});

// ------------------------------------------------------------------------ params, causes, chunks

test('emitParam, emitErrorCause, emitChunk', (t) => {
  t.is(toHex(emitParam({ type: 5, kind: 'ipv4', address: '192.168.1.2' })), '00050008c0a80102');
  t.is(toHex(emitParam({ type: 0x8003, kind: 'chunks', chunkTypes: [0xc1] })), '80030005c1');
  t.is(toHex(emitErrorCause({ code: 1, info: hex('00050000') })), '0001000800050000');
  t.is(toHex(emitChunk({ type: 10, cookie: hex('01') })), '0a00000501000000');
  t.is(toHex(emitChunk({ type: 0xfe, kind: 'unknown', flags: 3, raw: hex('fe030006beef') })), 'fe030006beef0000');
});

test('emit rejects an address that is not one (local misuse)', (t) => {
  const err = t.throws(() => emitParam({ type: 5, kind: 'ipv4', address: '::1' }));
  t.is((err as { code?: string }).code, 'BATON_ERR_USAGE');
  t.throws(() => emitParam({ type: 6, kind: 'ipv6', address: '1.2.3.4' }));
});

test('emit refuses chunks and parameters longer than their 16-bit length field', (t) => {
  const big = new Uint8Array(0x10000);
  const e1 = t.throws(() => emitPacket(packetOf({ type: 10, cookie: big })));
  t.is((e1 as { code?: string }).code, 'BATON_ERR_USAGE');
  t.throws(() => emitParam({ type: 7, kind: 'state-cookie', cookie: big }));
  t.throws(() => emitErrorCause({ code: 13, info: big }));
  // The largest that fits is fine.
  t.is(emitChunk({ type: 10, cookie: new Uint8Array(0xffff - 4) }).length, 0x10000);
  t.throws(() => emitChunk({ type: 0x99 } as unknown as Chunk), { message: /not a known chunk/ });
});

test('a Node Buffer input parses into plain Uint8Array views of the same memory', (t) => {
  const wire = Buffer.from(pkt('0a 00 0006 abcd 0000'));
  const r = parsePacket(wire);
  if (!r.ok) return t.fail(r.error.code);
  const cookie = (r.packet.chunks[0] as { cookie: Uint8Array }).cookie;
  t.is(cookie.constructor, Uint8Array);
  t.is(cookie.buffer, wire.buffer);
  t.deepEqual(cookie, hex('abcd'));
});

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
