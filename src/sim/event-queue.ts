// The simulator's event queue: a binary min-heap ordered by (time, insertion sequence), so events
// at the same virtual time run in the order they were scheduled and every run replays exactly.

/** Something the queue can order. `seq` is assigned by the queue on push. */
export interface QueuedEvent {
  time: number;
  seq: number;
}

export class EventQueue<E extends QueuedEvent> {
  private readonly heap: E[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** The earliest event without removing it. */
  peek(): E | undefined {
    return this.heap[0];
  }

  push(event: E): void {
    event.seq = this.nextSeq++;
    const heap = this.heap;
    let i = heap.length;
    heap.push(event);
    // Sift up.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.time < event.time || (p.time === event.time && p.seq < event.seq)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  pop(): E | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    const n = heap.length;
    if (n > 0) {
      // Sift the last element down from the root.
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        let child = left;
        let c = heap[left]!;
        if (right < n) {
          const r = heap[right]!;
          if (r.time < c.time || (r.time === c.time && r.seq < c.seq)) {
            child = right;
            c = r;
          }
        }
        if (last.time < c.time || (last.time === c.time && last.seq < c.seq)) break;
        heap[i] = c;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }

  clear(): void {
    this.heap.length = 0;
  }
}
