// How many INIT-ACKs a listening endpoint sends to one source address (issue 14 item 10). An INIT
// of about 100 bytes earns an INIT-ACK of about 400 (the cookie carries the INIT back), so a flood
// of INITs with a spoofed source turns the endpoint into a 4× amplifier toward that address. Each
// address gets a token bucket: `perSecond` INIT-ACKs a second, `burst` at once; beyond it an INIT
// is dropped unanswered (counted as 'rate-limited'; a real client retransmits its INIT after its
// RTO, as after a loss). The buckets are a fixed table indexed by a hash of the address, so a flood
// from many spoofed addresses costs no memory; two addresses sharing a bucket share its rate.
import type { Instant } from '../transport-abstraction/transport.js';

export interface InitRateOptions {
  /** INIT-ACKs per second to one source address; 0 turns the limit off. */
  readonly perSecond: number;
  /** How many may go at once (the bucket's depth). */
  readonly burst: number;
}

/** 200 a second, 400 at once: more than any NAT's worth of clients opening connections together. */
export const DEFAULT_INIT_RATE: InitRateOptions = { perSecond: 200, burst: 400 };
const BUCKETS = 1024;

export class InitRateLimiter {
  /** Made on the first INIT (an endpoint that only connects never needs them). */
  private tokens: Float64Array | undefined;
  private updated: Float64Array | undefined;

  constructor(private readonly options: InitRateOptions = DEFAULT_INIT_RATE) {}

  /** True when an INIT from `address` may be answered now (and takes a token). */
  allow(now: Instant, address: string): boolean {
    const { perSecond, burst } = this.options;
    if (perSecond <= 0) return true;
    const table = (this.tokens ??= new Float64Array(BUCKETS));
    const updated = (this.updated ??= new Float64Array(BUCKETS).fill(-Infinity));
    const i = bucketOf(address);
    const tokens = Math.min(burst, table[i]! + ((now - updated[i]!) * perSecond) / 1000);
    updated[i] = now;
    if (tokens < 1) {
      table[i] = tokens;
      return false;
    }
    table[i] = tokens - 1;
    return true;
  }
}

/** FNV-1a of the address text, folded into the table. */
function bucketOf(address: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) h = Math.imul(h ^ address.charCodeAt(i), 0x01000193);
  return (h >>> 0) % BUCKETS;
}
