// Datagram Packetization Layer Path MTU Discovery (RFC 8899) for one path: the state machine of
// §5.2 (DISABLED, BASE, SEARCHING, SEARCH_COMPLETE, ERROR) with PROBE_TIMER, MAX_PROBES and
// PMTU_RAISE_TIMER (§5.1.1), a binary search between BASE_PLPMTU and MAX_PLPMTU, and black-hole
// recovery (§4.3). Sans-IO and transport-neutral: sizes are whole IP packets (the unit of the SCTP
// `mtu` option), times are the caller's `now`. The transport sends a probe of the size pollProbe()
// returns, reports its acknowledgement (onProbeAcked) and suspected black holes (onBlackHole), and
// reads `plpmtu` to size its packets. SCTP's probes are HEARTBEAT + PAD (RFC 8899 §6.2.1,
// association/pmtu.ts).
//
// Probing only: ICMP Packet Too Big messages (RFC 8899 §4.6) never reach a Node.js dgram socket,
// so nothing here lowers the PLPMTU on a PTB; a smaller path shows as lost probes and, for a path
// that shrinks under a search result, as lost full-sized packets (black hole).
//
// The search: a fresh search probes MAX_PLPMTU first (the common case, a path as large as the
// local link, needs one probe), then halves the interval between the largest size acknowledged and
// the smallest size that failed MAX_PROBES times, until that interval is at most `step` bytes
// (sizes are multiples of 4: SCTP packets are). A probe that is lost is not congestion and not a
// path error: it only counts toward MAX_PROBES of its size (§3 items 4 and 7).

export type PlpmtudState = 'DISABLED' | 'BASE' | 'SEARCHING' | 'SEARCH_COMPLETE' | 'ERROR';

export interface PlpmtudConfig {
  /** BASE_PLPMTU: the size used before any probe is acknowledged and after a black hole (RFC 8899: 1200). */
  readonly base: number;
  /** MAX_PLPMTU: the largest size probed (the local link MTU, e.g. 1500 for Ethernet). */
  readonly max: number;
  /** PROBE_TIMER in ms: how long a probe may wait for its acknowledgement (at least the path RTO is used). */
  readonly probeTimer: number;
  /** MAX_PROBES: unacknowledged probes of one size before the size counts as failed (RFC 8899: 3). */
  readonly maxProbes: number;
  /** PMTU_RAISE_TIMER in ms: after a search completes, search again for a larger size (RFC 8899: 600 s). */
  readonly raiseTimer: number;
  /** The search stops when the largest acknowledged and the smallest failed size are at most this far apart. */
  readonly step: number;
}

export const PLPMTUD_DEFAULTS: PlpmtudConfig = {
  base: 1200,
  max: 1500,
  probeTimer: 2000,
  maxProbes: 3,
  raiseTimer: 600_000,
  step: 16,
};

/** A size rounded down to a multiple of 4. */
const align = (n: number): number => n & ~3;

export class Plpmtud {
  private current: PlpmtudState = 'DISABLED';
  /** The size packets are built to now. */
  plpmtu: number;
  /** Largest size acknowledged in this search. */
  private confirmed = 0;
  /** Smallest size that failed in this search (max + 1: none yet). */
  private failed: number;
  /** Size being probed (sent or due), undefined when none. */
  probeSize: number | undefined;
  /** Probes of probeSize sent so far. */
  private probeCount = 0;
  /** When the next probe of probeSize is due (NaN: none due). */
  private dueAt = NaN;
  /** PROBE_TIMER deadline of the probe in flight (NaN: none in flight). */
  private probeDeadline = NaN;
  /** PMTU_RAISE_TIMER (SEARCH_COMPLETE) or the retry of BASE (ERROR); NaN when stopped. */
  private raiseAt = NaN;
  /** Every state change, for tests and traces: [from, to, why]. */
  tracer: ((from: PlpmtudState, to: PlpmtudState, why: string) => void) | undefined;

  constructor(readonly config: PlpmtudConfig) {
    if (!(config.base >= 68 && config.max >= config.base)) throw new RangeError(`PLPMTUD: base ${config.base} / max ${config.max}`);
    if (!(config.maxProbes >= 1 && config.probeTimer > 0 && config.raiseTimer > 0 && config.step >= 4)) throw new RangeError('PLPMTUD: bad timer, probe count or step');
    this.plpmtu = config.base;
    this.failed = align(config.max) + 1;
  }

  get state(): PlpmtudState {
    return this.current;
  }

  private transition(to: PlpmtudState, why: string): void {
    const from = this.current;
    this.current = to;
    this.tracer?.(from, to, why);
  }

