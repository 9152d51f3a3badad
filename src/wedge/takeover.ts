// The takeover queue of one wedge (paper §3, §4.1): when a member of its support group is declared
// dead, the connections that member announced are taken over one after another, each after the
// backoff of backoff.ts (takeoverDelay with this wedge's load at that moment: the first waits from
// the death notice, each next one from the previous request). A wedge that is the only live
// candidate for a connection does not back off (backoff.ts: the pacing only helps against
// competitors and costs a lone taker seconds). Before each request the entry is checked again:
// a higher takeover number heard, or (heartbeat deaths only) the member announcing again, skips it.
// Sans-IO: the wedge gives the time and arms the one timer.
import type { RandomSource } from '../transport-abstraction/random.js';
import type { TransportState } from '../transport-abstraction/state-types.js';
import type { Instant } from '../transport-abstraction/transport.js';
import { DEFAULT_BACKOFF, takeoverDelay, type BackoffRule, type TakeoverLoad } from './backoff.js';

/** Who declared the member dead. */
export type DeathVerdict = 'heartbeat' | 'monitor' | 'move' | 'registry';

/** One connection to take over. */
export interface TakeoverJob {
  readonly key: string;
  /**
   * The announced state at the death notice. Kept here because the table entry may expire during
   * the backoff (CACHE_TIMEOUT counts from the last announcement, the death notice comes up to
   * k*UPDATE_SEC+grace after it).
   */
  readonly state: TransportState;
  /** The owner whose connection it is (the dead member, or the move's source). */
  readonly from: string;
  readonly by: DeathVerdict;
  /** When the death notice (or the move command) arrived. */
  readonly noticedAt: Instant;
  /** Sent without backoff (a move, or this wedge is the only live candidate). */
  readonly unpaced: boolean;
  /** When the state arrived, and the stream's rate (the table entry's): where the blind resume starts (blind-span.ts). */
  readonly receivedAt?: Instant;
  readonly rate?: number;
}

export interface TakeoverQueueOptions {
  readonly random: RandomSource;
  readonly rule?: BackoffRule;
  /** This wedge's load now (hosted connections, outstanding takeover requests). */
  readonly load: () => TakeoverLoad;
}

/** Jobs in order, each released at its time. */
export class TakeoverQueue {
  private readonly jobs: TakeoverJob[] = [];
  /** When the head job is due; undefined when none is scheduled. */
  private due: Instant | undefined;
  /** The delay the head job waits (for the log). */
  private delay = 0;

  constructor(private readonly options: TakeoverQueueOptions) {}

  get length(): number {
    return this.jobs.length;
  }

  /** Queue jobs (a death notice); the first waits from `now`. */
  add(now: Instant, jobs: readonly TakeoverJob[]): void {
    const known = new Set(this.jobs.map((j) => j.key));
    for (const j of jobs) if (!known.has(j.key)) this.jobs.push(j);
    if (this.due === undefined) this.schedule(now);
  }

  /** A job for this connection waits. */
  has(key: string): boolean {
    return this.jobs.some((j) => j.key === key);
  }

  /** When the wedge must call take() next. */
  get nextAt(): Instant | undefined {
    return this.due;
  }

  /** The job due at `now`, with the delay it waited; the next one is scheduled from now. */
  take(now: Instant): { job: TakeoverJob; delayMs: number } | undefined {
    if (this.due === undefined || now < this.due) return undefined;
    const job = this.jobs.shift()!;
    const delayMs = this.delay;
    this.due = undefined;
    if (this.jobs.length > 0) this.schedule(now);
    return { job, delayMs };
  }

  private schedule(now: Instant): void {
    const head = this.jobs[0];
    if (head === undefined) return;
    this.delay = head.unpaced ? 0 : takeoverDelay(this.options.load(), this.options.random, this.options.rule ?? DEFAULT_BACKOFF);
    this.due = now + this.delay;
  }
}
