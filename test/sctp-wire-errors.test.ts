// The ways bytes can be wrong (short, bad checksum, impossible lengths, truncations, malformed
// contents), the cheap looks used for routing, and local misuse on emit.
import test from 'ava';
import {
  asKnownChunk,
  chunkSpans,
  isUnknownChunk,
  computeChecksum,
  emitChunk,
  emitErrorCause,
  emitPacket,
  emitParam,
  finalizeChecksum,
  parsePacket,
  parsePacketHeader,
  peekFirstChunkType,
  peekVerificationTag,
  verifyChecksum,
  type Chunk,
  type WireErrorCode,
} from '../src/sctp/wire/index.js';
import { hex, toHex, seq, bytes, pkt, packetOf } from './helpers/sctp-bytes.js';

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
