// One direction of a simulated link, modelled on a DummyNet pipe: random loss on entry, a drop-tail
// queue in front of a bottleneck of fixed rate (serialization), then propagation delay. On top of
// DummyNet, netem-style duplication and reordering happen at the exit (they cost no bandwidth).
//
// A packet's size on the link is its UDP payload length plus `overheadBytes` (default 0, so a flow
// of 1000-byte datagrams on a 128 kbit/s link delivers 16,000 payload bytes per second).
//
// `mtu` bounds the IP packets the link carries (UDP payload + 28 bytes of IPv4 and UDP headers): a
// larger one is dropped without a word, as DF is set and the ICMP Packet Too Big is filtered (a
// path MTU black hole, RFC 8899 §4.3), unless its sender marked it `mayFragment` (then it crosses
// as IP fragments, modelled as one packet). Reconfiguring the link changes the MTU mid-flow.
import { SeededRandom } from '../transport-abstraction/random.js';

export interface LinkConfig {
  /** One-way propagation delay in ms. */
  readonly delayMs: number;
  /** Bottleneck rate in bits per second; undefined or 0 means unlimited (no serialization, no queue). */
  readonly rateBps?: number;
  /** Drop-tail limit on bytes waiting for the bottleneck (the packet being serialized is not counted). Default unlimited. */
  readonly queueBytes?: number;
  /** Probability that a packet is lost on entry. */
  readonly loss?: number;
  /** Probability that a delivered packet is delivered twice. */
  readonly duplicate?: number;
  /** Probability that a delivered copy is held back by reorderDelayMs, letting later packets overtake it. */
  readonly reorder?: number;
  /** Extra delay of a reordered copy in ms; default 10. */
  readonly reorderDelayMs?: number;
  /** Bytes added to every packet's payload length for serialization and queue accounting (e.g. 28 for IPv4+UDP). */
  readonly overheadBytes?: number;
  /** Largest IP packet (UDP payload + 28) carried; larger ones are dropped unless they may be fragmented. Default unlimited. */
  readonly mtu?: number;
}

/** IPv4 and UDP headers: what `mtu` counts on top of the UDP payload. */
export const IP_UDP_HEADERS = 28;

/** Per-direction configuration of a link: `ab` from the first named end to the second. */
export interface DirectedLinkConfig {
  readonly ab: LinkConfig;
  readonly ba: LinkConfig;
}

export interface PipeStats {
  /** Packets offered to the pipe. */
  offered: number;
  /** Packets admitted (not lost, not queue-dropped). */
  admitted: number;
  /** Bytes admitted (payload plus overhead). */
  admittedBytes: number;
  lost: number;
  queueDropped: number;
  /** Dropped for being larger than the link's MTU. */
  tooBig: number;
  duplicated: number;
  reordered: number;
  /** Largest number of bytes seen waiting for the bottleneck. */
  maxQueuedBytes: number;
}

export const DEFAULT_REORDER_DELAY_MS = 10;

/** The outcome of offering a packet to a pipe: exit times of its copies, or why it was dropped. */
export type PipeVerdict = 'loss' | 'queue' | number;

