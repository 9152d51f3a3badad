// Partial reliability, PR-SCTP (RFC 3758): the Forward-TSN-Supported parameter (0xc000) in INIT /
// INIT ACK, the timed-reliability abandon policy of the sender and the FORWARD-TSN chunk (0xc0)
// that tells the receiver to move its cumulative TSN past what was abandoned.
//
//  - Negotiation: an association with `partialReliability` set lists the parameter in its INIT /
//    INIT ACK (options.ts) and FORWARD-TSN in its AUTH CHUNKS list (a forged FORWARD-TSN would
//    make the receiver skip data). It is in use when the peer's INIT / INIT ACK carried the
//    parameter too (or, on a taker, the imported state says so: SctpState.peer_forward_tsn). With a
//    peer that does not support it nothing is ever abandoned: delivery stays fully reliable.
//  - Sender, timed reliability (§3.5 / RFC 7496's "timed" policy): a message not acknowledged
//    `lifetimeMs` after its first transmission is abandoned: its chunks leave the flight and are
//    never retransmitted. The Advanced.Peer.Ack.Point runs from the cumulative TSN ack point over
//    abandoned chunks (C2); while it is ahead of the peer's cumulative TSN a FORWARD-TSN names it
//    (C3), after a SACK that is behind it (at most one per RTO for the same point), so a lost one
//    is repeated by a later SACK. Each
//    ordered stream's entry is the SSN before its first outstanding ordered message beyond the
//    point (SSNs grow with TSNs), so the receiver skips exactly the abandoned ordered messages.
//    Checked whenever a packet is built (after any input, timer or send), not on a timer of its own.
//  - Receiver (§3.6, receiver.ts onForwardTsn): the cumulative TSN moves to the new one, fragments
//    below it are dropped, ordered streams skip the listed SSNs, and a SACK goes at once. A
//    FORWARD-TSN on an association that did not advertise support is an unknown chunk (action bits
//    11: skipped and reported with an ERROR, Unrecognized Chunk Type).
//  - Takeover: a SACK from the peer behind the point (a taker that imported an older state, or an
//    old SACK) is answered with a FORWARD-TSN too. So a client whose server acknowledged frames
//    beyond its last export tells the taker to skip them (those frames reached the old server only)
//    instead of closing with BATON_ERR_PROTOCOL; and a taker in message mode (takeover.ts) resumes
//    after the highest TSN the client holds and skips the holes the old server left.
import type { Instant } from '../transport-abstraction/transport.js';
import type { SctpAssociation } from './association.js';
import { FLAG_ENDING, FLAG_UNORDERED, type OutChunk } from './send-queue.js';
import { ssnAdd, tsnAdd, tsnDiff, tsnLt } from './serial.js';
import { FILLER_PPID } from './reassembly.js';
import type { OutboundSsns } from '../transport-abstraction/state-types.js';
import { ChunkType, type ForwardTsnChunk, type Param } from './wire/types.js';

/** The Forward-TSN-Supported parameter (RFC 3758 §3.1). */
export const FORWARD_TSN_SUPPORTED: Param = { type: 0xc000, kind: 'forward-tsn-supported' };

export interface PartialReliabilityOptions {
  /**
   * Timed reliability: abandon a message not acknowledged this many ms after its first
   * transmission. Undefined: nothing is abandoned by this side (it still accepts FORWARD-TSN).
   */
  readonly lifetimeMs?: number;
}

/** True when an INIT / INIT ACK's parameters announce PR-SCTP. */
export function announcesForwardTsn(params: readonly Param[]): boolean {
  return params.some((p) => p.kind === 'forward-tsn-supported');
}

/** PR-SCTP state and counters of one association (`a.pr`). */
export class PrState {
  /** The peer's support as imported from an exported state (a taker never saw its INIT). */
  importedPeerSupport = false;
  /** Messages this side abandoned (lifetime expired). */
  abandonedMessages = 0;
  /** FORWARD-TSN chunks sent and received (accepted ones: ahead of the cumulative TSN). */
  forwardSent = 0;
  forwardAccepted = 0;
  /** The last FORWARD-TSN sent: its point and when. @internal */
  last: { point: number; at: number } | undefined;

  constructor(readonly options: PartialReliabilityOptions | undefined) {}

  /** We advertised PR-SCTP. */
  get enabled(): boolean {
    return this.options !== undefined;
  }

}

