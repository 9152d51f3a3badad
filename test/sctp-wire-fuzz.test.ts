// Seeded fuzz of the SCTP wire layer: random valid packets round-trip exactly, and tens of
// thousands of mutated or random byte strings never make parsePacket throw; whatever parses
// re-emits to a fixed point: parse(emit(parse(x))) deep-equals parse(x), and emitting that again
// gives the same bytes.
import test from 'ava';
import { isDeepStrictEqual } from 'node:util';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import {
  authenticatedBytes,
  authenticatedRegion,
  chunkSpans,
  emitPacket,
  parsePacketHeader,
  peekFirstChunkType,
  peekVerificationTag,
  finalizeChecksum,
  parsePacket,
  type AsconfParam,
  type Chunk,
  type ErrorCause,
  type Packet,
  type Param,
} from '../src/sctp/wire/index.js';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

class Gen {
  constructor(readonly r: SeededRandom) {}
  int(n: number): number {
    return Math.floor(this.r.float() * n);
  }
  u8 = (): number => this.int(256);
  u16 = (): number => this.int(0x10000);
  u32 = (): number => this.r.uint32();
  bool = (): boolean => this.int(2) === 1;
  bytes = (max: number): Uint8Array => this.r.bytes(this.int(max + 1));
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  list<T>(max: number, f: () => T): T[] {
    return Array.from({ length: this.int(max + 1) }, f);
  }
  ipv4(): string {
    return [this.u8(), this.u8(), this.u8(), this.u8()].join('.');
  }
  ipv6(): string {
    // Runs of zeros exercise the "::" compression.
    return Array.from({ length: 8 }, () => (this.int(3) === 0 ? 0 : this.u16()).toString(16)).join(':');
  }
  address(): Param {
    return this.bool() ? { type: 5, kind: 'ipv4', address: this.ipv4() } : { type: 6, kind: 'ipv6', address: canonical6(this.ipv6()) };
  }
  cause = (): ErrorCause => ({ code: this.u16(), info: this.bytes(12) });
  param = (): Param => {
    switch (this.int(16)) {
      case 0: return { type: 1, kind: 'heartbeat-info', info: this.bytes(20) };
      case 1: return { type: 5, kind: 'ipv4', address: this.ipv4() };
      case 2: return { type: 6, kind: 'ipv6', address: canonical6(this.ipv6()) };
      case 3: return { type: 7, kind: 'state-cookie', cookie: this.bytes(40) };
      case 4: return { type: 8, kind: 'unrecognized-parameter', parameter: this.bytes(10) };
      case 5: return { type: 9, kind: 'cookie-preservative', increment: this.u32() };
      case 6: return { type: 12, kind: 'supported-address-types', types: this.list(3, this.u16) };
      case 7: return { type: 0x8000, kind: 'ecn-capable' };
      case 8: return { type: 0x8002, kind: 'random', random: this.bytes(36) };
      case 9: return { type: 0x8003, kind: 'chunks', chunkTypes: this.list(5, this.u8) };
      case 10: return { type: 0x8004, kind: 'hmac-algo', hmacIds: this.list(3, this.u16) };
      case 11: return { type: 0x8008, kind: 'supported-extensions', chunkTypes: this.list(5, this.u8) };
      case 12: return { type: 0xc000, kind: 'forward-tsn-supported' };
      case 13: return { type: 0xc006, kind: 'adaptation-layer', indication: this.u32() };
      case 14: return { type: 0xbaf1, kind: 'baton-x25519', publicKey: this.r.bytes(32) };
      // Unknown types with skip bits (stop bits end the list, so they only come last).
      default: return { type: 0x8100 + this.int(0x100), kind: 'unknown', value: this.bytes(9) };
    }
  };
  asconfParam = (): AsconfParam => {
    switch (this.int(6)) {
      case 0: return { type: 0xc001, kind: 'add-ip', correlationId: this.u32(), address: this.address() };
      case 1: return { type: 0xc002, kind: 'delete-ip', correlationId: this.u32(), address: this.address() };
      case 2: return { type: 0xc004, kind: 'set-primary', correlationId: this.u32(), address: this.address() };
      case 3: return { type: 0xc005, kind: 'success', correlationId: this.u32() };
      case 4: return { type: 0xc003, kind: 'error-cause', correlationId: this.u32(), causes: this.list(2, this.cause) };
      default: return { type: 0xbaf2, kind: 'baton-takeover', requestNumber: this.u32() };
    }
  };
  chunk = (): Chunk => {
    switch (this.int(18)) {
      case 0:
      case 1:
        return {
          type: 0,
          immediate: this.bool(),
          unordered: this.bool(),
          beginning: this.bool(),
          ending: this.bool(),
          tsn: this.u32(),
          streamId: this.u16(),
          ssn: this.u16(),
          ppid: this.u32(),
          userData: this.bytes(60),
        };
      case 2:
      case 3:
        return {
          type: this.pick([1, 2] as const),
          initiateTag: this.u32(),
          advertisedReceiverWindow: this.u32(),
          outboundStreams: this.u16(),
          inboundStreams: this.u16(),
          initialTsn: this.u32(),
          params: this.list(6, this.param),
        };
      case 4:
        return {
          type: 3,
          cumulativeTsnAck: this.u32(),
          advertisedReceiverWindow: this.u32(),
          gapBlocks: this.list(4, () => ({ start: this.u16(), end: this.u16() })),
          duplicateTsns: this.list(3, this.u32),
        };
      case 5: return { type: this.pick([4, 5] as const), info: this.bytes(30) };
      case 6: return { type: 6, reflectedTag: this.bool(), causes: this.list(3, this.cause) };
      case 7: return { type: 9, reflectedTag: false, causes: this.list(3, this.cause) };
      case 8: return { type: 7, cumulativeTsnAck: this.u32() };
      case 9: return { type: this.pick([8, 11] as const), reflectedTag: false };
      case 10: return { type: 14, reflectedTag: this.bool() };
      case 11: return { type: 10, cookie: this.bytes(50) };
      case 12: return { type: this.pick([12, 13] as const), tsn: this.u32() };
      case 13: return { type: 15, sharedKeyId: this.u16(), hmacId: this.pick([1, 3]), hmac: this.r.bytes(this.pick([20, 32])) };
      case 14:
        return { type: 0xc0, newCumulativeTsn: this.u32(), streams: this.list(4, () => ({ streamId: this.u16(), ssn: this.u16() })) };
      case 15: return { type: 0xc1, serial: this.u32(), address: this.address(), params: this.list(5, this.asconfParam) };
      case 16: return { type: 0x80, serial: this.u32(), params: this.list(5, this.asconfParam) };
      default: {
        // Unknown chunk types with skip bits (10 or 11) and a type no one defines (0x84 is PAD now).
        const type = this.pick([0x86, 0x85, 0xc5, 0xfe]);
        const raw = this.bytes(20);
        const full = new Uint8Array(4 + raw.length);
        full[0] = type;
        full[1] = this.u8();
        full[2] = full.length >>> 8;
        full[3] = full.length & 0xff;
        full.set(raw, 4);
        return { type, kind: 'unknown', flags: full[1]!, raw: full };
      }
    }
  };
  packet = (): Packet => ({
    sourcePort: this.u16(),
    destinationPort: this.u16(),
    verificationTag: this.u32(),
    chunks: Array.from({ length: 1 + this.int(4) }, this.chunk),
  });
}

