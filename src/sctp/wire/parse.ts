// Checked parsing of SCTP packets (RFC 9260 §3) into the Reprs of types.ts. Never throws: every
// input yields either a Packet or a WireError with a stable code. Byte fields of the result
// (user data, cookies, HMACs, raw unknown chunks, ...) are subarrays of the input: zero copy, so
// they alias the caller's buffer and change if it is reused.
import { plain, u16, u32 } from './bytes.js';
import { verifyChecksum as checksumOk, readChecksum } from './crc32c.js';
import { WireError } from './errors.js';
import { Asconf, Auth, Chunk as C, Data, Ecn, FLAG_T, ForwardTsn, Header, Init, Sack, Shutdown, Tlv, pad4 } from './layout.js';
import { parseAsconfParams, parseErrorCauses, parseParam, parseParams, walkTlvs } from './params.js';
import { ChunkType, type Chunk, type Packet, type Param } from './types.js';

export type PacketResult = { readonly ok: true; readonly packet: Packet } | { readonly ok: false; readonly error: WireError };

export interface ParseOptions {
  /** Check the CRC32c (default true). Turn off only where the lower layer already did. */
  readonly verifyChecksum?: boolean;
}

export interface PacketHeader {
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly verificationTag: number;
  readonly checksum: number;
}

/** The common header alone (no checksum check, no chunk walk): for routing. */
export function parsePacketHeader(bytes: Uint8Array): { ok: true; header: PacketHeader } | { ok: false; error: WireError } {
  if (bytes.length < Header.LENGTH) return { ok: false, error: new WireError('SCTP_WIRE_SHORT', `packet of ${bytes.length} bytes`, 0) };
  return {
    ok: true,
    header: {
      sourcePort: u16(bytes, Header.SOURCE_PORT),
      destinationPort: u16(bytes, Header.DESTINATION_PORT),
      verificationTag: u32(bytes, Header.VERIFICATION_TAG),
      checksum: readChecksum(bytes),
    },
  };
}

/** The verification tag, or undefined if the bytes are too short to hold a common header. */
export function peekVerificationTag(bytes: Uint8Array): number | undefined {
  return bytes.length < Header.LENGTH ? undefined : u32(bytes, Header.VERIFICATION_TAG);
}

/** The first chunk's type (INIT, ABORT, SHUTDOWN COMPLETE, ... need special tag rules), or undefined. */
export function peekFirstChunkType(bytes: Uint8Array): number | undefined {
  return bytes.length < Header.LENGTH + C.HEADER_LENGTH ? undefined : bytes[Header.LENGTH + C.TYPE];
}

/**
 * Parse and check a whole packet. Chunks are padded to four bytes; the last chunk's padding may be
 * missing. Parsing stops after an unknown chunk whose action bits say "stop" (00 or 01): it is the
 * last element of `chunks` and the bytes after it are not examined.
 */
export function parsePacket(bytes: Uint8Array, options?: ParseOptions): PacketResult {
  try {
    return { ok: true, packet: parseUnchecked(plain(bytes), options?.verifyChecksum ?? true) };
  } catch (e) {
    if (e instanceof WireError) return { ok: false, error: e };
    // Not reachable by design; kept so that no input can ever make parsePacket throw.
    return { ok: false, error: new WireError('SCTP_WIRE_MALFORMED', `unexpected: ${String(e)}`, 0) };
  }
}

function parseUnchecked(b: Uint8Array, verify: boolean): Packet {
  const n = b.length;
  if (n < Header.LENGTH) throw new WireError('SCTP_WIRE_SHORT', `packet of ${n} bytes`, 0);
  if (verify && !checksumOk(b)) throw new WireError('SCTP_WIRE_CHECKSUM', 'CRC32c mismatch', Header.CHECKSUM);
  const chunks: Chunk[] = [];
  let o = Header.LENGTH;
  while (o < n) {
    const length = chunkLengthAt(b, o, n);
    const chunk = parseChunkAt(b, o, length);
    chunks.push(chunk);
    if ('kind' in chunk && (chunk.type & 0x80) === 0) break;
    o += pad4(length);
  }
  if (chunks.length === 0) throw new WireError('SCTP_WIRE_NO_CHUNKS', 'no chunks after the common header', Header.LENGTH);
  return {
    sourcePort: u16(b, Header.SOURCE_PORT),
    destinationPort: u16(b, Header.DESTINATION_PORT),
    verificationTag: u32(b, Header.VERIFICATION_TAG),
    chunks,
  };
}