  /** Leave DISABLED: use BASE_PLPMTU and confirm it with a first probe (§5.2 BASE). */
  start(now: number): void {
    if (this.current !== 'DISABLED') return;
    this.enterBase(now, align(this.config.max) + 1, 'path in use');
  }

  private enterBase(now: number, failed: number, why: string): void {
    this.plpmtu = this.config.base;
    this.confirmed = 0;
    this.failed = failed;
    this.raiseAt = NaN;
    this.transition('BASE', why);
    this.probe(now, this.config.base);
  }

  private probe(now: number, size: number): void {
    this.probeSize = size;
    this.probeCount = 0;
    this.probeDeadline = NaN;
    this.dueAt = now;
  }

  /**
   * The size of a probe to send now, if one is due; the caller sends it at once. `rto` is the path's
   * retransmission timeout: the probe waits max(PROBE_TIMER, rto) for its acknowledgement.
   */
  pollProbe(now: number, rto = 0): number | undefined {
    if (this.probeSize === undefined || !(this.dueAt <= now)) return undefined;
    this.dueAt = NaN;
    this.probeCount++;
    this.probeDeadline = now + Math.max(this.config.probeTimer, rto);
    return this.probeSize;
  }

  /** A probe of `size` was acknowledged (a late answer to an earlier probe of the same size counts). */
  onProbeAcked(now: number, size: number): void {
    if (size !== this.probeSize) return;
    this.probeSize = undefined;
    this.probeDeadline = NaN;
    this.dueAt = NaN;
    if (this.current === 'BASE' || this.current === 'ERROR') {
      this.confirmed = this.config.base;
      this.transition('SEARCHING', `BASE_PLPMTU ${size} confirmed`);
    } else if (this.current === 'SEARCHING') {
      this.confirmed = size;
      this.plpmtu = size;
    } else return;
    this.next(now);
  }

  /**
   * Full-sized packets are being lost while the path still works (the transport's judgement,
   * RFC 8899 §4.3): back to BASE_PLPMTU, confirm it, then search again below the size that failed.
   * Returns true when the PLPMTU dropped.
   */
  onBlackHole(now: number): boolean {
    if ((this.current !== 'SEARCHING' && this.current !== 'SEARCH_COMPLETE') || this.plpmtu <= this.config.base) return false;
    this.enterBase(now, this.plpmtu, `black hole at ${this.plpmtu}`);
    return true;
  }

  /** The earliest deadline: a probe due, a probe timing out, the raise timer. */
  pollTimeout(): number | undefined {
    let t = Infinity;
    if (this.dueAt < t) t = this.dueAt;
    if (this.probeDeadline < t) t = this.probeDeadline;
    if (this.raiseAt < t) t = this.raiseAt;
    return t === Infinity ? undefined : t;
  }

  handleTimeout(now: number): void {
    if (this.probeDeadline <= now) {
      this.probeDeadline = NaN;
      if (this.probeCount < this.config.maxProbes) this.dueAt = now;
      else this.probeFailed(now);
    }
    if (this.raiseAt <= now) {
      this.raiseAt = NaN;
      if (this.current === 'SEARCH_COMPLETE') {
        this.failed = align(this.config.max) + 1;
        this.transition('SEARCHING', 'PMTU_RAISE_TIMER');
        this.next(now);
      } else if (this.current === 'ERROR') this.enterBase(now, align(this.config.max) + 1, 'retry BASE_PLPMTU');
    }
  }

  /** MAX_PROBES probes of probeSize went unanswered. */
  private probeFailed(now: number): void {
    const size = this.probeSize!;
    this.probeSize = undefined;
    if (this.current === 'BASE') {
      // Even BASE_PLPMTU gets no answer (or the peer does not answer padded probes): keep BASE
      // for data and try again after PMTU_RAISE_TIMER (§5.2 ERROR, MIN_PLPMTU = BASE_PLPMTU here).
      this.transition('ERROR', `BASE_PLPMTU ${size} unconfirmed after ${this.config.maxProbes} probes`);
      this.raiseAt = now + this.config.raiseTimer;
      return;
    }
    if (this.current !== 'SEARCHING') return;
    this.failed = size;
    this.next(now);
  }

  /** Choose the next size to probe in SEARCHING, or complete the search. */
  private next(now: number): void {
    const max = align(this.config.max);
    let size: number | undefined;
    if (this.failed > max && this.confirmed < max) size = max;
    else if (this.failed - this.confirmed > this.config.step) size = align((this.confirmed + this.failed) >>> 1);
    if (size !== undefined && size > this.confirmed && size < this.failed) {
      this.probe(now, size);
      return;
    }
    this.probeSize = undefined;
    this.transition('SEARCH_COMPLETE', `PLPMTU ${this.plpmtu}`);
    this.raiseAt = now + this.config.raiseTimer;
  }
}