function canonical6(text: string): string {
  // Let the codec itself canonicalise: parse what it emits.
  const r = parsePacket(
    emitPacket({ sourcePort: 1, destinationPort: 1, verificationTag: 1, chunks: [{ type: 0xc1, serial: 0, address: { type: 6, kind: 'ipv6', address: text }, params: [] }] }),
  );
  if (!r.ok) throw new Error('canonical6');
  return ((r.packet.chunks[0] as { address: { address: string } }).address).address;
}

test('random valid packets: parse(emit(repr)) equals repr and emit is a fixed point', (t) => {
  const g = new Gen(new SeededRandom(0x5c7f));
  let mismatches = 0;
  for (let i = 0; i < 3000; i++) {
    const p = g.packet();
    const wire = emitPacket(p);
    const r = parsePacket(wire);
    if (!r.ok) {
      t.fail(`#${i}: ${r.error.code} ${r.error.message}`);
      return;
    }
    if (i < 500) t.deepEqual(r.packet, p, `#${i}`);
    if (toHex(emitPacket(r.packet)) !== toHex(wire)) mismatches++;
  }
  t.is(mismatches, 0);
});

/** One mutation of a valid packet, checksum refreshed most of the time so the chunk walk is reached. */
function mutate(g: Gen, src: Uint8Array): Uint8Array {
  let b = src.slice();
  const rounds = 1 + g.int(4);
  for (let k = 0; k < rounds; k++) {
    switch (g.int(7)) {
      case 0: // flip a bit
        if (b.length) b[g.int(b.length)]! ^= 1 << g.int(8);
        break;
      case 1: // a random byte
        if (b.length) b[g.int(b.length)] = g.u8();
        break;
      case 2: // truncate
        b = b.slice(0, g.int(b.length + 1));
        break;
      case 3: { // append junk
        const extra = g.bytes(16);
        const n = new Uint8Array(b.length + extra.length);
        n.set(b);
        n.set(extra, b.length);
        b = n;
        break;
      }
      case 4: // a length-looking field (any 16-bit word at an even offset past the header) gets a nasty value
        if (b.length > 14) {
          const o = 12 + 2 * g.int((b.length - 13) >> 1);
          const v = g.pick([0, 1, 3, 4, 5, 7, 8, 0xffff, 0xfffc, b.length - o, b.length - o + 1, g.u16()]);
          b[o] = v >>> 8;
          b[o + 1] = v & 0xff;
        }
        break;
      case 5: // a chunk type byte changes (every type, including the ones parsed specially)
        if (b.length > 12) b[12 + g.int(Math.min(b.length - 12, 64))] = g.pick([0, 1, 2, 3, 4, 6, 9, 10, 15, 0x80, 0xc0, 0xc1, g.u8()]);
        break;
      default: { // duplicate a slice somewhere else
        if (b.length > 16) {
          const s = 12 + g.int(b.length - 12);
          const e = s + g.int(b.length - s);
          const at = 12 + g.int(b.length - 12);
          b.set(b.slice(s, e).subarray(0, b.length - at), at);
        }
      }
    }
  }
  if (b.length >= 12 && g.int(10) !== 0) finalizeChecksum(b);
  return b;
}