export class Pipe {
  private config_: LinkConfig;
  get config(): LinkConfig {
    return this.config_;
  }
  readonly random: SeededRandom;
  readonly stats: PipeStats = {
    offered: 0,
    admitted: 0,
    admittedBytes: 0,
    lost: 0,
    queueDropped: 0,
    tooBig: 0,
    duplicated: 0,
    reordered: 0,
    maxQueuedBytes: 0,
  };
  /** When the bottleneck finishes serializing everything admitted so far. */
  private busyUntil = 0;
  // FIFO of admitted packets that had not started serialization when admitted: their start times
  // and sizes. Entries whose start time has passed are popped lazily on the next admission.
  private readonly starts: number[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private waiting = 0;
  // Set by the last admit(): delivery flags for the copies.
  duplicateCopy = false;
  reorderFirst = false;
  reorderSecond = false;

  constructor(config: LinkConfig, seed: number) {
    this.config_ = validateLink(config);
    this.random = new SeededRandom(seed);
  }

  /** Change the configuration; packets already admitted keep their times, the queue state stays. */
  reconfigure(config: LinkConfig): void {
    this.config_ = validateLink(config);
  }

  /** Bytes waiting for the bottleneck at `now`, not counting the packet being serialized. */
  queuedBytes(now: number): number {
    this.expire(now);
    return this.waiting;
  }

  /**
   * True (and counted as offered and dropped) when a packet of `payloadLength` UDP payload bytes is
   * larger than the link's MTU and may not be fragmented: the caller drops it instead of admit().
   */
  tooBig(payloadLength: number, mayFragment: boolean): boolean {
    const mtu = this.config_.mtu;
    if (mtu === undefined || mayFragment || payloadLength + IP_UDP_HEADERS <= mtu) return false;
    this.stats.offered++;
    this.stats.tooBig++;
    return true;
  }

  /**
   * Offer a packet of `payloadLength` bytes at `now`. Returns 'loss' or 'queue' when dropped, else
   * the time the (first) copy leaves the pipe. Then duplicateCopy / reorderFirst / reorderSecond
   * say whether a second copy is delivered and which copies are held back by reorderDelayMs.
   */
  admit(now: number, payloadLength: number): PipeVerdict {
    const c = this.config_;
    const stats = this.stats;
    stats.offered++;
    if (c.loss !== undefined && c.loss > 0 && this.random.float() < c.loss) {
      stats.lost++;
      return 'loss';
    }
    const size = payloadLength + (c.overheadBytes ?? 0);
    let exit = now;
    const rate = c.rateBps;
    if (rate !== undefined && rate > 0 && rate !== Infinity) {
      this.expire(now);
      const start = this.busyUntil > now ? this.busyUntil : now;
      if (start > now) {
        if (c.queueBytes !== undefined && this.waiting + size > c.queueBytes) {
          stats.queueDropped++;
          return 'queue';
        }
        this.starts.push(start);
        this.sizes.push(size);
        this.waiting += size;
        if (this.waiting > stats.maxQueuedBytes) stats.maxQueuedBytes = this.waiting;
      }
      exit = start + (size * 8000) / rate;
      this.busyUntil = exit;
    }
    stats.admitted++;
    stats.admittedBytes += size;
    this.duplicateCopy = c.duplicate !== undefined && c.duplicate > 0 && this.random.float() < c.duplicate;
    if (this.duplicateCopy) stats.duplicated++;
    const reorder = c.reorder ?? 0;
    this.reorderFirst = reorder > 0 && this.random.float() < reorder;
    this.reorderSecond = this.duplicateCopy && reorder > 0 && this.random.float() < reorder;
    if (this.reorderFirst) stats.reordered++;
    if (this.reorderSecond) stats.reordered++;
    return exit + c.delayMs;
  }

  private expire(now: number): void {
    const starts = this.starts;
    let head = this.head;
    while (head < starts.length && starts[head]! <= now) {
      this.waiting -= this.sizes[head]!;
      head++;
    }
    if (head === starts.length) {
      starts.length = 0;
      this.sizes.length = 0;
      head = 0;
      this.waiting = 0;
    } else if (head > 1024 && head * 2 > starts.length) {
      starts.splice(0, head);
      this.sizes.splice(0, head);
      head = 0;
    }
    this.head = head;
  }
}

function validateLink(c: LinkConfig): LinkConfig {
  const bad = (what: string): never => {
    throw new RangeError(`bad link config: ${what} (${JSON.stringify(c)})`);
  };
  if (!(c.delayMs >= 0) || !Number.isFinite(c.delayMs)) bad('delayMs must be a finite number >= 0');
  if (c.rateBps !== undefined && !(c.rateBps >= 0)) bad('rateBps must be >= 0');
  if (c.queueBytes !== undefined && !(c.queueBytes >= 0)) bad('queueBytes must be >= 0');
  for (const p of ['loss', 'duplicate', 'reorder'] as const) {
    const v = c[p];
    if (v !== undefined && !(v >= 0 && v <= 1)) bad(`${p} must be a probability in [0, 1]`);
  }
  if (c.reorderDelayMs !== undefined && !(c.reorderDelayMs >= 0)) bad('reorderDelayMs must be >= 0');
  if (c.overheadBytes !== undefined && !(c.overheadBytes >= 0)) bad('overheadBytes must be >= 0');
  if (c.mtu !== undefined && !(c.mtu >= 68)) bad('mtu must be >= 68');
  return c;
}

/** Accepts either one config for both directions or an { ab, ba } pair. */
export function isDirected(spec: LinkConfig | DirectedLinkConfig): spec is DirectedLinkConfig {
  return (spec as DirectedLinkConfig).ab !== undefined;
}
