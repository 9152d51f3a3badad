// Emission of SCTP packets and chunks (RFC 9260 §3). One allocation per packet: lengths are summed
// first, then every field is written straight into the buffer and the CRC32c is filled in last.
// Emitting a Repr that cannot be encoded (an invalid address string, a chunk or parameter longer
// than its 16-bit length field) is local misuse and throws LocalUsageError.
import { LocalUsageError } from '../../transport-abstraction/errors.js';
import { put16, put32, zero } from './bytes.js';
import { finalizeChecksum } from './crc32c.js';
import { Asconf, Auth, Chunk as C, Data, Ecn, FLAG_T, ForwardTsn, Header, Init, Sack, Shutdown, Tlv, pad4 } from './layout.js';
import type { AuthRegion } from './parse.js';
import {
  asconfParamLength,
  errorCauseLength,
  listLength,
  paramLength,
  writeAsconfParam,
  writeErrorCause,
  writeList,
  writeParam,
} from './params.js';
import { ChunkType, type Chunk, type DataChunk, type FlagOnlyChunk, type Packet, type UnknownChunk } from './types.js';

function isUnknown(c: Chunk): c is UnknownChunk {
  return (c as { kind?: string }).kind === 'unknown';
}

/** The chunk's length field: header + value, without the trailing padding. */
export function chunkValueLength(c: Chunk): number {
  if (isUnknown(c)) return Math.max(C.HEADER_LENGTH, c.raw.length);
  switch (c.type) {
    case ChunkType.DATA:
      return Data.USER_DATA + (c as DataChunk).userData.length;
    case ChunkType.INIT:
    case ChunkType.INIT_ACK:
      return Init.PARAMS + listLength((c as Extract<Chunk, { type: 1 | 2 }>).params, paramLength);
    case ChunkType.SACK: {
      const s = c as Extract<Chunk, { type: 3 }>;
      return Sack.GAP_BLOCKS + s.gapBlocks.length * Sack.GAP_BLOCK_LENGTH + s.duplicateTsns.length * Sack.DUPLICATE_TSN_LENGTH;
    }
    case ChunkType.HEARTBEAT:
    case ChunkType.HEARTBEAT_ACK:
      return C.VALUE + Tlv.HEADER_LENGTH + (c as Extract<Chunk, { type: 4 | 5 }>).info.length;
    case ChunkType.ABORT:
    case ChunkType.ERROR:
      return C.VALUE + listLength((c as Extract<Chunk, { type: 6 | 9 }>).causes, errorCauseLength);
    case ChunkType.SHUTDOWN:
      return Shutdown.LENGTH;
    case ChunkType.SHUTDOWN_ACK:
    case ChunkType.COOKIE_ACK:
    case ChunkType.SHUTDOWN_COMPLETE:
      return C.HEADER_LENGTH;
    case ChunkType.COOKIE_ECHO:
      return C.VALUE + (c as Extract<Chunk, { type: 10 }>).cookie.length;
    case ChunkType.ECNE:
    case ChunkType.CWR:
      return Ecn.LENGTH;
    case ChunkType.AUTH:
      return Auth.HMAC + (c as Extract<Chunk, { type: 15 }>).hmac.length;
    case ChunkType.FORWARD_TSN:
      return ForwardTsn.STREAMS + (c as Extract<Chunk, { type: 0xc0 }>).streams.length * ForwardTsn.STREAM_ENTRY_LENGTH;
    case ChunkType.ASCONF: {
      const a = c as Extract<Chunk, { type: 0xc1 }>;
      return Asconf.PARAMS + (a.params.length === 0 ? paramLength(a.address) : pad4(paramLength(a.address)) + listLength(a.params, asconfParamLength));
    }
    case ChunkType.ASCONF_ACK:
      return Asconf.PARAMS + listLength((c as Extract<Chunk, { type: 0x80 }>).params, asconfParamLength);
    case ChunkType.PAD: {
      const padding = (c as Extract<Chunk, { type: 0x84 }>).padding;
      if (!Number.isInteger(padding) || padding < 0) throw new LocalUsageError(`PAD chunk with ${padding} bytes of padding`);
      return C.HEADER_LENGTH + padding;
    }
    default:
      throw new LocalUsageError(`chunk type ${(c as Chunk).type} without kind 'unknown' is not a known chunk`);
  }
}

/** Bytes the chunk occupies in a packet, padding included. */
export function chunkLength(c: Chunk): number {
  return pad4(chunkValueLength(c));
}

/** Bytes of the packet emitPacket would produce. */
export function packetLength(p: Packet): number {
  let n = Header.LENGTH;
  for (let i = 0; i < p.chunks.length; i++) n += chunkLength(p.chunks[i]!);
  return n;
}

