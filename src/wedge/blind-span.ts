// Where a taker's blind resume starts (transport.ts takeover(…, resumeFrom, resumeAt)): the stream
// offset the client has probably reached, predicted from the announced state.
//
// The state a support group holds lags the client mid-stream: it was announced up to an update
// period before the old owner stopped, and the old owner went on sending after it. The blind bytes
// from the state's acknowledged point are then copies of what the client holds, and its first new
// byte comes only after its answer (1.5 RTT). So the taker predicts: the stream moved at the rate
// the announcements show (acknowledged bytes over the time between their arrivals, a moving
// average: soft-state-table.ts TableEntry.rate), from the state's arrival until the old owner
// stopped —
//   - a move (the old owner is alive and sends until the client accepts the taker) or a monitor's
//     report (the old owner may have sent until the notice; what it had in flight then still
//     drains to the client): now;
//   - a heartbeat verdict (it died within the update period after its last announcement, the one
//     that carried this state, and its notice comes k periods later): the middle of that period;
// and the span starts a quarter of its length before that point: what the prediction leaves out
// (the announcement's and the request's one-way delays, the old owner's queue) puts the client
// further on. Wrong either way, it costs what the blind resume cost before: a client past the
// span gets copies, a client behind it a hole that the gap-filling resumption fills after its
// answer. Each blind byte is sent once (no byte reaches the client more than twice).
//
// No blind resume (the request goes alone, at once: 1.5 RTT, no copies) when it would cost more
// than it can save: the predicted lag is more than twice the span (the prediction's error, a
// fraction of what it bridges, would exceed the span), the span's margin is more than MAX_MARGIN_MS of the stream (copies on a slow link
// take longer than the round trip they save: Figure 5 drifted 37% with them), or there is no rate
// (one state heard since the owner took over). A stream that did not move between the last two
// states (paused) is resumed blind from the state's point: that is where the client stands.
import type { TransportState } from '../transport-abstraction/state-types.js';
import type { Instant } from '../transport-abstraction/transport.js';
import type { TableEntry } from './soft-state-table.js';
import type { DeathVerdict } from './takeover.js';

export interface BlindSpanInput {
  readonly state: TransportState;
  /** When the state arrived here, and the stream's recent rate, bytes per ms (soft-state-table.ts TableEntry). */
  readonly receivedAt: Instant;
  readonly rate?: number;
  readonly by: DeathVerdict;
  readonly now: Instant;
  /** The update period (a heartbeat death lies within one after the last announcement). */
  readonly updateMs: number;
  /** The blind span's length (bytes the taker sends). */
  readonly span: number;
}

/**
 * The stream offset to send blind from (at or above the state's acknowledged point), or undefined:
 * no blind resume (see the file comment for when).
 */
export function blindStart(input: BlindSpanInput): number | undefined {
  const acked = input.state.streamBytesAcked;
  const rate = input.rate;
  if (rate === undefined) return undefined;
  if (rate === 0) return acked;
  const margin = input.span / 4;
  // The copies the margin plans cost the client's path their time at the stream's rate: more than
  // the round trip the blind resume can save on a slow stream (Figure 5's 128 kbit/s link).
  if (margin / rate > MAX_MARGIN_MS) return undefined;
  const stoppedAt = input.by === 'heartbeat' ? Math.min(input.now, input.receivedAt + input.updateMs / 2) : input.now;
  const lag = rate * Math.max(0, stoppedAt - input.receivedAt);
  if (lag > 2 * input.span) return undefined;
  return Math.max(acked, Math.floor(acked + lag - margin));
}

/** The most stream time (bytes / rate) the span's planned copies may cost: about the round trip a hit saves. */
export const MAX_MARGIN_MS = 50;

/** What a takeover job keeps of its table entry for blindStart. */
export function heard(e: TableEntry): { readonly receivedAt: Instant; readonly rate?: number } {
  return { receivedAt: e.receivedAt, ...(e.rate !== undefined ? { rate: e.rate } : {}) };
}

/**
 * About the span the transports send blind: the old owner's flight (TCP: SND.NXT - SND.UNA;
 * streamBytesSent is what its send buffer took) plus an initial window (4380 bytes), at most 64 KiB.
 */
export function blindSpan(state: TransportState): number {
  const flight = state.tcp !== undefined ? (state.tcp.sndNxt - state.tcp.sndUna) >>> 0 : state.streamBytesSent - state.streamBytesAcked;
  return Math.min(65_536, Math.max(0, flight) + 4380);
}
