// RFC 4895 AUTH: key vectors, the association shared key, HMAC over an AUTH chunk and the chunks
// that follow it, verification, which chunk types must arrive authenticated, HMAC id selection.
//
// Works on raw packet bytes for the HMAC itself (the HMAC covers the chunks exactly as they are on
// the wire, padding included), so it does not depend on the codec's emit. Cross-checked against
// usrsctp's sctp_auth.c: a key vector is RANDOM ∥ CHUNKS ∥ HMAC-ALGO with parameter headers and
// without trailing padding (sctp_auth_get_cookie_params); the association key is
// shared ∥ smaller ∥ larger where "smaller" compares the vectors as big-endian unsigned numbers,
// left-padded with zeros, the shorter one being smaller on equal value (sctp_compare_key,
// sctp_compute_hashkey); keys longer than the hash block are hashed first (HMAC does this itself).
import { createHash, createHmac } from 'node:crypto';
import { ChunkType, HmacId, ParamType, CauseCode, type Param, type ErrorCause } from './wire/types.js';
import { Header, Chunk as ChunkLayout, Auth as AuthLayout, pad4 } from './wire/layout.js';
import { concat } from './wire/bytes.js';
import { finalizeChecksum } from './wire/crc32c.js';

/** HMAC identifiers we implement, in our order of preference (what we send in HMAC-ALGO). */
export const SUPPORTED_HMAC_IDS: readonly number[] = [HmacId.SHA256, HmacId.SHA1];

/** Chunk types that may never be listed in CHUNKS (RFC 4895 §3.2). */
const NEVER_AUTHENTICATED = new Set<number>([ChunkType.INIT, ChunkType.INIT_ACK, ChunkType.SHUTDOWN_COMPLETE, ChunkType.AUTH]);

/** The chunk types baton asks its peer to authenticate: ASCONF and ASCONF-ACK (RFC 5061 §4.1). */
export const DEFAULT_AUTH_CHUNKS: readonly number[] = [ChunkType.ASCONF, ChunkType.ASCONF_ACK];

/** Length in bytes of the HMAC for an identifier, or undefined when we do not implement it. */
export function hmacLength(hmacId: number): number | undefined {
  if (hmacId === HmacId.SHA1) return 20;
  if (hmacId === HmacId.SHA256) return 32;
  return undefined;
}

function hashName(hmacId: number): 'sha1' | 'sha256' | undefined {
  if (hmacId === HmacId.SHA1) return 'sha1';
  if (hmacId === HmacId.SHA256) return 'sha256';
  return undefined;
}

/** What one endpoint announced in its INIT / INIT-ACK for AUTH. */
export interface AuthParams {
  readonly random: Uint8Array;
  readonly chunkTypes: readonly number[];
  readonly hmacIds: readonly number[];
  /** False when the peer sent no CHUNKS parameter (it then adds nothing to the key vector). */
  readonly chunksSent?: boolean;
}

/** Fresh AUTH parameters for our INIT / INIT-ACK: a 32-byte RANDOM (RFC 4895 §3.1). */
export function localAuthParams(randomBytes: Uint8Array, chunkTypes: readonly number[] = DEFAULT_AUTH_CHUNKS): AuthParams {
  if (randomBytes.length < 32) throw new RangeError('RFC 4895 §3.1: RANDOM should be 32 bytes');
  return { random: randomBytes, chunkTypes: chunkTypes.filter((t) => !NEVER_AUTHENTICATED.has(t)), hmacIds: SUPPORTED_HMAC_IDS };
}

/** The three parameters as Param values, for the INIT / INIT-ACK parameter list. */
export function authParamList(p: AuthParams): Param[] {
  return [
    { type: ParamType.RANDOM, kind: 'random', random: p.random },
    { type: ParamType.CHUNKS, kind: 'chunks', chunkTypes: p.chunkTypes },
    { type: ParamType.HMAC_ALGO, kind: 'hmac-algo', hmacIds: p.hmacIds },
  ];
}

