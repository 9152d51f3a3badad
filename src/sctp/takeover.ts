// The takeover machinery an association drives, in two halves, both sans-IO.
//
// TakeoverInitiator (the new server, on an association built by importState): sends the
// authenticated ASCONF from its own address — add our address, make it primary, delete the old
// server's — with baton's takeover parameter carrying n and the serial continuing from the state's
// counter; retransmits it on T-4; sends the stale-TSN probe (probe.ts), retransmits it on its own
// RTO, and turns the SACK that answers it into the receiver state and a resume plan.
//
// With a baton client (`bundleProbe`) the probe rides in the ASCONF's own packet (ASCONF, SACK,
// probe DATA: control chunks first, RFC 9260 §6.10; AUTH covers all three), so the ASCONF-ACK and
// the SACK come back together after one round trip instead of two. The client processes the chunks
// in order: the ASCONF adds our address before the probe is seen, and a probe behind a refused
// ASCONF is a duplicate TSN, dropped without delivery. A SACK that overtakes the ASCONF-ACK is
// kept until the takeover is known to be accepted. A standard peer gets the RFC 5061 sequence:
// the probe after the ASCONF-ACK. Given the stream from the state's point (the blind resume),
// DATA chunks for it follow that packet at once (blindChunks). A re-keying request (rekey.ts)
// carries the taker's fresh x25519 key as an extra ASCONF parameter.
//
// TakeoverGuard (the client): runs each authenticated ASCONF through the RFC 5061 receiver with the
// at-most-once rule, says what to answer and which events to raise, and builds the out-of-the-blue
// ABORT (T bit) for packets from an address no longer in the association — e.g. the old server,
// resurrected or wrongly declared dead.
import type { UdpAddress } from '../transport-abstraction/address.js';
import { LocalUsageError, TransportError } from '../transport-abstraction/errors.js';
import type { SctpState } from '../transport-abstraction/state-types.js';
import type { ReceiverState, ResumeMode, TransportEvent } from '../transport-abstraction/transport.js';
import { AsconfSender } from '../addip/sender.js';
import { AsconfReceiver, type AddressChange } from '../addip/receiver.js';
import type { PeerAddressTable } from '../addip/addresses.js';
import { takenOverBy, takenOverCause } from '../addip/causes.js';
import { CauseCode, type AbortChunk, type AsconfAckChunk, type AsconfChunk, type AsconfParam, type DataChunk, type SackChunk } from './wire/types.js';
import { locateOffset, locateTsn, mappingCovers, receiverStateFromSack, resumePlan, staleProbeChunk, staleProbeTsn, type ResumeChunk } from './probe.js';
import { ssnAdd, tsnAdd, tsnLt } from './serial.js';
import { afterHighestAcked, messageResume, type MessageResume } from './pr-sctp.js';

export type TakeoverPhase = 'imported' | 'asconf-sent' | 'probing' | 'complete' | 'rejected' | 'failed';

export interface TakeoverSetup {
  readonly state: SctpState;
  /** TransportState.streamBytesAcked: stream bytes the old owner saw acknowledged in order. */
  readonly streamBytesAcked: number;
  /** TransportState.streamBytesSent: stream bytes the old owner had taken (the end of its flight at most). */
  readonly streamBytesSent?: number;
  /** Our (the new server's) address, from which the ASCONF is sent. */
  readonly newAddress: UdpAddress;
  /** The client's address the ASCONF goes to. */
  readonly client: UdpAddress;
  /** Send the probe in the ASCONF's packet (a baton client); default false: after the ASCONF-ACK. */
  readonly bundleProbe?: boolean;
  /** The blind resume's new bytes beyond the old owner's flight (one initial congestion window). */
  readonly initialWindow?: number;
  /** Our own largest DATA payload: a chunk of the map larger than this is not sent blind. */
  readonly maxChunk?: number;
  /** PPID of the outbound DATA (SctpOptions.ppid). */
  readonly ppid?: number;
  /** Max retransmissions of the ASCONF and of the probe before giving up (default 8). */
  readonly maxRetransmissions?: number;
  readonly rtoMax?: number;
  /**
   * Message mode (SctpOptions.mode 'message'): the state has no TSN map; the taker resumes after
   * the highest TSN the client holds, continues the ordered streams from the state's SSNs, and
   * skips the holes below it with a FORWARD-TSN if the client supports PR-SCTP (`forwardTsn`),
   * else fills them (pr-sctp.ts messageResume).
   */
  readonly messages?: boolean;
  readonly forwardTsn?: boolean;
}