/** PR-SCTP is in use on this association: both ends announced it. */
export function prActive(a: SctpAssociation): boolean {
  return a.pr.enabled && (a.pr.importedPeerSupport || announcesForwardTsn(a.peerInitParams));
}

/** The peer supports PR-SCTP (for the export). */
export function peerSupportsForwardTsn(a: SctpAssociation): boolean {
  return a.pr.importedPeerSupport || announcesForwardTsn(a.peerInitParams);
}

/**
 * Advanced.Peer.Ack.Point (RFC 3758 §3.5 C1, C2): the cumulative TSN ack point, moved on over
 * every abandoned chunk that directly follows it.
 */
export function advancedPeerAckPoint(a: SctpAssociation): number {
  const q = a.sender.queue;
  let point = a.sender.cumulativeAck;
  for (let i = 0; i < q.outstandingCount; i++) {
    const c = q.at(i);
    if (c.abandoned !== true) break;
    point = c.tsn;
  }
  return point;
}

/** The FORWARD-TSN for `point`: the SSN to skip to on every ordered stream in use. */
export function forwardTsnChunk(a: SctpAssociation, point: number): ForwardTsnChunk {
  const q = a.sender.queue;
  const firstBeyond = new Map<number, number>();
  for (let i = 0; i < q.outstandingCount; i++) {
    const c = q.at(i);
    if (!tsnLt(point, c.tsn) || (c.flags & FLAG_UNORDERED) !== 0 || firstBeyond.has(c.streamId)) continue;
    firstBeyond.set(c.streamId, c.ssn);
  }
  const streams: { streamId: number; ssn: number }[] = [];
  q.nextSsn.forEach((next, streamId) => {
    const beyond = firstBeyond.get(streamId);
    if (beyond === undefined && next === 0) return; // never used
    streams.push({ streamId, ssn: ((beyond ?? next) - 1) & 0xffff });
  });
  return { type: ChunkType.FORWARD_TSN, newCumulativeTsn: point >>> 0, streams };
}

/**
 * Send a FORWARD-TSN for `point`, unless one for the same point went less than an RTO ago (a peer
 * that acknowledges held data slowly, or a burst of SACKs, would otherwise draw one per SACK).
 */
function sendForward(a: SctpAssociation, point: number, now: Instant): void {
  const last = a.pr.last;
  if (last !== undefined && last.point === point && now - last.at < a.primaryRto) return;
  a.sendControl(forwardTsnChunk(a, point));
  a.pr.last = { point, at: now };
  a.pr.forwardSent++;
}

/**
 * Before a packet is built: abandon every message whose lifetime is over (whole messages only:
 * a message whose last fragment is not taken yet waits), and announce a point that moved.
 */
export function abandonStale(a: SctpAssociation, now: Instant): void {
  const lifetime = a.pr.options?.lifetimeMs;
  if (lifetime === undefined || !prActive(a)) return;
  const q = a.sender.queue;
  const n = q.outstandingCount;
  for (let i = 0; i < n; i++) {
    const c = q.at(i);
    if (c.gapAcked) continue; // acknowledged or abandoned already
    if (c.firstSentAt === undefined || now - c.firstSentAt < lifetime) break; // later chunks are younger
    let last = i;
    while (last < n && (q.at(last).flags & FLAG_ENDING) === 0) last++;
    if (last === n) break; // the message's tail is not taken yet
    for (let k = i; k <= last; k++) {
      const f: OutChunk = q.at(k);
      if (!f.gapAcked) a.sender.abandon(f);
    }
    a.pr.abandonedMessages++;
    i = last;
  }
  const point = advancedPeerAckPoint(a);
  if (tsnLt(a.sender.cumulativeAck, point)) sendForward(a, point, now);
}

/** After a SACK (processed or ignored as old): a peer behind the point gets a FORWARD-TSN (C3). */
export function afterSack(a: SctpAssociation, peerCumulativeTsn: number, now: Instant): void {
  if (!prActive(a)) return;
  const point = advancedPeerAckPoint(a);
  if (tsnLt(peerCumulativeTsn, point)) sendForward(a, point, now);
}

/** An accepted FORWARD-TSN was received (counted; the receiver did the work). */
export function forwardAccepted(a: SctpAssociation): void {
  a.pr.forwardAccepted++;
}

/** The TSN after the highest one a SACK names (cumulative TSN or the end of its last gap block). */
export function afterHighestAcked(sack: { readonly cumulativeTsnAck: number; readonly gapBlocks: ReadonlyArray<{ readonly end: number }> }): number {
  const highest = sack.gapBlocks.reduce((m, g) => Math.max(m, g.end), 0);
  return tsnAdd(sack.cumulativeTsnAck, highest + 1);
}

