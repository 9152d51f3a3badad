// The media clock of one paced response body, and how fast its bytes may go (README "Media
// streams"). Stream offset o of the body (bodyStart <= o < end) is due at
//
//   due(o) = origin + (o - bodyStart) * 8000 / bitsPerSecond      (ms, the runtime's clock)
//
// The clock starts (origin = now) when the sender reaches the body's first byte, not when the
// content server's head arrived: a response queued behind the paced body of an earlier one on a
// persistent connection starts its clock when its own body begins.
// and goes to the transport no earlier than that, in steps of one tick's worth of bytes. When the
// stream is behind its clock (a takeover's gap, a client that stopped reading) it catches up at
// `catchUp` times the media rate, never faster, so the backlog is not burst out and the clock is
// not restarted; a lag beyond `maxLagMs` is given up: the origin moves forward by the excess (the
// clock slips) and the lag is held at maxLagMs. While the transport holds `maxBuffered` bytes the
// client has not acknowledged, nothing more goes (a client that does not read holds the stream at
// that point; the transport's next input asks again). Pure: time comes in as `now`.
import { BatonError } from '../transport-abstraction/errors.js';
import type { Instant } from '../transport-abstraction/transport.js';
import type { PaceLimit } from './mapper.js';

/** A bad media rate: given by hand (`--pace`), or read from the object or a state. */
export class MediaRateError extends BatonError {
  declare readonly code: 'BATON_ERR_MEDIA_RATE';
  constructor(message: string) {
    super('BATON_ERR_MEDIA_RATE', message);
  }
}

/** Media rates accepted, bits per second: 1 kbit/s to 10 Gbit/s. */
export const MIN_BITS_PER_SECOND = 1_000;
export const MAX_BITS_PER_SECOND = 10_000_000_000;

/** A MediaRateError unless `bitsPerSecond` is an integer rate we pace at. */
export function checkRate(bitsPerSecond: number, what: string): MediaRateError | undefined {
  if (!Number.isSafeInteger(bitsPerSecond) || bitsPerSecond < MIN_BITS_PER_SECOND || bitsPerSecond > MAX_BITS_PER_SECOND) {
    return new MediaRateError(`${what} ${String(bitsPerSecond)} bit/s is not a media rate from ${MIN_BITS_PER_SECOND} to ${MAX_BITS_PER_SECOND} bit/s`);
  }
  return undefined;
}

/**
 * Parses a rate as `--pace` takes it: bits per second, with an optional k, M or G suffix (powers
 * of 1000) and an optional "bit/s" or "bps": `1500000`, `1.5M`, `256k`, `2Mbit/s`. Throws
 * MediaRateError for anything else or a rate out of range.
 */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:bit\/s|bps)?\s*$/.exec(text);
  if (m === null) throw new MediaRateError(`"${text}" is not a media rate (bits per second, e.g. 1500000, 1.5M, 256k)`);
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const bits = Math.round(Number(m[1]) * scale);
  const bad = checkRate(bits, `"${text}" =`);
  if (bad) throw bad;
  return bits;
}

/** Tuning of the pace (defaults in brackets). */
export interface PaceOptions {
  /** Release step: one tick of media bytes at a time [10 ms]. */
  readonly tickMs?: number;
  /** Catch-up rate when behind, a multiple of the media rate [1.5]. */
  readonly catchUp?: number;
  /** Largest lag kept; beyond it the clock slips [10,000 ms]. */
  readonly maxLagMs?: number;
  /** Unacknowledged bytes the transport may hold [max(64 KiB, 1 s of media)]. */
  readonly maxBuffered?: number;
}

/** The clock and the catch-up state of one paced body. */
export class MediaPace {
  /** When the body's first byte is due (runtime ms; undefined: not started); moves forward when the clock slips. */
  origin: number | undefined;
  /** Times the clock slipped, and by how much in all (ms). */
  slips = 0;
  slippedMs = 0;
  private readonly bytesPerMs: number;
  private readonly tickMs: number;
  private readonly catchUp: number;
  private readonly maxLagMs: number;
  private readonly maxBuffered: number;
  /** The catch-up clock: the earliest time the byte at `cursor` may go at the catch-up rate. */
  private cursor: number;
  private free: number;

  constructor(
    readonly bitsPerSecond: number,
    /** Stream offset of the body's first byte, and just after its last. */
    readonly bodyStart: number,
    readonly end: number,
    origin: number | undefined,
    /** The stream offset the sender starts at (a taker: the client's next byte), and when. */
    start: { readonly offset: number; readonly now: Instant },
    options: PaceOptions = {},
  ) {
    this.origin = origin;
    this.bytesPerMs = bitsPerSecond / 8000;
    this.tickMs = options.tickMs ?? 10;
    this.catchUp = options.catchUp ?? 1.5;
    this.maxLagMs = options.maxLagMs ?? 10_000;
    this.maxBuffered = options.maxBuffered ?? Math.max(64 * 1024, Math.ceil(this.bytesPerMs * 1000));
    this.cursor = start.offset;
    this.free = start.now;
  }

  /** When stream byte `offset` of the body is due (runtime ms; the clock must have started). */
  due(offset: number): number {
    return this.origin! + (offset - this.bodyStart) / this.bytesPerMs;
  }

  /** The sender is at `offset` (inside this body), the transport holds `buffered` unacknowledged bytes. */
  limit(now: Instant, offset: number, buffered: number): PaceLimit {
    if (this.origin === undefined) {
      this.origin = now;
      this.free = Math.max(this.free, now);
    }
    const lag = now - this.due(offset);
    if (lag > this.maxLagMs) {
      this.origin! += lag - this.maxLagMs;
      this.slips++;
      this.slippedMs += lag - this.maxLagMs;
    }
    // Bytes the transport took since the last call move the catch-up clock on; unused credit is
    // not saved beyond one tick (no burst after a pause).
    const catchRate = this.bytesPerMs * this.catchUp;
    if (offset > this.cursor) {
      this.free += (offset - this.cursor) / catchRate;
      this.cursor = offset;
    }
    this.free = Math.max(this.free, now - this.tickMs);
    if (buffered >= this.maxBuffered) return { limit: offset };
    const scheduled = this.bodyStart + Math.floor((now - this.origin!) * this.bytesPerMs);
    const caughtUp = this.cursor + Math.floor((now - this.free) * catchRate);
    const limit = Math.min(this.end, scheduled, caughtUp);
    if (limit > offset) return { limit };
    // Blocked: ask again when one tick of bytes beyond `offset` is allowed by both.
    const step = Math.max(1, Math.ceil(this.bytesPerMs * this.tickMs));
    const next = Math.max(this.due(offset + step), this.free + (offset + step - this.cursor) / catchRate);
    return { limit: offset, next };
  }
}
