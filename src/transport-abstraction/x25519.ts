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
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
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

// Raw keys reach OpenSSL as JWK (RFC 8037 "OKP"): Node imports those with the raw-key calls,
// while a DER key goes through OpenSSL 3's decoder framework, which cost most of an agreement
// (measured, CPU time of 3000 agreements, 3 rounds on a shared machine: DER keys 740-810 µs,
// JWK keys 116-125 µs, a kept private key object + JWK peer key 60-65 µs). A private key's
// object is kept for as long as its bytes are (an endpoint's key serves every agreement it makes).
const privateKeys = new WeakMap<Uint8Array, KeyObject>();

function privateKeyObject(privateKey: Uint8Array, publicKey: Uint8Array | undefined): KeyObject {
  let k = privateKeys.get(privateKey);
  if (k === undefined) {
    const jwk = { kty: 'OKP', crv: 'X25519', d: Buffer.from(privateKey).toString('base64url'), x: Buffer.from(publicKey ?? x25519.getPublicKey(privateKey)).toString('base64url') };
    k = createPrivateKey({ key: jwk, format: 'jwk' });
    privateKeys.set(privateKey, k);
  }
  return k;
}

/**
 * The shared secret x25519(private, peerPublic), or undefined when the peer's key is not 32 bytes
 * or is of low order (the result would be all zeros, a key any observer knows).
 */
export function agree(privateKey: Uint8Array, peerPublicKey: Uint8Array, publicKey?: Uint8Array): Uint8Array | undefined {
  if (privateKey.length !== X25519_KEY_LENGTH || peerPublicKey.length !== X25519_KEY_LENGTH) return undefined;
  let shared: Uint8Array;
  x25519Counters.agreements++;
  try {
    shared = new Uint8Array(
      diffieHellman({
        privateKey: privateKeyObject(privateKey, publicKey),
        publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peerPublicKey).toString('base64url') }, format: 'jwk' }),
      }),
    );
  } catch {
    return undefined; // OpenSSL refuses a low-order point
  }
  return shared.every((b) => b === 0) ? undefined : shared;
}
