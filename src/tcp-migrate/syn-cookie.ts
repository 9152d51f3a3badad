// SYN cookies (RFC 4987 §3.6) for a listening TCP-Migrate endpoint: a SYN costs one HMAC and one
// SYN/ACK, no connection state and no x25519 work (issue 14 item 9). Everything the handshake must
// remember travels in our initial sequence number, and the client gives it back in the ACK:
//
//   ISS = epoch mod 4 (2 bits) | MSS index (3 bits) | SACK-Permitted (1 bit) | MAC (26 bits)
//   MAC = HMAC-SHA-256(secret, epoch || local address/port || remote address/port || TCP ports
//                      || peer ISN || MSS index || SACK bit)[0..26 bits]
//
// The Migrate-Permitted key of our SYN/ACK is the endpoint's key pair of the epoch (64 s), made
// once per epoch, so no SYN costs a key generation; the client's own key, which a stateless
// server cannot keep, comes back with the client's segments after the handshake (it repeats its
// Migrate-Permitted option until the first segment from us: handshake.ts). The agreement that
// gives K is made only when a cookie has been echoed. A cookie is good in its epoch and the next
// (64-128 s): longer than the client's keep-alive idle time, whose probe (with the key) stands in
// for a lost third ACK when the client has nothing to send.
import { createHmac } from 'node:crypto';
import { addressKey, type UdpAddress } from '../transport-abstraction/address.js';
import type { RandomSource } from '../transport-abstraction/random.js';
import type { Instant } from '../transport-abstraction/transport.js';
import { generateKeyPair, type KeyPair } from './migrate-crypto.js';

export const COOKIE_EPOCH_MS = 64_000;
/** The MSS values a cookie can carry (Linux's idea): the peer gets the largest not above its own. */
const MSS_TABLE = [536, 1200, 1220, 1280, 1360, 1400, 1440, 1460] as const;
const MAC_MASK = 0x3ffffff;

export interface CookieContents {
  /** The MSS the peer announced, rounded down to the table. */
  readonly mss: number;
  readonly sackPermitted: boolean;
  /** The key pair our SYN/ACK announced. */
  readonly keyPair: KeyPair;
}

export interface FourTuple {
  readonly local: UdpAddress;
  readonly remote: UdpAddress;
  readonly localPort: number;
  readonly remotePort: number;
}

export class SynCookies {
  private readonly secret: Uint8Array;
  private readonly keys = new Map<number, KeyPair>();

  constructor(private readonly random: RandomSource) {
    this.secret = random.bytes(32);
  }

  private epochOf(now: Instant): number {
    return Math.floor(now / COOKIE_EPOCH_MS) >>> 0;
  }

  /** The epoch's key pair, made on first use; older epochs than the previous one are forgotten. */
  keyPair(epoch: number): KeyPair {
    let k = this.keys.get(epoch);
    if (k === undefined) {
      k = generateKeyPair(this.random);
      this.keys.set(epoch, k);
      for (const e of this.keys.keys()) if (e + 1 < epoch) this.keys.delete(e);
    }
    return k;
  }

  /** Our ISS for a SYN with `peerIsn`, MSS `mss` and SACK-Permitted `sack`; and the key to announce. */
  issue(now: Instant, t: FourTuple, peerIsn: number, mss: number, sack: boolean): { iss: number; keyPair: KeyPair } {
    const epoch = this.epochOf(now);
    let index = 0;
    for (let i = 0; i < MSS_TABLE.length; i++) if (MSS_TABLE[i]! <= mss) index = i;
    const mac = this.mac(epoch, t, peerIsn, index, sack);
    const iss = (((epoch & 3) << 30) | (index << 27) | (sack ? 1 << 26 : 0) | mac) >>> 0;
    return { iss, keyPair: this.keyPair(epoch) };
  }

  /** The cookie in an ACK (its ack - 1 is our ISS, its seq - 1 the peer's ISN); undefined if forged or stale. */
  check(now: Instant, t: FourTuple, peerIsn: number, iss: number): CookieContents | undefined {
    const current = this.epochOf(now);
    const tag = iss >>> 30;
    const epoch = (current & 3) === tag ? current : ((current - 1) & 3) === tag ? current - 1 : -1;
    if (epoch < 0) return undefined;
    const index = (iss >>> 27) & 7;
    const sack = ((iss >>> 26) & 1) === 1;
    if (this.mac(epoch >>> 0, t, peerIsn, index, sack) !== (iss & MAC_MASK)) return undefined;
    const keyPair = this.keys.get(epoch >>> 0);
    if (keyPair === undefined) return undefined; // we never announced a key in that epoch
    return { mss: MSS_TABLE[index]!, sackPermitted: sack, keyPair };
  }

  private mac(epoch: number, t: FourTuple, peerIsn: number, index: number, sack: boolean): number {
    const fixed = new Uint8Array(14);
    const v = new DataView(fixed.buffer);
    v.setUint32(0, epoch);
    v.setUint32(4, peerIsn >>> 0);
    v.setUint16(8, t.localPort);
    v.setUint16(10, t.remotePort);
    fixed[12] = index;
    fixed[13] = sack ? 1 : 0;
    const d = createHmac('sha256', this.secret).update(fixed).update(addressKey(t.local)).update('|').update(addressKey(t.remote)).digest();
    return d.readUInt32BE(0) & MAC_MASK;
  }
}