/** The checked length field of the chunk at `o` in a packet of `n` bytes. */
function chunkLengthAt(b: Uint8Array, o: number, n: number): number {
  if (n - o < C.HEADER_LENGTH) throw new WireError('SCTP_WIRE_SHORT', `${n - o} bytes left, a chunk header needs 4`, o);
  const length = u16(b, o + C.LENGTH);
  if (length < C.HEADER_LENGTH || o + length > n) {
    throw new WireError('SCTP_WIRE_CHUNK_LENGTH', `chunk length ${length} at ${o} impossible in ${n} bytes`, o);
  }
  return length;
}

function atLeast(o: number, length: number, min: number, what: string): void {
  if (length < min) throw new WireError('SCTP_WIRE_CHUNK_LENGTH', `${what} chunk length ${length} < ${min}`, o);
}

/**
 * Parse one chunk at b[o, o + length) (length already checked against the buffer). Exported for
 * callers that walk chunks themselves; throws WireError, unlike parsePacket.
 */
export function parseChunkAt(b: Uint8Array, o: number, length: number): Chunk {
  const type = b[o + C.TYPE]!;
  const flags = b[o + C.FLAGS]!;
  const end = o + length;
  switch (type) {
    case ChunkType.DATA:
      atLeast(o, length, Data.USER_DATA, 'DATA');
      return {
        type,
        immediate: (flags & Data.FLAG_IMMEDIATE) !== 0,
        unordered: (flags & Data.FLAG_UNORDERED) !== 0,
        beginning: (flags & Data.FLAG_BEGINNING) !== 0,
        ending: (flags & Data.FLAG_ENDING) !== 0,
        tsn: u32(b, o + Data.TSN),
        streamId: u16(b, o + Data.STREAM_ID),
        ssn: u16(b, o + Data.SSN),
        ppid: u32(b, o + Data.PPID),
        userData: b.subarray(o + Data.USER_DATA, end),
      };
    case ChunkType.INIT:
    case ChunkType.INIT_ACK:
      atLeast(o, length, Init.PARAMS, type === 1 ? 'INIT' : 'INIT ACK');
      return {
        type,
        initiateTag: u32(b, o + Init.INITIATE_TAG),
        advertisedReceiverWindow: u32(b, o + Init.A_RWND),
        outboundStreams: u16(b, o + Init.OUTBOUND_STREAMS),
        inboundStreams: u16(b, o + Init.INBOUND_STREAMS),
        initialTsn: u32(b, o + Init.INITIAL_TSN),
        params: parseParams(b, o + Init.PARAMS, end),
      };
    case ChunkType.SACK:
      return parseSackAt(b, o, length);
    case ChunkType.HEARTBEAT:
    case ChunkType.HEARTBEAT_ACK: {
      atLeast(o, length, C.VALUE + Tlv.HEADER_LENGTH, 'HEARTBEAT');
      let info: Uint8Array | undefined;
      walkTlvs(b, o + C.VALUE, end, (t, to, tl) => {
        if (t === 1) info = b.subarray(to + Tlv.VALUE, to + tl);
        return info === undefined;
      });
      if (info === undefined) throw new WireError('SCTP_WIRE_MALFORMED', 'HEARTBEAT without Heartbeat Info', o);
      return { type, info };
    }
    case ChunkType.ABORT:
    case ChunkType.ERROR:
      return {
        type,
        reflectedTag: type === ChunkType.ABORT && (flags & FLAG_T) !== 0,
        causes: parseErrorCauses(b, o + C.VALUE, end),
      };
    case ChunkType.SHUTDOWN:
      atLeast(o, length, Shutdown.LENGTH, 'SHUTDOWN');
      return { type, cumulativeTsnAck: u32(b, o + Shutdown.CUMULATIVE_TSN_ACK) };
    case ChunkType.SHUTDOWN_ACK:
    case ChunkType.COOKIE_ACK:
    case ChunkType.SHUTDOWN_COMPLETE:
      return { type, reflectedTag: type === ChunkType.SHUTDOWN_COMPLETE && (flags & FLAG_T) !== 0 };
    case ChunkType.COOKIE_ECHO:
      return { type, cookie: b.subarray(o + C.VALUE, end) };
    case ChunkType.ECNE:
    case ChunkType.CWR:
      atLeast(o, length, Ecn.LENGTH, type === ChunkType.ECNE ? 'ECNE' : 'CWR');
      return { type, tsn: u32(b, o + Ecn.TSN) };
    case ChunkType.AUTH:
      atLeast(o, length, Auth.HMAC, 'AUTH');
      return {
        type,
        sharedKeyId: u16(b, o + Auth.SHARED_KEY_ID),
        hmacId: u16(b, o + Auth.HMAC_ID),
        hmac: b.subarray(o + Auth.HMAC, end),
      };
    case ChunkType.FORWARD_TSN: {
      atLeast(o, length, ForwardTsn.STREAMS, 'FORWARD TSN');
      if ((length - ForwardTsn.STREAMS) % ForwardTsn.STREAM_ENTRY_LENGTH !== 0) {
        throw new WireError('SCTP_WIRE_CHUNK_LENGTH', `FORWARD TSN length ${length} not 8 + 4n`, o);
      }
      const streams: { streamId: number; ssn: number }[] = [];
      for (let i = o + ForwardTsn.STREAMS; i < end; i += ForwardTsn.STREAM_ENTRY_LENGTH) {
        streams.push({ streamId: u16(b, i), ssn: u16(b, i + 2) });
      }
      return { type, newCumulativeTsn: u32(b, o + ForwardTsn.NEW_CUMULATIVE_TSN), streams };
    }
    case ChunkType.ASCONF: {
      atLeast(o, length, Asconf.PARAMS + Tlv.HEADER_LENGTH, 'ASCONF');
      const ap = o + Asconf.PARAMS;
      // The mandatory Address Parameter comes first (RFC 5061 §4.1.1).
      const apLength = u16(b, ap + Tlv.LENGTH);
      if (apLength < Tlv.HEADER_LENGTH || ap + apLength > end) {
        throw new WireError('SCTP_WIRE_PARAM_LENGTH', `ASCONF address parameter length ${apLength}`, ap);
      }
      const address: Param = parseParam(b, ap, apLength);
      if (address.kind !== 'ipv4' && address.kind !== 'ipv6') {
        throw new WireError('SCTP_WIRE_MALFORMED', `ASCONF must start with an address parameter, not type ${address.type}`, ap);
      }
      return {
        type,
        serial: u32(b, o + Asconf.SERIAL),
        address,
        params: parseAsconfParams(b, Math.min(end, ap + pad4(apLength)), end),
      };
    }
    case ChunkType.ASCONF_ACK:
      atLeast(o, length, Asconf.PARAMS, 'ASCONF-ACK');
      return { type, serial: u32(b, o + Asconf.SERIAL), params: parseAsconfParams(b, o + Asconf.PARAMS, end) };
    case ChunkType.PAD:
      return { type, padding: length - C.HEADER_LENGTH };
    default:
      return { type, kind: 'unknown', flags, raw: b.subarray(o, end) };
  }
}