export type InitiatorOutput =
  | { readonly kind: 'send-asconf'; readonly chunk: AsconfChunk; readonly destination: UdpAddress; readonly probe?: DataChunk; readonly blind?: readonly DataChunk[] }
  | { readonly kind: 'send-probe'; readonly chunk: DataChunk; readonly destination: UdpAddress }
  | { readonly kind: 'complete'; readonly receiver: ReceiverState; readonly chunks: readonly ResumeChunk[]; readonly next: { tsn: number; ssn: number; offset: number; streamId: number }; readonly messages?: MessageResume }
  | { readonly kind: 'failed'; readonly error: TransportError }
  /** Accepted, but the state is too old to map the client's TSNs: abort the association with `reason`. */
  | { readonly kind: 'stale-state'; readonly error: TransportError; readonly reason: string };

export class TakeoverInitiator {
  phase: TakeoverPhase = 'imported';
  readonly sender: AsconfSender;
  requestNumber: number | undefined;
  mode: ResumeMode = 'gap-fill';
  receiver: ReceiverState | undefined;
  private probe: DataChunk | undefined;
  /** The last TSN sent blind: the resume plan replays every TSN up to it with the map's sizes. */
  private blindLast: number | undefined;
  /** A SACK that arrived before the ASCONF-ACK (bundled probe): used once the takeover is accepted. */
  private earlySack: Pick<SackChunk, 'cumulativeTsnAck' | 'gapBlocks'> | undefined;
  private probeRto = 0;
  private probeDeadline = NaN;
  private probeRetransmissions = 0;
  private readonly maxRetransmissions: number;
  private readonly rtoMax: number;

  constructor(readonly setup: TakeoverSetup) {
    this.maxRetransmissions = setup.maxRetransmissions ?? 8;
    this.rtoMax = setup.rtoMax ?? 60_000;
    this.sender = new AsconfSender(setup.state.nextAsconfSerial, { maxRetransmissions: this.maxRetransmissions, rtoMax: this.rtoMax });
  }

  /** The old server's IPs: the state's local addresses that are not ours. */
  get oldServerIps(): string[] {
    return [...new Set(this.setup.state.localAddresses.map((a) => a.address))].filter((ip) => ip !== this.setup.newAddress.address);
  }

  /** Build the takeover ASCONF (add ours, set primary, delete the old ones) with number n. */
  start(now: number, requestNumber: number, mode: ResumeMode, rto: number, resumeFrom?: Uint8Array, extraParams: readonly AsconfParam[] = [], resumeAt?: number): InitiatorOutput {
    if (this.phase !== 'imported') throw new LocalUsageError(`takeover() already called (takeover ${this.phase})`);
    const at = resumeAt ?? this.setup.streamBytesAcked;
    if (!Number.isSafeInteger(at) || at < this.setup.streamBytesAcked) throw new LocalUsageError(`takeover: resumeAt ${at} is not a stream offset at or above the state's acknowledged point ${this.setup.streamBytesAcked}`);
    const ours = this.setup.newAddress.address;
    const old = this.oldServerIps;
    // The ASCONF's address parameter: an address the client knows (the old server's), so that it
    // finds the association although our address is new to it (RFC 5061 §4.1.1).
    const lookupIp = old[0] ?? ours;
    this.requestNumber = requestNumber;
    this.mode = mode;
    const chunk = this.sender.send(
      now,
      rto,
      this.setup.client,
      lookupIp,
      [{ kind: 'add-ip', ip: ours }, { kind: 'set-primary', ip: ours }, ...old.map((ip) => ({ kind: 'delete-ip' as const, ip }))],
      requestNumber,
      extraParams,
    );
    this.phase = 'asconf-sent';
    this.probeRto = rto;
    if (this.setup.bundleProbe === true) this.probe = this.makeProbe();
    const blind = this.probe !== undefined && resumeFrom !== undefined ? this.blindChunks(resumeFrom, at) : [];
    this.blindLast = blind.at(-1)?.tsn;
    return { kind: 'send-asconf', chunk, destination: this.setup.client, ...(this.probe ? { probe: this.probe } : {}), ...(blind.length > 0 ? { blind } : {}) };
  }