test('60k mutated and random inputs: parsePacket (and the cheap looks) never throw, and re-emission is a fixed point', (t) => {
  const g = new Gen(new SeededRandom(20261127));
  const corpus: Uint8Array[] = Array.from({ length: 400 }, () => emitPacket(g.packet()));
  let thrown = 0;
  let accepted = 0;
  let unstable = 0;
  const codes = new Map<string, number>();
  const firstFailure: string[] = [];
  for (let i = 0; i < 60_000; i++) {
    let x: Uint8Array;
    if (i % 5 === 4) {
      x = g.r.bytes(g.int(120)); // fully random
      if (x.length >= 12 && g.bool()) finalizeChecksum(x);
    } else {
      x = mutate(g, g.pick(corpus));
    }
    let r: ReturnType<typeof parsePacket>;
    try {
      r = parsePacket(x, { verifyChecksum: g.int(8) !== 0 });
      // The cheap looks must not throw either.
      chunkSpans(x);
      const region = authenticatedRegion(x);
      if (region) authenticatedBytes(x, region);
      parsePacketHeader(x);
      peekVerificationTag(x);
      peekFirstChunkType(x);
    } catch (e) {
      thrown++;
      if (firstFailure.length < 3) firstFailure.push(`throw on ${toHex(x)}: ${String(e)}`);
      continue;
    }
    if (!r.ok) {
      codes.set(r.error.code, (codes.get(r.error.code) ?? 0) + 1);
      continue;
    }
    accepted++;
    try {
      const once = emitPacket(r.packet);
      const again = parsePacket(once);
      if (!again.ok || !isDeepStrictEqual(again.packet, r.packet) || toHex(emitPacket(again.packet)) !== toHex(once)) {
        unstable++;
        if (firstFailure.length < 3) firstFailure.push(`unstable: ${toHex(x)}`);
      }
    } catch (e) {
      unstable++;
      if (firstFailure.length < 3) firstFailure.push(`emit threw on ${toHex(x)}: ${String(e)}`);
    }
  }
  t.deepEqual(firstFailure, []);
  t.is(thrown, 0);
  t.is(unstable, 0);
  // The corpus must exercise both sides: many accepted inputs and every kind of rejection.
  t.true(accepted > 5000, `accepted ${accepted}`);
  for (const c of ['SCTP_WIRE_SHORT', 'SCTP_WIRE_CHECKSUM', 'SCTP_WIRE_CHUNK_LENGTH', 'SCTP_WIRE_PARAM_LENGTH', 'SCTP_WIRE_MALFORMED']) {
    t.true((codes.get(c) ?? 0) > 0, `never saw ${c}`);
  }
  t.log(`accepted ${accepted}`, Object.fromEntries(codes));
});