function parseSackAt(b: Uint8Array, o: number, length: number): Chunk {
  atLeast(o, length, Sack.GAP_BLOCKS, 'SACK');
  const gaps = u16(b, o + Sack.GAP_BLOCK_COUNT);
  const dups = u16(b, o + Sack.DUPLICATE_TSN_COUNT);
  const need = Sack.GAP_BLOCKS + gaps * Sack.GAP_BLOCK_LENGTH + dups * Sack.DUPLICATE_TSN_LENGTH;
  if (length < need) throw new WireError('SCTP_WIRE_CHUNK_LENGTH', `SACK with ${gaps} gaps and ${dups} dups needs ${need} bytes, has ${length}`, o);
  const gapBlocks = new Array<{ start: number; end: number }>(gaps);
  let i = o + Sack.GAP_BLOCKS;
  for (let k = 0; k < gaps; k++, i += Sack.GAP_BLOCK_LENGTH) gapBlocks[k] = { start: u16(b, i), end: u16(b, i + 2) };
  const duplicateTsns = new Array<number>(dups);
  for (let k = 0; k < dups; k++, i += Sack.DUPLICATE_TSN_LENGTH) duplicateTsns[k] = u32(b, i);
  return {
    type: ChunkType.SACK,
    cumulativeTsnAck: u32(b, o + Sack.CUMULATIVE_TSN_ACK),
    advertisedReceiverWindow: u32(b, o + Sack.A_RWND),
    gapBlocks,
    duplicateTsns,
  };
}

