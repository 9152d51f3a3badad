// The Migrate options' cryptography, with modern primitives in place of the draft's ECDH curve and
// hash: x25519 (RFC 7748) agreement during the three-way handshake, HMAC-SHA-256 for the key,
// the token and the authenticator.
//
//   K = HMAC-SHA-256(key = x25519(own private, peer public),
//                    "baton tcp-migrate K" || initiator public || acceptor public)
//   T = HMAC-SHA-256(K, "T" || ISN_i || ISN_a)[0..8]                         (64 bits)
//   R = HMAC-SHA-256(K, "R" || ISN_i || ISN_a || S || P|ReqNo || flags
//                    || len(A) || A || UDP port || taker TCP port || client TCP port
//                    [|| E])[0..12] (96 bits)
// E: the taker's fresh x25519 public key when the Migrate SYN carries one as its payload (the
// re-keying takeover, src/transport-abstraction/rekey.ts).
// ISNs and S are 32-bit big-endian; S is the Migrate SYN's sequence number. A is the taker's IP
// address as the client sees it (4 or 16 bytes; an IPv4-mapped IPv6 address counts as its IPv4
// address), with the taker's UDP port: the source of the Migrate SYN's datagram. Ports are 16-bit
// big-endian. Binding R to the taker's address means a Migrate SYN relayed from another address
// fails the check, so an attacker who intercepts one cannot take the connection with it (issue 14
// item 5); README.md says what a NAT in front of the taker does to that. HMAC is pure computation
// (node:crypto), no I/O.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { UdpAddress } from '../transport-abstraction/address.js';
import { agree, type X25519KeyPair } from '../transport-abstraction/x25519.js';
import { AUTHENTICATOR_LENGTH, TOKEN_LENGTH } from './options.js';
import { ipBytes } from './wire.js';

export { generateKeyPair } from '../transport-abstraction/x25519.js';
export type KeyPair = X25519KeyPair;

/** K from our private key and the peer's public key; undefined for an invalid (low-order) key. */
export function deriveConnectionKey(own: KeyPair, peerPublic: Uint8Array, localIsInitiator: boolean): Uint8Array | undefined {
  const shared = agree(own.privateKey, peerPublic, own.publicKey);
  if (shared === undefined) return undefined;
  const [first, second] = localIsInitiator ? [own.publicKey, peerPublic] : [peerPublic, own.publicKey];
  return new Uint8Array(createHmac('sha256', shared).update(K_LABEL).update(first).update(second).digest());
}

// The labels as bytes once (a string argument to update() is encoded on every call).
const K_LABEL = new TextEncoder().encode('baton tcp-migrate K');
const T_LABEL = new TextEncoder().encode('T');

function u32be(v: number): Uint8Array {
  const b = new Uint8Array(4);
  b[0] = v >>> 24;
  b[1] = v >>> 16;
  b[2] = v >>> 8;
  b[3] = v;
  return b;
}

export function deriveToken(key: Uint8Array, initiatorIsn: number, acceptorIsn: number): Uint8Array {
  const isns = new Uint8Array(9);
  isns.set(T_LABEL, 0);
  isns.set(u32be(initiatorIsn), 1);
  isns.set(u32be(acceptorIsn), 5);
  const mac = createHmac('sha256', key).update(isns).digest();
  return new Uint8Array(mac.subarray(0, TOKEN_LENGTH));
}

/** Where a Migrate SYN comes from, as the client sees it: what R binds the takeover to. */
export interface TakerBinding {
  /** The taker's UDP address and port (the datagram's source at the client). */
  readonly taker: UdpAddress;
  /** The taker's TCP port (the segment's source port). */
  readonly takerPort: number;
  /** The client's TCP port (the segment's destination port). */
  readonly clientPort: number;
}

/** The address bytes R covers: 4 for IPv4 (also when written IPv4-mapped in IPv6), else 16. */
function addressBytes(text: string): Uint8Array {
  const b = ipBytes(text);
  if (b === undefined) return new TextEncoder().encode(text); // not an IP address: bind to the text
  if (b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return b.subarray(12);
  return b;
}

export function authenticator(
  key: Uint8Array,
  initiatorIsn: number,
  acceptorIsn: number,
  seq: number,
  requestByte: number,
  flags: number,
  binding: TakerBinding,
  rekey?: Uint8Array,
): Uint8Array {
  const address = addressBytes(binding.taker.address);
  const ports = new Uint8Array(6);
  ports[0] = binding.taker.port >>> 8;
  ports[1] = binding.taker.port;
  ports[2] = binding.takerPort >>> 8;
  ports[3] = binding.takerPort;
  ports[4] = binding.clientPort >>> 8;
  ports[5] = binding.clientPort;
  const mac = createHmac('sha256', key)
    .update('R')
    .update(u32be(initiatorIsn))
    .update(u32be(acceptorIsn))
    .update(u32be(seq))
    .update(new Uint8Array([requestByte & 0xff, flags & 0xff]))
    .update(new Uint8Array([address.length]))
    .update(address)
    .update(ports)
    .update(rekey ?? new Uint8Array(0))
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
