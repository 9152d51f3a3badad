// baton's x25519 key agreement for SCTP AUTH. Each side puts parameter 0xbaf1 (a 32-byte x25519
// public key; top bits 10 = "skip, do not report", so standard peers ignore it silently) in its
// INIT / INIT-ACK. When both sides sent one, the RFC 4895 endpoint-pair shared key is
//   HKDF-SHA-256(ikm = x25519(priv, peerPub),
//                salt = tag1 ∥ tag2 ∥ RANDOM1 ∥ RANDOM2, the two sides' (initiate tag, RANDOM) in
//                       ascending tag order (canonicalSalt: the same on both sides, even when both
//                       sent INIT at once),
//                info = "baton sctp auth", 32 bytes)
// so someone who recorded the whole handshake (both key vectors, both tags) still cannot compute
// the association key, and therefore cannot forge an ASCONF. With a standard peer the
// endpoint-pair key stays empty (RFC 4895 §6.1 default) and `keySource` says so.
import { createHmac } from 'node:crypto';
import { agree, keyPairFrom, X25519_KEY_LENGTH, type X25519KeyPair } from '../transport-abstraction/x25519.js';
import { ParamType, type Param } from './wire/types.js';

export { generateKeyPair, X25519_KEY_LENGTH, type X25519KeyPair } from '../transport-abstraction/x25519.js';
export const HKDF_INFO = 'baton sctp auth';

export type KeySource = 'x25519' | 'rfc4895-default';

/**
 * The endpoint's key pair, derived from its secret (itself drawn from the injected RandomSource):
 * priv = HMAC-SHA-256(secret, "baton x25519 endpoint"), made once per secret and kept, so that an
 * INIT-ACK, built statelessly for anyone who sends an INIT, costs no scalar multiplication (issue 14
 * item 9: a flood of INITs spent 1.5-2 ms of x25519 each). The agreement is made only when a valid
 * cookie comes back (COOKIE-ECHO). It is as secret as a key derived per association from the same
 * secret would be (whoever holds the secret holds both); the association keys still differ, since
 * the HKDF salt carries both tags and both RANDOMs, and the peer's key is its own.
 */
export function endpointKeyPair(secret: Uint8Array): X25519KeyPair {
  let k = endpointKeys.get(secret);
  if (k === undefined) {
    k = keyPairFrom(new Uint8Array(createHmac('sha256', secret).update('baton x25519 endpoint').digest()));
    endpointKeys.set(secret, k);
  }
  return k;
}
const endpointKeys = new WeakMap<Uint8Array, X25519KeyPair>();

/** The parameter for our INIT / INIT-ACK. */
export function x25519Param(publicKey: Uint8Array): Param {
  return { type: ParamType.BATON_X25519_KEY, kind: 'baton-x25519', publicKey };
}

/** The peer's public key from its INIT / INIT-ACK parameters, if it sent a well-formed one. */
export function peerPublicKeyFrom(params: readonly Param[]): Uint8Array | undefined {
  for (const p of params) {
    if (p.kind === 'baton-x25519' && p.publicKey.length === X25519_KEY_LENGTH) return p.publicKey;
    if (p.kind === 'unknown' && p.type === ParamType.BATON_X25519_KEY && p.value.length === X25519_KEY_LENGTH) return p.value;
  }
  return undefined;
}

/** The handshake values both sides know, by role (INIT sender = initiator). */
export interface HandshakeSalt {
  readonly initiatorTag: number;
  readonly responderTag: number;
  readonly initiatorRandom: Uint8Array;
  readonly responderRandom: Uint8Array;
}

/** The salt both sides compute alike: the (tag, RANDOM) pairs in ascending tag (then RANDOM) order. */
export function canonicalSalt(a: { tag: number; random: Uint8Array }, b: { tag: number; random: Uint8Array }): HandshakeSalt {
  const aFirst = a.tag >>> 0 !== b.tag >>> 0 ? a.tag >>> 0 < b.tag >>> 0 : Buffer.compare(Buffer.from(a.random), Buffer.from(b.random)) <= 0;
  const [x, y] = aFirst ? [a, b] : [b, a];
  return { initiatorTag: x.tag, responderTag: y.tag, initiatorRandom: x.random, responderRandom: y.random };
}

export function saltBytes(s: HandshakeSalt): Uint8Array {
  const out = new Uint8Array(8 + s.initiatorRandom.length + s.responderRandom.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, s.initiatorTag >>> 0);
  v.setUint32(4, s.responderTag >>> 0);
  out.set(s.initiatorRandom, 8);
  out.set(s.responderRandom, 8 + s.initiatorRandom.length);
  return out;
}

export interface EndpointPairKey {
  readonly keySource: KeySource;
  /** Empty for 'rfc4895-default'. */
  readonly key: Uint8Array;
}

/**
 * The endpoint-pair shared key in force. x25519 only when we sent a key pair and the peer sent a
 * public key and the agreement is not degenerate (a low-order peer key yields all zeros; then we
 * fall back rather than use a key any observer knows).
 */
export function endpointPairKey(local: X25519KeyPair | undefined, peerPublicKey: Uint8Array | undefined, salt: HandshakeSalt): EndpointPairKey {
  const none: EndpointPairKey = { keySource: 'rfc4895-default', key: new Uint8Array(0) };
  if (local === undefined || peerPublicKey === undefined) return none;
  const shared = agree(local.privateKey, peerPublicKey, local.publicKey);
  if (shared === undefined) return none;
  return { keySource: 'x25519', key: hkdfSha256(shared, saltBytes(salt)) };
}

const INFO_AND_COUNTER = new Uint8Array([...new TextEncoder().encode(HKDF_INFO), 1]);

/**
 * HKDF-SHA-256 (RFC 5869) of one 32-byte output block: PRK = HMAC(salt, ikm), OKM = HMAC(PRK,
 * info ∥ 0x01). The same bytes as node:crypto's hkdfSync (test/sctp-auth.test.ts compares
 * them), in half the CPU: hkdfSync wraps both keys in KeyObjects first (bench/connections-crypto.ts).
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array): Uint8Array {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  return new Uint8Array(createHmac('sha256', prk).update(INFO_AND_COUNTER).digest());
}