/** Write a chunk at b[o] with its padding zeroed; returns the padded length. */
export function writeChunk(b: Uint8Array, o: number, c: Chunk): number {
  const n = chunkValueLength(c);
  if (n > 0xffff) throw new LocalUsageError(`chunk type ${c.type} of ${n} bytes does not fit the 16-bit length field`);
  zero(b, o + n, o + pad4(n));
  if (isUnknown(c)) {
    b[o] = c.type;
    b[o + 1] = c.flags;
    put16(b, o + C.LENGTH, n);
    if (c.raw.length > C.HEADER_LENGTH) b.set(c.raw.subarray(C.HEADER_LENGTH), o + C.VALUE);
    return pad4(n);
  }
  b[o + C.TYPE] = c.type;
  b[o + C.FLAGS] = 0;
  put16(b, o + C.LENGTH, n);
  switch (c.type) {
    case ChunkType.DATA: {
      const d = c as DataChunk;
      b[o + C.FLAGS] =
        (d.immediate ? Data.FLAG_IMMEDIATE : 0) |
        (d.unordered ? Data.FLAG_UNORDERED : 0) |
        (d.beginning ? Data.FLAG_BEGINNING : 0) |
        (d.ending ? Data.FLAG_ENDING : 0);
      put32(b, o + Data.TSN, d.tsn);
      put16(b, o + Data.STREAM_ID, d.streamId);
      put16(b, o + Data.SSN, d.ssn);
      put32(b, o + Data.PPID, d.ppid);
      b.set(d.userData, o + Data.USER_DATA);
      break;
    }
    case ChunkType.INIT:
    case ChunkType.INIT_ACK: {
      const i = c as Extract<Chunk, { type: 1 | 2 }>;
      put32(b, o + Init.INITIATE_TAG, i.initiateTag);
      put32(b, o + Init.A_RWND, i.advertisedReceiverWindow);
      put16(b, o + Init.OUTBOUND_STREAMS, i.outboundStreams);
      put16(b, o + Init.INBOUND_STREAMS, i.inboundStreams);
      put32(b, o + Init.INITIAL_TSN, i.initialTsn);
      writeList(b, o + Init.PARAMS, i.params, writeParam);
      break;
    }
    case ChunkType.SACK: {
      const s = c as Extract<Chunk, { type: 3 }>;
      put32(b, o + Sack.CUMULATIVE_TSN_ACK, s.cumulativeTsnAck);
      put32(b, o + Sack.A_RWND, s.advertisedReceiverWindow);
      put16(b, o + Sack.GAP_BLOCK_COUNT, s.gapBlocks.length);
      put16(b, o + Sack.DUPLICATE_TSN_COUNT, s.duplicateTsns.length);
      let at = o + Sack.GAP_BLOCKS;
      for (const g of s.gapBlocks) {
        put16(b, at, g.start);
        put16(b, at + 2, g.end);
        at += Sack.GAP_BLOCK_LENGTH;
      }
      for (const t of s.duplicateTsns) {
        put32(b, at, t);
        at += Sack.DUPLICATE_TSN_LENGTH;
      }
      break;
    }
    case ChunkType.HEARTBEAT:
    case ChunkType.HEARTBEAT_ACK: {
      const h = c as Extract<Chunk, { type: 4 | 5 }>;
      writeParam(b, o + C.VALUE, { type: 1, kind: 'heartbeat-info', info: h.info });
      break;
    }
    case ChunkType.ABORT:
    case ChunkType.ERROR: {
      const a = c as Extract<Chunk, { type: 6 | 9 }>;
      if (a.type === ChunkType.ABORT && a.reflectedTag) b[o + C.FLAGS] = FLAG_T;
      writeList(b, o + C.VALUE, a.causes, writeErrorCause);
      break;
    }
    case ChunkType.SHUTDOWN:
      put32(b, o + Shutdown.CUMULATIVE_TSN_ACK, (c as Extract<Chunk, { type: 7 }>).cumulativeTsnAck);
      break;
    case ChunkType.SHUTDOWN_ACK:
    case ChunkType.COOKIE_ACK:
    case ChunkType.SHUTDOWN_COMPLETE: {
      const f = c as FlagOnlyChunk;
      if (f.type === ChunkType.SHUTDOWN_COMPLETE && f.reflectedTag) b[o + C.FLAGS] = FLAG_T;
      break;
    }
    case ChunkType.COOKIE_ECHO:
      b.set((c as Extract<Chunk, { type: 10 }>).cookie, o + C.VALUE);
      break;
    case ChunkType.ECNE:
    case ChunkType.CWR:
      put32(b, o + Ecn.TSN, (c as Extract<Chunk, { type: 12 | 13 }>).tsn);
      break;
    case ChunkType.AUTH: {
      const a = c as Extract<Chunk, { type: 15 }>;
      put16(b, o + Auth.SHARED_KEY_ID, a.sharedKeyId);
      put16(b, o + Auth.HMAC_ID, a.hmacId);
      b.set(a.hmac, o + Auth.HMAC);
      break;
    }
    case ChunkType.FORWARD_TSN: {
      const f = c as Extract<Chunk, { type: 0xc0 }>;
      put32(b, o + ForwardTsn.NEW_CUMULATIVE_TSN, f.newCumulativeTsn);
      let at = o + ForwardTsn.STREAMS;
      for (const s of f.streams) {
        put16(b, at, s.streamId);
        put16(b, at + 2, s.ssn);
        at += ForwardTsn.STREAM_ENTRY_LENGTH;
      }
      break;
    }
    case ChunkType.ASCONF: {
      const a = c as Extract<Chunk, { type: 0xc1 }>;
      put32(b, o + Asconf.SERIAL, a.serial);
      const an = writeParam(b, o + Asconf.PARAMS, a.address);
      zero(b, o + Asconf.PARAMS + an, o + Asconf.PARAMS + pad4(an));
      writeList(b, o + Asconf.PARAMS + pad4(an), a.params, writeAsconfParam);
      break;
    }
    case ChunkType.ASCONF_ACK: {
      const a = c as Extract<Chunk, { type: 0x80 }>;
      put32(b, o + Asconf.SERIAL, a.serial);
      writeList(b, o + Asconf.PARAMS, a.params, writeAsconfParam);
      break;
    }
    case ChunkType.PAD:
      zero(b, o + C.VALUE, o + n);
      break;
  }
  return pad4(n);
}