/**
 * How a message-mode taker continues the outbound streams (takeover.ts resumeMessages), from the
 * client's SACK (cumulative TSN `cum`, `after` = the TSN after the highest one it holds) and the
 * state's OutboundSsns (the owner's next TSN T0 and next SSN N(s) per stream when it was taken).
 * The old server went on after T0: every TSN it sent up to `after` - 1 carried at most one new SSN,
 * so no stream got beyond X(s) = N(s) + max(0, after - T0) there (an upper bound, exact when every
 * message after T0 was one chunk on that stream). Only streams with N(s) > 0 carried ordered
 * messages the taker knows of; the others start at 0 as before (a stream whose first ordered
 * message came after the last export is not continued).
 *
 * - PR-SCTP in use: the taker continues each such stream at X(s) and resumes one TSN later than
 *   `after`: that TSN is never sent, and the FORWARD-TSN that skips the old server's holes
 *   (RFC 3758 §3.2) names it as the new cumulative TSN with the pair (s, X(s) - 1) for each stream
 *   (forwardTsnChunk), so the client delivers its waiting ordered messages up to X(s) - 1 and
 *   expects X(s) next, also when it misses nothing (a FORWARD-TSN that names no new TSN is ignored).
 * - Without PR-SCTP nothing can be skipped: the taker resumes at `cum` + 1 and fills every TSN up
 *   to `after` - 1 with a filler message (FILLER_PPID: a baton receiver discards it, ordered ones
 *   advancing their stream; a TSN the client holds is a duplicate there), on the one stream that
 *   carried ordered messages with the SSNs it gave them, else unordered on stream 0. Exact when the
 *   messages after T0 were single chunks on that one stream (a call's frames); with ordered
 *   messages on several streams and a hole the takeover fails as before.
 */
export interface MessageResume {
  /** The first TSN the taker sends. */
  readonly tsn: number;
  /** Next SSN per outbound stream (undefined: all 0, the state says nothing of them). */
  readonly ssns: readonly number[] | undefined;
  /** Filler messages to send first: how many, on which stream, ordered or not. */
  readonly fill: { readonly count: number; readonly stream: number; readonly unordered: boolean };
}

export function messageResume(exported: OutboundSsns | undefined, cum: number, after: number, forwardTsn: boolean): MessageResume | { readonly failed: string } {
  const holes = tsnDiff(after, tsnAdd(cum, 1));
  const none = { count: 0, stream: 0, unordered: true };
  const used = exported === undefined ? [] : exported.nextSsn.flatMap((n, s) => (n !== 0 ? [s] : []));
  const bound = (at: number) => (n: number, s: number) => (used.includes(s) ? ssnAdd(n, Math.max(0, tsnDiff(at, exported!.nextTsn))) : 0);
  if (forwardTsn) {
    if (exported === undefined || used.length === 0) return { tsn: after, ssns: undefined, fill: none };
    return { tsn: tsnAdd(after, 1), ssns: exported.nextSsn.map(bound(after)), fill: none };
  }
  if (holes === 0) return { tsn: after, ssns: exported?.nextSsn.map(bound(after)), fill: none };
  if (used.length > 1) return { failed: `the client misses messages the old server sent (TSNs after ${cum >>> 0}), ordered ones on ${used.length} streams, and does not support PR-SCTP, so they can be neither resent nor skipped` };
  const stream = used[0];
  // The SSN the old server gave TSN cum + 1 on that stream (T0 may lie on either side of it).
  const ssns = exported?.nextSsn.map((n, s) => (s === stream ? ssnAdd(n, tsnDiff(tsnAdd(cum, 1), exported.nextTsn)) : 0));
  return { tsn: tsnAdd(cum, 1), ssns, fill: { count: holes, stream: stream ?? 0, unordered: stream === undefined } };
}

/** After resumeSending: the streams' next SSNs and the fillers of a message-mode takeover. */
export function continueStreams(a: SctpAssociation, plan: MessageResume): void {
  const q = a.sender.queue;
  plan.ssns?.forEach((n, s) => {
    if (s < q.nextSsn.length) q.nextSsn[s] = n & 0xffff;
  });
  for (let i = 0; i < plan.fill.count; i++) q.push(FILLER, plan.fill.stream, plan.fill.unordered, FILLER_PPID);
}

const FILLER = new Uint8Array([0]);
