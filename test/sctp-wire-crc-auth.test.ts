// CRC32c (RFC 3720 B.4 vectors, a bitwise reference, an independent implementation's packet)
// and the AUTH region (RFC 4895 §6.2): what the HMAC covers, emitting and signing.
import test from 'ava';
import { createHmac } from 'node:crypto';
import {
  authenticatedBytes,
  authenticatedRegion,
  computeChecksum,
  crc32c,
  emitPacket,
  emitPacketWithAuth,
  finalizeChecksum,
  parsePacket,
  signPacket,
  verifyChecksum,
  type AuthChunk,
  type InitChunk,
} from '../src/sctp/wire/index.js';
import { hex, toHex, seq, bytes, ascii, pkt, packetOf } from './helpers/sctp-bytes.js';

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

/** CRC32c one bit at a time (reflected polynomial 0x82f63b78): the reference for the table version. */
function bitwiseCrc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test('crc32c: every length and alignment agrees with a bitwise reference', (t) => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff);
  for (let start = 0; start < 9; start++) {
    for (let len = 0; len < 100; len++) t.is(crc32c(data, start, start + len), bitwiseCrc32c(data.subarray(start, start + len)));
  }
});

test('crc32c: long buffers and split updates agree with the bitwise reference', (t) => {
  const data = Uint8Array.from({ length: 9000 }, (_, i) => (i * 2654435761) >>> 24);
  t.is(crc32c(data), bitwiseCrc32c(data));
  t.is(crc32c(data, 3, 8999), bitwiseCrc32c(data.subarray(3, 8999)));
  t.is(crc32c(data.subarray(1401, 2801)), bitwiseCrc32c(data.subarray(1401, 2801)));
});

test('crc32c: the word-at-a-time path agrees with the reference for every view offset, start and length', (t) => {
  // Views at byteOffset 0..7 (aligned and not), so both the 16-byte word loop and its byte-wise
  // head and tail are checked, as well as the byte-read fallback below 64 bytes.
  const backing = Uint8Array.from({ length: 400 }, (_, i) => (i * 2654435761) >>> 24);
  for (let viewOffset = 0; viewOffset < 8; viewOffset++) {
    const view = backing.subarray(viewOffset);
    for (let start = 0; start < 5; start++) {
      for (let len = 56; len < 200; len += 3) t.is(crc32c(view, start, start + len), bitwiseCrc32c(view.subarray(start, start + len)));
    }
  }
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