/**
 * Pick the AUTH parameters out of a received INIT / INIT-ACK. RFC 4895 §6.1: AUTH is in use only
 * when RANDOM and HMAC-ALGO (with SHA-1 listed) are present; CHUNKS may be absent (empty list).
 */
export function authParamsFrom(params: readonly Param[]): AuthParams | undefined {
  let random: Uint8Array | undefined;
  let chunkTypes: readonly number[] = [];
  let chunksSent = false;
  let hmacIds: readonly number[] | undefined;
  for (const p of params) {
    if (p.kind === 'random') random = p.random;
    else if (p.kind === 'chunks') {
      chunkTypes = p.chunkTypes;
      chunksSent = true;
    }
    else if (p.kind === 'hmac-algo') hmacIds = p.hmacIds;
  }
  if (random === undefined || hmacIds === undefined || !hmacIds.includes(HmacId.SHA1)) return undefined;
  return { random, chunkTypes, hmacIds, chunksSent };
}

function tlv(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + value.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, type);
  v.setUint16(2, out.length);
  out.set(value, 4);
  return out;
}

/**
 * The key vector (RFC 4895 §6.1): the RANDOM, CHUNKS and HMAC-ALGO parameters as sent, headers
 * included, concatenated in that order without padding. A missing CHUNKS contributes nothing.
 */
export function keyVector(p: AuthParams): Uint8Array {
  const hmacs = new Uint8Array(p.hmacIds.length * 2);
  p.hmacIds.forEach((id, i) => new DataView(hmacs.buffer).setUint16(i * 2, id));
  const parts = [tlv(ParamType.RANDOM, p.random)];
  if (p.chunksSent !== false) parts.push(tlv(ParamType.CHUNKS, Uint8Array.from(p.chunkTypes)));
  parts.push(tlv(ParamType.HMAC_ALGO, hmacs));
  return concat(parts);
}

/**
 * Compare two key vectors as unsigned big-endian numbers, the shorter left-padded with zeros; on
 * equal value the shorter one is smaller (RFC 4895 §6.1, usrsctp sctp_compare_key).
 */
