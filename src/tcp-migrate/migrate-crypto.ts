// The Migrate options' cryptography, with modern primitives in place of the draft's ECDH curve and
// hash: x25519 (RFC 7748) agreement during the three-way handshake, HMAC-SHA-256 for the key,
// the token and the authenticator.
//
//   K = HMAC-SHA-256(key = x25519(own private, peer public),
//                    "baton tcp-migrate K" || initiator public || acceptor public)
//   T = HMAC-SHA-256(K, "T" || ISN_i || ISN_a)[0..8]                         (64 bits)
//   R = HMAC-SHA-256(K, "R" || ISN_i || ISN_a || S || P|ReqNo || flags)[0..12] (96 bits)
// ISNs and S are 32-bit big-endian; S is the Migrate SYN's sequence number. HMAC is pure
// computation (node:crypto), no I/O.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { agree, type X25519KeyPair } from '../transport-abstraction/x25519.js';
import { AUTHENTICATOR_LENGTH, TOKEN_LENGTH } from './options.js';

export { generateKeyPair } from '../transport-abstraction/x25519.js';
export type KeyPair = X25519KeyPair;

/** K from our private key and the peer's public key; undefined for an invalid (low-order) key. */
export function deriveConnectionKey(own: KeyPair, peerPublic: Uint8Array, localIsInitiator: boolean): Uint8Array | undefined {
  const shared = agree(own.privateKey, peerPublic);
  if (shared === undefined) return undefined;
  const [first, second] = localIsInitiator ? [own.publicKey, peerPublic] : [peerPublic, own.publicKey];
  return new Uint8Array(createHmac('sha256', shared).update('baton tcp-migrate K').update(first).update(second).digest());
}

function u32be(v: number): Uint8Array {
  const b = new Uint8Array(4);
  b[0] = v >>> 24;
  b[1] = v >>> 16;
  b[2] = v >>> 8;
  b[3] = v;
  return b;
}

export function deriveToken(key: Uint8Array, initiatorIsn: number, acceptorIsn: number): Uint8Array {
  const mac = createHmac('sha256', key).update('T').update(u32be(initiatorIsn)).update(u32be(acceptorIsn)).digest();
  return new Uint8Array(mac.subarray(0, TOKEN_LENGTH));
}

export function authenticator(
  key: Uint8Array,
  initiatorIsn: number,
  acceptorIsn: number,
  seq: number,
  requestByte: number,
  flags: number,
): Uint8Array {
  const mac = createHmac('sha256', key)
    .update('R')
    .update(u32be(initiatorIsn))
    .update(u32be(acceptorIsn))
    .update(u32be(seq))
    .update(new Uint8Array([requestByte & 0xff, flags & 0xff]))
    .digest();
  return new Uint8Array(mac.subarray(0, AUTHENTICATOR_LENGTH));
}

/** Constant-time comparison of equal-length byte strings. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function tokenKey(token: Uint8Array): string {
  return Buffer.from(token.buffer, token.byteOffset, token.byteLength).toString('hex');
}