  /**
   * The blind resume (transport.ts takeover): DATA chunks for the stream from `from` (the state's
   * acknowledged point, or where the taker predicts the client stands), placed by the state's TSN
   * map (its open last run maps the TSNs the old owner sent after the state, full-size chunks:
   * the export barrier holds a short one until a map places it), as many bytes as the old owner's
   * flight (the client may hold any of it) plus one initial window, at most 64 KiB; sent once,
   * right behind the ASCONF's packet, so that they reach the client after it added our address.
   * Chunks the client holds are dropped there as duplicates; the rest it delivers half a round
   * trip after the request (or holds beyond a hole when `from` is past it). The resume plan that
   * follows the probe's SACK may send some again: one more copy at most, never more.
   */
  private blindChunks(bytes: Uint8Array, from: number): DataChunk[] {
    const s = this.setup.state;
    const acked = this.setup.streamBytesAcked;
    const runs = s.tsnMap;
    const flightEnd = this.setup.streamBytesSent ?? acked;
    const budget = Math.min(bytes.length, Math.max(0, flightEnd - acked) + (this.setup.initialWindow ?? 4380), 65_536);
    const out: DataChunk[] = [];
    let loc = locateOffset(from, runs);
    if (loc !== undefined && loc.offset < from) loc = locateTsn(tsnAdd(loc.tsn, 1), runs);
    while (loc !== undefined && loc.offset + loc.length - from <= budget && loc.length <= (this.setup.maxChunk ?? Infinity)) {
      const at = loc.offset - from;
      out.push({ type: 0, immediate: false, unordered: false, beginning: true, ending: true, tsn: loc.tsn, streamId: loc.streamId, ssn: loc.ssn, ppid: this.setup.ppid ?? 0, userData: bytes.subarray(at, at + loc.length) });
      loc = locateTsn(tsnAdd(loc.tsn, 1), runs);
    }
    return out;
  }

  private makeProbe(): DataChunk {
    const s = this.setup.state;
    return staleProbeChunk(staleProbeTsn(s.localInitialTsn, s.tsnMap, this.setup.streamBytesAcked), s.tsnMap);
  }

  /** An authenticated ASCONF-ACK arrived. */
  handleAsconfAck(now: number, ack: AsconfAckChunk): InitiatorOutput | undefined {
    if (this.phase !== 'asconf-sent') return undefined;
    const r = this.sender.handleAck(ack);
    if (r.kind !== 'done' || r.takeover === undefined) return undefined;
    if (!r.takeover.accepted) {
      this.phase = 'rejected';
      const by = r.takeover.acceptedByPeer;
      const why = by === undefined ? '' : ` (the client already accepted request number ${by})`;
      return { kind: 'failed', error: new TransportError('BATON_ERR_TAKEOVER_REJECTED', `the client refused takeover request ${this.requestNumber}${why}`, CauseCode.REQUEST_REFUSED_NO_AUTHORIZATION) };
    }
    this.phase = 'probing';
    this.probeDeadline = now + this.probeRto;
    if (this.setup.bundleProbe === true) {
      // The probe went with the ASCONF; its SACK may be here already.
      const early = this.earlySack;
      this.earlySack = undefined;
      return early === undefined ? undefined : this.handleSack(early);
    }
    this.probe = this.makeProbe();
    return { kind: 'send-probe', chunk: this.probe, destination: this.setup.client };
  }