/** Where one chunk sits in a packet: offset of its header and its length field (padding excluded). */
export interface ChunkSpan {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly length: number;
}

/**
 * The checked chunk layout of a packet without decoding any chunk (no checksum check): every
 * chunk length >= 4 and inside the packet. A cheap first look, e.g. to find the chunk types.
 */
export function chunkSpans(bytes: Uint8Array): { ok: true; spans: ChunkSpan[] } | { ok: false; error: WireError } {
  try {
    const n = bytes.length;
    if (n < Header.LENGTH) throw new WireError('SCTP_WIRE_SHORT', `packet of ${n} bytes`, 0);
    const spans: ChunkSpan[] = [];
    for (let o = Header.LENGTH; o < n; ) {
      const length = chunkLengthAt(bytes, o, n);
      spans.push({ type: bytes[o + C.TYPE]!, flags: bytes[o + C.FLAGS]!, offset: o, length });
      o += pad4(length);
    }
    if (spans.length === 0) throw new WireError('SCTP_WIRE_NO_CHUNKS', 'no chunks after the common header', Header.LENGTH);
    return { ok: true, spans };
  } catch (e) {
    if (e instanceof WireError) return { ok: false, error: e };
    return { ok: false, error: new WireError('SCTP_WIRE_MALFORMED', `unexpected: ${String(e)}`, 0) };
  }
}

/** Where the HMAC of an AUTH chunk goes and what it covers (RFC 4895 §6.2), as offsets into the packet. */
export interface AuthRegion {
  /** Offset of the AUTH chunk: the authenticated bytes are [authStart, end). */
  readonly authStart: number;
  /** Offset and length of the HMAC field, which is zero while the HMAC is computed. */
  readonly hmacOffset: number;
  readonly hmacLength: number;
  /** End of the packet (the chunks after AUTH, with their padding, are covered). */
  readonly end: number;
  readonly sharedKeyId: number;
  readonly hmacId: number;
}

/**
 * The first AUTH chunk's region, or undefined if there is none (or the chunk walk fails before
 * one is found). Only the chunk headers are examined.
 */
export function authenticatedRegion(bytes: Uint8Array): AuthRegion | undefined {
  const n = bytes.length;
  let o = Header.LENGTH;
  while (n - o >= C.HEADER_LENGTH) {
    const length = u16(bytes, o + C.LENGTH);
    if (length < C.HEADER_LENGTH || o + length > n) return undefined;
    if (bytes[o] === ChunkType.AUTH) {
      if (length < Auth.HMAC) return undefined;
      return {
        authStart: o,
        hmacOffset: o + Auth.HMAC,
        hmacLength: length - Auth.HMAC,
        end: n,
        sharedKeyId: u16(bytes, o + Auth.SHARED_KEY_ID),
        hmacId: u16(bytes, o + Auth.HMAC_ID),
      };
    }
    o += pad4(length);
  }
  return undefined;
}

/** A copy of the authenticated bytes with the HMAC field zeroed: the HMAC input. */
export function authenticatedBytes(bytes: Uint8Array, region: AuthRegion): Uint8Array {
  const out = new Uint8Array(region.end - region.authStart);
  out.set(bytes.subarray(region.authStart, region.end));
  out.fill(0, region.hmacOffset - region.authStart, region.hmacOffset - region.authStart + region.hmacLength);
  return out;
}
