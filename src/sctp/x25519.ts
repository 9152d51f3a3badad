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
import { createHmac, hkdfSync } from 'node:crypto';
import { agree, keyPairFrom, X25519_KEY_LENGTH, type X25519KeyPair } from '../transport-abstraction/x25519.js';
import { ParamType, type Param } from './wire/types.js';

export { generateKeyPair, X25519_KEY_LENGTH, type X25519KeyPair } from '../transport-abstraction/x25519.js';
export const HKDF_INFO = 'baton sctp auth';

export type KeySource = 'x25519' | 'rfc4895-default';

/**
 * The INIT-ACK side's key pair, derived from the endpoint's secret (itself drawn from the injected
 * RandomSource) and the values the stateless cookie carries back (our tag and our RANDOM), so the
 * cookie never holds a private key: priv = HMAC-SHA-256(secret, "baton x25519 responder" ∥ tag ∥ random).
 */
export function responderKeyPair(secret: Uint8Array, localTag: number, localRandom: Uint8Array): X25519KeyPair {
  const tag = new Uint8Array(4);
  new DataView(tag.buffer).setUint32(0, localTag >>> 0);
  return keyPairFrom(new Uint8Array(createHmac('sha256', secret).update('baton x25519 responder').update(tag).update(localRandom).digest()));
}

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
  const shared = agree(local.privateKey, peerPublicKey);
  if (shared === undefined) return none;
  const key = new Uint8Array(hkdfSync('sha256', shared, saltBytes(salt), HKDF_INFO, 32));
  return { keySource: 'x25519', key };
}