  /** A SACK arrived; while probing, it tells what the client holds. */
  handleSack(sack: Pick<SackChunk, 'cumulativeTsnAck' | 'gapBlocks'>): InitiatorOutput | undefined {
    if (this.phase === 'asconf-sent' && this.probe !== undefined) {
      this.earlySack = { cumulativeTsnAck: sack.cumulativeTsnAck, gapBlocks: sack.gapBlocks.map((g) => ({ ...g })) };
      return undefined;
    }
    if (this.phase !== 'probing') return undefined;
    this.probeDeadline = NaN;
    if (this.setup.messages === true) return this.resumeMessages(sack);
    const runs = this.setup.state.tsnMap;
    if (!mappingCovers(sack, runs, this.setup.state.localInitialTsn)) {
      this.phase = 'failed';
      const reason = `baton: the exported state is older than what the client holds (cumulative TSN ${sack.cumulativeTsnAck >>> 0}); no stream offset can be trusted`;
      return { kind: 'stale-state', reason, error: new TransportError('BATON_ERR_LOCAL_ABORT', `takeover aborted: ${reason}`, CauseCode.USER_INITIATED_ABORT) };
    }
    this.phase = 'complete';
    this.receiver = receiverStateFromSack(sack, runs);
    const plan = resumePlan(sack, runs, this.mode);
    // The client may hold blind chunks beyond what this SACK shows (they arrived after it): every
    // TSN sent blind is sent again with exactly the bytes the map gives it, never re-chunked with
    // our own chunk size (the client would keep the blind copy of a TSN whose bytes then differ).
    const chunks = [...plan.chunks];
    let next = plan.next;
    while (this.blindLast !== undefined && !tsnLt(this.blindLast, next.tsn)) {
      const loc = locateTsn(next.tsn, runs);
      if (loc === undefined) break;
      chunks.push({ ...loc, held: false });
      next = { tsn: tsnAdd(loc.tsn, 1), ssn: ssnAdd(loc.ssn, 1), offset: loc.offset + loc.length, streamId: loc.streamId };
    }
    return { kind: 'complete', receiver: this.receiver, chunks, next };
  }

  /**
   * Message mode: no stream offsets to place; continue after the highest TSN the client holds
   * (every TSN the old server sent that reached the client is below it: the client accepts nothing
   * from the old server once it accepted the takeover). The holes below it are the old server's
   * messages that never arrived; they are skipped by a FORWARD-TSN (takeover-hooks.ts), never
   * resent, or filled with filler messages for a client without PR-SCTP; the ordered streams
   * continue from the state's SSNs (pr-sctp.ts messageResume).
   */
  private resumeMessages(sack: Pick<SackChunk, 'cumulativeTsnAck' | 'gapBlocks'>): InitiatorOutput {
    const cum = sack.cumulativeTsnAck >>> 0;
    const plan = messageResume(this.setup.state.outboundSsns, cum, afterHighestAcked(sack), this.setup.forwardTsn === true);
    if ('failed' in plan) {
      this.phase = 'failed';
      const reason = `baton: ${plan.failed}`;
      return { kind: 'stale-state', reason, error: new TransportError('BATON_ERR_LOCAL_ABORT', `takeover aborted: ${reason}`, CauseCode.USER_INITIATED_ABORT) };
    }
    this.phase = 'complete';
    this.receiver = { nextOffset: 0, heldRanges: [], cumulativeAck: cum };
    return { kind: 'complete', receiver: this.receiver, chunks: [], next: { tsn: plan.tsn, ssn: 0, offset: 0, streamId: 0 }, messages: plan };
  }

  /** T-4 for the ASCONF, or the probe's own retransmission timer. */
  get deadline(): number | undefined {
    if (this.phase === 'asconf-sent') return this.sender.deadline;
    if (this.phase === 'probing' && !Number.isNaN(this.probeDeadline)) return this.probeDeadline;
    return undefined;
  }

