// Fixed-byte tests of the SCTP wire layer: every chunk, parameter and cause both ways
// (Repr → emit → hand-written hex; hex → parse → Repr), bundling, padding, unknown chunks and
// parameters kept raw. Errors: sctp-wire-errors; CRC and AUTH: sctp-wire-crc-auth.
import test from 'ava';
import {
  chunkLength,
  emitPacket,
  parsePacket,
  unknownChunkAction,
  unknownParamAction,
  type Chunk,
  type DataChunk,
  type InitChunk,
} from '../src/sctp/wire/index.js';
import { hex, toHex, seq, bytes, ascii, pkt, packetOf } from './helpers/sctp-bytes.js';

function both(t: import('ava').ExecutionContext, chunkHex: string, chunk: Chunk): void {
  const wire = pkt(chunkHex);
  t.is(toHex(emitPacket(packetOf(chunk))), toHex(wire), 'emit');
  const r = parsePacket(wire);
  if (!r.ok) return t.fail(`parse: ${r.error.code} ${r.error.message}`);
  t.deepEqual(r.packet, packetOf(chunk), 'parse');
  t.is(chunkLength(chunk), wire.length - 12, 'chunkLength is padded');
}

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
