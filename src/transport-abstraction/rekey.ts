// Re-keying at each takeover, the same on both transports (issue 14 item 6): a state file stolen
// before a takeover must not take the connection afterwards.
//
// The taker makes a fresh x25519 key pair E and sends E's public key with its takeover request,
// authenticated under the connection's current key K (SCTP: a parameter inside the AUTH-covered
// ASCONF; TCP-Migrate: the Migrate SYN's payload, covered by R). The client combines it with its
// own x25519 key pair from the handshake (C, whose public key the serving side keeps in the state):
//
//   Z  = x25519(E private, C public) = x25519(C private, E public)
//   K' = HMAC-SHA-256(key = Z, "baton takeover key" || n (32-bit big-endian) || E public || K)
//
// Both switch to K' once the takeover is accepted, and the taker exports K' with its state. Who
// holds an older state knows K and C's public key but neither E's nor C's private key, so cannot
// compute K'; an eavesdropper who recorded every packet knows even less (not K). K' still
// depends on K, so Z alone (a weak E) does not give it either. Pure computation, no I/O.
import { createHmac } from 'node:crypto';
import { agree, generateKeyPair, X25519_KEY_LENGTH, type X25519KeyPair } from './x25519.js';
import type { RandomSource } from './random.js';

/** The taker's half: a fresh key pair for one takeover request. */
export function takeoverKeyPair(random: RandomSource): X25519KeyPair {
  return generateKeyPair(random);
}

/** True when `key` can be a peer's x25519 public key to re-key with (32 bytes). */
export function canRekeyWith(key: Uint8Array | undefined): key is Uint8Array {
  return key !== undefined && key.length === X25519_KEY_LENGTH;
}

/**
 * K' for takeover `requestNumber`, from our private key and the other side's public key
 * (`takerPublic` is E's public key on both sides); undefined for an invalid (low-order) key.
 */
export function takeoverKey(oldKey: Uint8Array, requestNumber: number, ownPrivate: Uint8Array, otherPublic: Uint8Array, takerPublic: Uint8Array): Uint8Array | undefined {
  const z = agree(ownPrivate, otherPublic);
  if (z === undefined) return undefined;
  const n = new Uint8Array(4);
  new DataView(n.buffer).setUint32(0, requestNumber >>> 0);
  return new Uint8Array(createHmac('sha256', z).update('baton takeover key').update(n).update(takerPublic).update(oldKey).digest());
}