  handleTimeout(now: number): InitiatorOutput | undefined {
    if (this.phase === 'asconf-sent') {
      const r = this.sender.handleTimeout(now);
      if (r === undefined) return undefined;
      if (r.kind === 'give-up') return this.fail('the client never acknowledged the takeover ASCONF');
      return { kind: 'send-asconf', chunk: r.chunk, destination: r.destination, ...(this.probe ? { probe: this.probe } : {}) };
    }
    if (this.phase === 'probing' && now >= this.probeDeadline) {
      if (++this.probeRetransmissions > this.maxRetransmissions) return this.fail('the client never answered the stale-TSN probe');
      this.probeRto = Math.min(this.probeRto * 2, this.rtoMax);
      this.probeDeadline = now + this.probeRto;
      return { kind: 'send-probe', chunk: this.probe!, destination: this.setup.client };
    }
    return undefined;
  }

  private fail(message: string): InitiatorOutput {
    this.phase = 'failed';
    this.probeDeadline = NaN;
    return { kind: 'failed', error: new TransportError('BATON_ERR_TIMEOUT', message) };
  }
}

export interface GuardResult {
  /** The ASCONF-ACK to send (to `destination`, authenticated), if any. */
  readonly ack?: { readonly chunk: AsconfAckChunk; readonly destination: UdpAddress };
  readonly events: readonly TransportEvent[];
  readonly changes: readonly AddressChange[];
}

export class TakeoverGuard {
  readonly receiver: AsconfReceiver;

  /** `peerSerial`: the last ASCONF serial seen from the peer (initially its initial TSN - 1). */
  constructor(peerSerial: number, lastTakeover = 0) {
    this.receiver = new AsconfReceiver(peerSerial, lastTakeover);
  }

  get lastTakeover(): number {
    return this.receiver.lastTakeover;
  }

  handleAsconf(asconf: AsconfChunk, from: UdpAddress, authenticated: boolean, peers: PeerAddressTable): GuardResult {
    const r = this.receiver.handle(asconf, from, peers, authenticated);
    const events: TransportEvent[] = [];
    if (r.takeover !== undefined) {
      events.push(
        r.takeover.accepted
          ? { type: 'taken-over', requestNumber: r.takeover.requestNumber, peer: from }
          : { type: 'takeover-refused', requestNumber: r.takeover.requestNumber, peer: from, reason: r.takeover.reason ?? 'number-used' },
      );
    }
    if (r.kind === 'drop') return { events, changes: [] };
    return { ack: { chunk: r.ack, destination: r.destination }, events, changes: r.changes };
  }

  /**
   * The answer to a packet from an address that is not (or no longer) the peer's: RFC 9260 §8.4
   * out-of-the-blue handling — ABORT with the T bit, the packet's own tag reflected. After a
   * takeover the ABORT names it (cause 0xbaf3) so a baton old server knows why it must stop.
   * Undefined when the packet must not be answered (it is itself an ABORT, SHUTDOWN COMPLETE, ...).
   */
  refuseStranger(chunkTypes: readonly number[]): AbortChunk | undefined {
    if (chunkTypes.some((t) => t === 6 || t === 14 || t === 8 || t === 1)) return undefined;
    const causes = this.receiver.lastTakeover > 0 ? [takenOverCause(this.receiver.lastTakeover)] : [];
    return { type: 6, reflectedTag: true, causes };
  }
}

/** What an ABORT received by a serving side means for its 'closed' event. */
export function abortError(abort: AbortChunk): TransportError {
  const n = takenOverBy(abort.causes);
  if (n !== undefined) return new TransportError('BATON_ERR_TAKEN_OVER', `another server took this association over (request ${n})`, 0xbaf3);
  const cause = abort.causes[0]?.code;
  return new TransportError('BATON_ERR_ABORTED', `the peer aborted the association${cause === undefined ? '' : ` (cause ${cause})`}`, cause);
}