export function compareKeyVectors(a: Uint8Array, b: Uint8Array): -1 | 0 | 1 {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = i < n - a.length ? 0 : a[i - (n - a.length)]!;
    const y = i < n - b.length ? 0 : b[i - (n - b.length)]!;
    if (x !== y) return x > y ? 1 : -1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Association shared key = endpoint-pair shared key ∥ smaller key vector ∥ larger key vector. */
export function associationKey(endpointPairKey: Uint8Array, vectorA: Uint8Array, vectorB: Uint8Array): Uint8Array {
  return compareKeyVectors(vectorA, vectorB) <= 0
    ? concat([endpointPairKey, vectorA, vectorB])
    : concat([endpointPairKey, vectorB, vectorA]);
}

/** HMAC over `text` (AUTH chunk with zeroed HMAC field ∥ following chunks). */
export function computeHmac(hmacId: number, key: Uint8Array, text: Uint8Array): Uint8Array {
  const name = hashName(hmacId);
  if (name === undefined) throw new RangeError(`unsupported HMAC identifier ${hmacId}`);
  return new Uint8Array(createHmac(name, key).update(text).digest());
}

/** The block size of SHA-1 and SHA-256: HMAC hashes a longer key first (RFC 2104 §2). */
const HASH_BLOCK = 64;

/**
 * The key HMAC actually uses: `key` itself, or its hash when it is longer than the hash block (RFC
 * 2104 §2; an association key of two key vectors always is). The HMAC is the same; computing it
 * once per association saves hashing the key again for every packet.
 */
function effectiveHmacKey(name: 'sha1' | 'sha256', key: Uint8Array): Uint8Array {
  return key.length > HASH_BLOCK ? createHash(name).update(key).digest() : key;
}

/**
 * Scratch for verify(): the authenticated text with its HMAC field zeroed, without allocating a
 * copy per packet (the received bytes must stay untouched). Grown on demand; calls are synchronous.
 */
let verifyScratch = new Uint8Array(2048);

/** The offset and padded end of the first AUTH chunk of a whole packet, without building spans; undefined when none. */
function firstAuthChunk(packet: Uint8Array): { offset: number; end: number } | undefined {
  let o: number = Header.LENGTH;
  while (o + ChunkLayout.HEADER_LENGTH <= packet.length) {
    const len = (packet[o + ChunkLayout.LENGTH]! << 8) | packet[o + ChunkLayout.LENGTH + 1]!;
    if (len < ChunkLayout.HEADER_LENGTH || o + len > packet.length) return undefined;
    const end = Math.min(packet.length, o + pad4(len));
    if (packet[o] === ChunkType.AUTH) return { offset: o, end };
    o = end;
  }
  return undefined;
}

/** The HMAC id to send with: the first of the peer's list (its preference order) we support. */
export function selectHmacId(peerHmacIds: readonly number[], ours: readonly number[] = SUPPORTED_HMAC_IDS): number | undefined {
  return peerHmacIds.find((id) => ours.includes(id));
}

/** Whether a chunk we send must be preceded by AUTH: the peer listed its type in CHUNKS. */
export function requiresAuth(chunkType: number, peerChunkTypes: readonly number[]): boolean {
  return !NEVER_AUTHENTICATED.has(chunkType) && peerChunkTypes.includes(chunkType);
}

/** The Unsupported HMAC Identifier error cause (RFC 4895 §4.1): the offending id as info. */
export function unsupportedHmacCause(hmacId: number): ErrorCause {
  const info = new Uint8Array(2);
  new DataView(info.buffer).setUint16(0, hmacId);
  return { code: CauseCode.UNSUPPORTED_HMAC_IDENTIFIER, info };
}

/** Where chunks sit in a packet's bytes (offset of each chunk header, its type, its padded end). */
export interface ChunkSpan {
  readonly type: number;
  readonly offset: number;
  readonly end: number;
}

/** Walk the chunk headers of a whole SCTP packet; stops at the first malformed length. */
export function chunkSpans(packet: Uint8Array): ChunkSpan[] {
  const spans: ChunkSpan[] = [];
  const v = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  let o: number = Header.LENGTH;
  while (o + ChunkLayout.HEADER_LENGTH <= packet.length) {
    const len = v.getUint16(o + ChunkLayout.LENGTH);
    if (len < ChunkLayout.HEADER_LENGTH || o + len > packet.length) break;
    const end = Math.min(packet.length, o + pad4(len));
    spans.push({ type: packet[o]!, offset: o, end });
    o = end;
  }
  return spans;
}

export type VerifyResult =
  | { readonly ok: true; readonly authenticatedFrom: number }
  | { readonly ok: false; readonly reason: 'no-auth' | 'unsupported-hmac' | 'bad-length' | 'unknown-key' | 'bad-hmac'; readonly hmacId?: number };

/**
 * Everything an association needs to sign and verify: both key vectors, the endpoint-pair key,
 * the HMAC we send with, our accepted HMAC ids and both CHUNKS lists.
 */
export class AuthContext {
  readonly key: Uint8Array;
  readonly sendHmacId: number;
  readonly sharedKeyId: number;
  /** The key as HMAC uses it, per hash (effectiveHmacKey), computed on first use. */
  private sha1Key: Uint8Array | undefined;
  private sha256Key: Uint8Array | undefined;

  constructor(
    readonly local: AuthParams,
    readonly peer: AuthParams,
    readonly endpointPairKey: Uint8Array = new Uint8Array(0),
    sharedKeyId = 0,
    localVector = keyVector(local),
    peerVector = keyVector(peer),
  ) {
    const id = selectHmacId(peer.hmacIds, local.hmacIds);
    if (id === undefined) throw new RangeError('no HMAC identifier in common with the peer (SHA-1 is mandatory)');
    this.sendHmacId = id;
    this.sharedKeyId = sharedKeyId;
    this.key = associationKey(endpointPairKey, localVector, peerVector);
  }

  /** A fresh HMAC-`hmacId` under our key, hashed once per association (effectiveHmacKey). */
  private hmac(hmacId: number): ReturnType<typeof createHmac> {
    if (hmacId === HmacId.SHA256) return createHmac('sha256', (this.sha256Key ??= effectiveHmacKey('sha256', this.key)));
    if (hmacId === HmacId.SHA1) return createHmac('sha1', (this.sha1Key ??= effectiveHmacKey('sha1', this.key)));
    throw new RangeError(`unsupported HMAC identifier ${hmacId}`);
  }

  /** Length of the AUTH chunk we emit (header + key id + hmac id + HMAC), before padding. */
  get authChunkLength(): number {
    return AuthLayout.HMAC + hmacLength(this.sendHmacId)!;
  }

  /** The AUTH chunk to place before the chunks that need it; its HMAC is zero until sign(). */
  authChunk(): { type: 15; sharedKeyId: number; hmacId: number; hmac: Uint8Array } {
    return { type: ChunkType.AUTH, sharedKeyId: this.sharedKeyId, hmacId: this.sendHmacId, hmac: new Uint8Array(hmacLength(this.sendHmacId)!) };
  }

  /** Whether we must put AUTH before a chunk of this type that we send. */
  mustAuthenticate(chunkType: number): boolean {
    return requiresAuth(chunkType, this.peer.chunkTypes);
  }

  /** Whether a received chunk of this type is acceptable only after a valid AUTH. */
  mustBeAuthenticated(chunkType: number): boolean {
    return requiresAuth(chunkType, this.local.chunkTypes) || chunkType === ChunkType.ASCONF || chunkType === ChunkType.ASCONF_ACK;
  }

  /** packet-writer's AuthSigner: whether we must put AUTH before a chunk of this type. */
  needsAuth(chunkType: number): boolean {
    return this.mustAuthenticate(chunkType);
  }

  /** packet-writer's AuthSigner: write the AUTH chunk header at `offset`, HMAC zeroed. */
  writeAuthChunk(packet: Uint8Array, offset: number): void {
    const v = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    const len = this.authChunkLength;
    packet[offset] = ChunkType.AUTH;
    packet[offset + 1] = 0;
    v.setUint16(offset + ChunkLayout.LENGTH, len);
    v.setUint16(offset + AuthLayout.SHARED_KEY_ID, this.sharedKeyId);
    v.setUint16(offset + AuthLayout.HMAC_ID, this.sendHmacId);
    packet.fill(0, offset + AuthLayout.HMAC, offset + pad4(len));
  }

  /**
   * packet-writer's AuthSigner: HMAC over packet[offset, end) (the AUTH chunk at `offset` with its
   * HMAC field zeroed, then every later chunk) written into the AUTH chunk. The caller finalizes
   * the CRC32c afterwards.
   */
  sign(packet: Uint8Array, offset: number): void {
    const hmacAt = offset + AuthLayout.HMAC;
    const len = hmacLength(this.sendHmacId)!;
    packet.fill(0, hmacAt, hmacAt + len);
    packet.set(this.hmac(this.sendHmacId).update(packet.subarray(offset)).digest(), hmacAt);
  }

  /**
   * Sign a whole emitted packet: fill the HMAC of its first AUTH chunk and refresh the CRC32c.
   * Returns false when the packet holds no AUTH chunk.
   */
  signPacket(packet: Uint8Array): boolean {
    const auth = chunkSpans(packet).find((s) => s.type === ChunkType.AUTH);
    if (auth === undefined) return false;
    this.sign(packet, auth.offset);
    finalizeChecksum(packet);
    return true;
  }

  /**
   * Verify the first AUTH chunk of a received packet (RFC 4895 §6.3). On success, chunks whose
   * offset is >= authenticatedFrom are authenticated. Does not modify `packet`.
   */
  verify(packet: Uint8Array): VerifyResult {
    const auth = firstAuthChunk(packet);
    if (auth === undefined) return { ok: false, reason: 'no-auth' };
    const v = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    if (auth.offset + AuthLayout.HMAC > packet.length) return { ok: false, reason: 'bad-length' };
    const keyId = v.getUint16(auth.offset + AuthLayout.SHARED_KEY_ID);
    const hmacId = v.getUint16(auth.offset + AuthLayout.HMAC_ID);
    const len = hmacLength(hmacId);
    if (len === undefined || !this.local.hmacIds.includes(hmacId)) return { ok: false, reason: 'unsupported-hmac', hmacId };
    const chunkLen = v.getUint16(auth.offset + ChunkLayout.LENGTH);
    if (chunkLen !== AuthLayout.HMAC + len) return { ok: false, reason: 'bad-length', hmacId };
    if (keyId !== this.sharedKeyId) return { ok: false, reason: 'unknown-key', hmacId };
    // The text with its HMAC field zeroed, in the scratch: the received bytes must stay untouched.
    const n = packet.length - auth.offset;
    if (verifyScratch.length < n) verifyScratch = new Uint8Array(Math.max(n, 2 * verifyScratch.length));
    const text = verifyScratch.subarray(0, n);
    text.set(packet.subarray(auth.offset));
    text.fill(0, AuthLayout.HMAC, AuthLayout.HMAC + len);
    const expected = this.hmac(hmacId).update(text).digest();
    if (!constantTimeEqual(expected, packet.subarray(auth.offset + AuthLayout.HMAC, auth.offset + AuthLayout.HMAC + len))) return { ok: false, reason: 'bad-hmac', hmacId };
    return { ok: true, authenticatedFrom: auth.end };
  }

  /**
   * Which chunks of a received packet may be processed: chunks before the AUTH are unaffected;
   * chunks listed in our CHUNKS (and ASCONF / ASCONF-ACK always) are accepted only after a valid
   * AUTH that precedes them. Returns, per chunk span, whether it is acceptable.
   */
  acceptable(packet: Uint8Array): { spans: ChunkSpan[]; accept: boolean[]; verify: VerifyResult } {
    const spans = chunkSpans(packet);
    const verify = spans.some((s) => s.type === ChunkType.AUTH) ? this.verify(packet) : ({ ok: false, reason: 'no-auth' } as const);
    const accept = spans.map((s) => !this.mustBeAuthenticated(s.type) || (verify.ok && s.offset >= verify.authenticatedFrom));
    return { spans, accept, verify };
  }
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Read a key vector (as stored in SctpState) back into the parameters it was built from. */
export function parseKeyVector(vector: Uint8Array): AuthParams | undefined {
  const v = new DataView(vector.buffer, vector.byteOffset, vector.byteLength);
  let random: Uint8Array | undefined;
  let chunkTypes: number[] = [];
  let chunksSent = false;
  let hmacIds: number[] | undefined;
  let o = 0;
  while (o + 4 <= vector.length) {
    const type = v.getUint16(o);
    const len = v.getUint16(o + 2);
    if (len < 4 || o + len > vector.length) return undefined;
    const value = vector.slice(o + 4, o + len);
    if (type === ParamType.RANDOM) random = value;
    else if (type === ParamType.CHUNKS) {
      chunkTypes = Array.from(value);
      chunksSent = true;
    }
    else if (type === ParamType.HMAC_ALGO) {
      hmacIds = [];
      for (let i = 0; i + 1 < value.length; i += 2) hmacIds.push((value[i]! << 8) | value[i + 1]!);
    }
    o += len; // key vectors are concatenated without padding
  }
  if (o !== vector.length || random === undefined || hmacIds === undefined) return undefined;
  return { random, chunkTypes, hmacIds, chunksSent };
}

/** Rebuild an AuthContext from exported state (the vectors are used byte for byte). */
export function authContextFromVectors(localVector: Uint8Array, peerVector: Uint8Array, endpointPairKey: Uint8Array, sharedKeyId = 0): AuthContext | undefined {
  const local = parseKeyVector(localVector);
  const peer = parseKeyVector(peerVector);
  if (local === undefined || peer === undefined) return undefined;
  if (selectHmacId(peer.hmacIds, local.hmacIds) === undefined) return undefined;
  return new AuthContext(local, peer, endpointPairKey, sharedKeyId, localVector, peerVector);
}
