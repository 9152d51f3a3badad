// The endpoint's scheduler, the same for SCTP and TCP-Migrate: which connections to poll for
// datagrams (the woken set) and when the next timer fires (a DeadlineHeap with lazy deletion).
// A connection is woken by input, a timer or an application call; it stays woken until it has
// nothing more to send. Its deadline is re-read (pollTimeout) only when it may have moved — after
// it was woken or sent something — so the heap holds one live entry per armed connection and an
// idle endpoint does no work per connection. Pure: times are whatever `now` the owner uses.
import { DeadlineHeap } from './deadline-heap.js';
import type { Instant } from './transport.js';

export class EndpointScheduler<T> {
  private readonly wokenSet = new Set<T>();
  /** Connections whose deadline may have moved since it was last read. */
  private readonly moved = new Set<T>();
  /** Each connection's deadline as last pushed on the heap (heap entries that differ are stale). */
  private readonly armed = new Map<T, Instant>();
  private readonly heap = new DeadlineHeap<T>();

  constructor(private readonly deadlineOf: (item: T) => Instant | undefined) {}

  /** `item` has input, output or an application call to act on. */
  wake(item: T): void {
    this.wokenSet.add(item);
    this.moved.add(item);
  }

  /** The woken connections, in the order they were woken (poll them for datagrams). */
  woken(): IterableIterator<T> {
    return this.wokenSet.values();
  }

  /** `item` sent a datagram: sending may arm its retransmission timer. */
  sent(item: T): void {
    this.moved.add(item);
  }

  /** `item` has nothing more to send: it leaves the woken set (its deadline is still re-read). */
  idle(item: T): void {
    this.wokenSet.delete(item);
  }

  /** `item` is gone: no polls, no timer. */
  forget(item: T): void {
    this.wokenSet.delete(item);
    this.moved.delete(item);
    this.armed.delete(item);
  }

  /** The earliest armed deadline. */
  pollTimeout(): Instant | undefined {
    this.refresh();
    const h = this.heap;
    for (let t = h.peekTime(); t !== undefined; t = h.peekTime()) {
      if (this.armed.get(h.peekItem()!) === t) return t;
      h.pop(); // stale: re-armed, disarmed or forgotten since
    }
    return undefined;
  }

  /** The connections whose deadline is <= now, disarmed (run their timers, then wake them). */
  due(now: Instant): T[] {
    this.refresh();
    const h = this.heap;
    const out: T[] = [];
    for (let t = h.peekTime(); t !== undefined && t <= now; t = h.peekTime()) {
      const item = h.peekItem()!;
      h.pop();
      if (this.armed.get(item) !== t) continue;
      this.armed.delete(item);
      out.push(item);
    }
    return out;
  }

  private refresh(): void {
    for (const item of this.moved) {
      const d = this.deadlineOf(item);
      if (d === this.armed.get(item)) continue;
      if (d === undefined) this.armed.delete(item);
      else {
        this.armed.set(item, d);
        this.heap.push(d, item);
      }
    }
    this.moved.clear();
  }
}
