// RFC 7323 timestamps: the TSval clock, the Timestamps option each segment carries once both SYNs
// had it, TS.Recent (§4.3) and PAWS (§5.3), and the RTT sample an ACK's TSecr gives (§4).
//
// The clock ticks once per millisecond of `now` and starts at the ISS (already random and on the
// wire, so the clock tells nobody how long the host has been up, RFC 7323 §5.4); a taker imports
// the ISS with the state and so keeps the clock the client knew. After a takeover TS.Recent starts
// again from the Migrate SYN (client) or its SYN/ACK (taker): the new server's clock is not the old
// one's, and PAWS would otherwise drop its segments.
import type { Instant } from '../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from './connection.js';
import { findOption, type TcpOption } from './options.js';
import type { TcpSegment } from './wire.js';

/** Our TSval at `now`. */
export function tsValue(c: TcpMigrateConnection, now: Instant): number {
  return (Math.floor(now) + c.iss) >>> 0;
}

/** The Timestamps option for a segment sent now: our clock, and TS.Recent echoed. */
export function tsOption(c: TcpMigrateConnection, now: Instant, echo = c.tsRecent): TcpOption {
  return { type: 'timestamp', value: tsValue(c, now), echo };
}

/** After the SYN, SYN/ACK or Migrate SYN that settles it: timestamps are in use when `seg` has one. */
export function negotiate(c: TcpMigrateConnection, options: readonly TcpOption[]): void {
  const ts = c.config.timestamps ? findOption(options, 'timestamp') : undefined;
  c.tsOk = ts !== undefined;
  c.tsRecent = ts?.value ?? 0;
}

/**
 * PAWS (RFC 7323 §5.3 R1): a non-RST segment whose TSval is older than TS.Recent is a duplicate
 * from an earlier pass over the sequence space; true when `seg` must be dropped (and answered).
 * The 24-day idle rule (§5.5) is not applied.
 */
export function pawsRejects(c: TcpMigrateConnection, seg: TcpSegment): boolean {
  if (!c.tsOk) return false;
  const ts = findOption(seg.options, 'timestamp');
  return ts !== undefined && ((ts.value - c.tsRecent) | 0) < 0;
}

/** RFC 7323 §4.3: TS.Recent follows the segments at or before the last ACK we sent. */
export function updateRecent(c: TcpMigrateConnection, seg: TcpSegment): void {
  if (!c.tsOk) return;
  const ts = findOption(seg.options, 'timestamp');
  if (ts === undefined || ((ts.value - c.tsRecent) | 0) < 0) return;
  if (c.rcvOffset(seg.seq) <= c.rcvAckSent) c.tsRecent = ts.value;
}

/** The round trip an ACK's TSecr measures (RFC 7323 §4.1), or undefined without one. */
export function echoedRtt(c: TcpMigrateConnection, now: Instant, seg: TcpSegment): number | undefined {
  if (!c.tsOk) return undefined;
  const ts = findOption(seg.options, 'timestamp');
  if (ts === undefined || ts.echo === 0) return undefined;
  const r = (tsValue(c, now) - ts.echo) | 0;
  return r >= 0 ? r : undefined;
}
