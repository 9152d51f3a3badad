// X25519 (RFC 7748) for both transports: key pairs from the injected RandomSource (or from a
// private key derived elsewhere) and the agreement. Pure computation, no I/O.
//
// Which implementation: measured with 3000 interleaved operations of each (random keys, the same
// inputs for both, results compared equal), on a machine shared with other jobs, so as ratios:
//   agreement         @noble/curves / node:crypto = 2.0 (median), 2.0 (min)   → node:crypto
//   public from priv  @noble/curves / node:crypto = 0.8 (median), 0.7 (min)   → @noble/curves
// node:crypto's agreement (OpenSSL) wins even with the DER wrapping of both raw keys it needs;
// for a public key, node:crypto must parse a PKCS#8 key and export an SPKI one, which costs more
// than noble's single scalar multiplication. The agreement is the cost an INIT / SYN puts on a
// server, so it is the figure that matters.
import { createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import type { RandomSource } from './random.js';

export const X25519_KEY_LENGTH = 32;

/**
 * How many scalar multiplications this process made: public keys derived and agreements. Tests
 * read them to show that a flood of INITs / SYNs costs the server none before a cookie is echoed
 * (issue 14 item 9); nothing else depends on them.
 */
export const x25519Counters = { publicKeys: 0, agreements: 0 };

export interface X25519KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** The key pair of a given 32-byte private key. */
export function keyPairFrom(privateKey: Uint8Array): X25519KeyPair {
  x25519Counters.publicKeys++;
  return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

/** A fresh key pair whose private key comes from the injected RandomSource. */
export function generateKeyPair(random: RandomSource): X25519KeyPair {
  return keyPairFrom(random.bytes(X25519_KEY_LENGTH));
}

// RFC 8410 DER prefixes for raw X25519 keys: PKCS#8 private key, SubjectPublicKeyInfo.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * The shared secret x25519(private, peerPublic), or undefined when the peer's key is not 32 bytes
 * or is of low order (the result would be all zeros, a key any observer knows).
 */
export function agree(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array | undefined {
  if (privateKey.length !== X25519_KEY_LENGTH || peerPublicKey.length !== X25519_KEY_LENGTH) return undefined;
  let shared: Uint8Array;
  x25519Counters.agreements++;
  try {
    shared = new Uint8Array(
      diffieHellman({
        privateKey: createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' }),
        publicKey: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, peerPublicKey]), format: 'der', type: 'spki' }),
      }),
    );
  } catch {
    return undefined; // OpenSSL refuses a low-order point
  }
  return shared.every((b) => b === 0) ? undefined : shared;
}