/** One chunk as bytes (padded to four), e.g. the raw chunk for an Unrecognized Chunk Type cause. */
export function emitChunk(c: Chunk): Uint8Array {
  const b = new Uint8Array(chunkLength(c));
  writeChunk(b, 0, c);
  return b;
}

/** Write the common header and chunks at b[0]; returns the packet length. The checksum is left 0. */
export function writePacket(b: Uint8Array, p: Packet): number {
  put16(b, Header.SOURCE_PORT, p.sourcePort);
  put16(b, Header.DESTINATION_PORT, p.destinationPort);
  put32(b, Header.VERIFICATION_TAG, p.verificationTag);
  put32(b, Header.CHECKSUM, 0);
  let o = Header.LENGTH;
  for (let i = 0; i < p.chunks.length; i++) o += writeChunk(b, o, p.chunks[i]!);
  return o;
}

/** The packet as bytes, CRC32c included. */
export function emitPacket(p: Packet): Uint8Array {
  const b = new Uint8Array(packetLength(p));
  writePacket(b, p);
  finalizeChecksum(b);
  return b;
}

/**
 * Emit a packet that carries an AUTH chunk: the HMAC field (as long as the Repr's `hmac`) is
 * zeroed and its place returned. Compute the HMAC over `bytes[auth.authStart, auth.end)` (as is:
 * the field is zero), then call `signPacket`. `auth` is undefined when there is no AUTH chunk; the
 * checksum is then already final.
 */
export function emitPacketWithAuth(p: Packet): { bytes: Uint8Array; auth: AuthRegion | undefined } {
  const b = new Uint8Array(packetLength(p));
  writePacket(b, p);
  let o = Header.LENGTH;
  for (const c of p.chunks) {
    if (c.type === ChunkType.AUTH && !isUnknown(c)) {
      const a = c as Extract<Chunk, { type: 15 }>;
      const auth: AuthRegion = {
        authStart: o,
        hmacOffset: o + Auth.HMAC,
        hmacLength: a.hmac.length,
        end: b.length,
        sharedKeyId: a.sharedKeyId,
        hmacId: a.hmacId,
      };
      b.fill(0, auth.hmacOffset, auth.hmacOffset + auth.hmacLength);
      return { bytes: b, auth };
    }
    o += chunkLength(c);
  }
  finalizeChecksum(b);
  return { bytes: b, auth: undefined };
}

/** Write the HMAC into the AUTH chunk and recompute the checksum. Throws if the length differs. */
export function signPacket(bytes: Uint8Array, auth: AuthRegion, hmac: Uint8Array): void {
  if (hmac.length !== auth.hmacLength) throw new RangeError(`HMAC of ${hmac.length} bytes for a ${auth.hmacLength}-byte field`);
  bytes.set(hmac, auth.hmacOffset);
  finalizeChecksum(bytes);
}
