// The signed, stateless State Cookie (RFC 9260 §5.1.3, §5.1.5). The listener keeps no state
// between INIT and COOKIE ECHO: everything it needs travels in the cookie, authenticated with
// HMAC-SHA-256 under the endpoint's secret. The peer's INIT packet is carried verbatim (its own
// CRC32c included), so nothing of it is lost and it is parsed with the same codec on return.
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface CookieContents {
  /** When the cookie was made (ms, driver clock) and how long it lives. */
  readonly createdAt: number;
  readonly lifetime: number;
  /** Our Initiate Tag in the INIT ACK (the new association's local tag) and our initial TSN. */
  readonly localTag: number;
  readonly localInitialTsn: number;
  /** Tie-tags (§5.2.2): the existing association's local and peer tags, or 0. */
  readonly tieLocal: number;
  readonly tiePeer: number;
  /** Streams we offered in the INIT ACK. */
  readonly outboundStreams: number;
  readonly inboundStreams: number;
  /** Our RANDOM parameter value (AUTH key vector) and the INIT ACK's extra parameter bytes. */
  readonly localRandom: Uint8Array;
  readonly localExtraParams: Uint8Array;
  /** The peer's INIT packet as received. */
  readonly initPacket: Uint8Array;
}

const MAC_LENGTH = 32;
const VERSION = 1;

export type CookieCheck =
  | { readonly ok: true; readonly cookie: CookieContents }
  | { readonly ok: false; readonly reason: 'malformed' | 'bad-mac' }
  | { readonly ok: false; readonly reason: 'stale'; readonly stalenessMicros: number; readonly cookie: CookieContents };

export function makeCookie(secret: Uint8Array, c: CookieContents): Uint8Array {
  const n = 36 + 2 + c.localRandom.length + 2 + c.localExtraParams.length + 2 + c.initPacket.length;
  const out = new Uint8Array(n + MAC_LENGTH);
  const v = new DataView(out.buffer);
  out[0] = VERSION;
  v.setFloat64(4, c.createdAt);
  v.setUint32(12, c.lifetime >>> 0);
  v.setUint32(16, c.localTag >>> 0);
  v.setUint32(20, c.localInitialTsn >>> 0);
  v.setUint32(24, c.tieLocal >>> 0);
  v.setUint32(28, c.tiePeer >>> 0);
  v.setUint16(32, c.outboundStreams);
  v.setUint16(34, c.inboundStreams);
  let at = 36;
  for (const part of [c.localRandom, c.localExtraParams, c.initPacket]) {
    v.setUint16(at, part.length);
    out.set(part, at + 2);
    at += 2 + part.length;
  }
  out.set(mac(secret, out.subarray(0, n)), n);
  return out;
}

export function checkCookie(secret: Uint8Array, bytes: Uint8Array, now: number): CookieCheck {
  if (bytes.length < 36 + 6 + MAC_LENGTH || bytes[0] !== VERSION) return { ok: false, reason: 'malformed' };
  const n = bytes.length - MAC_LENGTH;
  const expected = mac(secret, bytes.subarray(0, n));
  if (!timingSafeEqual(expected, bytes.subarray(n))) return { ok: false, reason: 'bad-mac' };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  let at = 36;
  for (let i = 0; i < 3; i++) {
    if (at + 2 > n) return { ok: false, reason: 'malformed' };
    const len = v.getUint16(at);
    if (at + 2 + len > n) return { ok: false, reason: 'malformed' };
    parts.push(bytes.slice(at + 2, at + 2 + len));
    at += 2 + len;
  }
  const cookie: CookieContents = {
    createdAt: v.getFloat64(4),
    lifetime: v.getUint32(12),
    localTag: v.getUint32(16),
    localInitialTsn: v.getUint32(20),
    tieLocal: v.getUint32(24),
    tiePeer: v.getUint32(28),
    outboundStreams: v.getUint16(32),
    inboundStreams: v.getUint16(34),
    localRandom: parts[0]!,
    localExtraParams: parts[1]!,
    initPacket: parts[2]!,
  };
  const expiry = cookie.createdAt + cookie.lifetime;
  if (now > expiry) return { ok: false, reason: 'stale', stalenessMicros: Math.min(0xffffffff, Math.round((now - expiry) * 1000)), cookie };
  return { ok: true, cookie };
}

function mac(secret: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmac('sha256', secret).update(data).digest();
}
