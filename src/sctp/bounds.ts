// How long an association waits before it gives up, from its options (RFC 9260 §16 protocol
// parameters), worst case, in ms. The README's transport section quotes these; the tests check the
// association keeps them. `rto` is the path's RTO when the silence begins (RTO.Initial before any
// measurement; RTO.Min on a short path that has measured).
import type { ResolvedOptions } from './options.js';

type Limits = Pick<ResolvedOptions, 'rto' | 'heartbeatInterval' | 'pathMaxRetrans' | 'associationMaxRetrans' | 'maxInitRetransmits'>;

/** min(rto · 2^k, RTO.Max): the RTO after k back-offs. */
function backedOff(o: Limits, rto: number, k: number): number {
  return Math.min(rto * 2 ** k, o.rto.max);
}

/**
 * A peer that dies while this side is idle (nothing to send, e.g. a receive-only client), counted
 * from the last answered HEARTBEAT: HEARTBEATs go every RTO ± RTO/2 (+ HB.interval while the path
 * is active, §8.3), the RTO doubled after each unanswered one, which counts one error; after
 * Path.Max.Retrans errors the path is inactive and probed without HB.interval; the association
 * closes with BATON_ERR_TIMEOUT at the expiry that counts error Association.Max.Retrans + 1, the
 * end of interval Association.Max.Retrans + 2.
 */
export function idleDeadPeerBound(o: Limits, rto = o.rto.initial): number {
  let t = 0;
  for (let j = 1; j <= o.associationMaxRetrans + 2; j++) {
    const errors = Math.max(0, j - 2); // counted when interval j was set
    t += 1.5 * backedOff(o, rto, errors) + (errors <= o.pathMaxRetrans ? o.heartbeatInterval : 0);
  }
  return t;
}

/**
 * A peer that dies while DATA (or a SHUTDOWN) is outstanding: T3-rtx doubles on each expiry
 * (§6.3.3) and the association closes at expiry Association.Max.Retrans + 1. The same holds for
 * a takeover nobody answers: the ASCONF (T-4, RFC 5061 §5.1) and then the stale-TSN probe are
 * each given up after Association.Max.Retrans retransmissions, with BATON_ERR_TIMEOUT.
 */
export function busyDeadPeerBound(o: Limits, rto = o.rto.initial): number {
  let t = 0;
  for (let k = 0; k <= o.associationMaxRetrans; k++) t += backedOff(o, rto, k);
  return t;
}

/** A connect to an address where nothing answers: INIT sent 1 + Max.Init.Retransmits times (§5.1). */
export function connectBound(o: Limits): number {
  let t = 0;
  for (let k = 0; k <= o.maxInitRetransmits; k++) t += backedOff(o, o.rto.initial, k);
  return t;
}
