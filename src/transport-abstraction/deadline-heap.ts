// A binary min-heap of (deadline, item): the timer table of an endpoint (SCTP and TCP-Migrate alike).
// Entries are never removed from the middle: the owner keeps the current deadline per item and
// skips entries that no longer match when they surface (lazy deletion), so re-arming a timer is
// one O(log n) push. Pure data structure: no clock, times are whatever `now` the owner uses.

export class DeadlineHeap<T> {
  private readonly times: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.times.length;
  }

  push(time: number, item: T): void {
    const times = this.times;
    const items = this.items;
    let i = times.length;
    times.push(time);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! <= time) break;
      times[i] = times[parent]!;
      items[i] = items[parent]!;
      i = parent;
    }
    times[i] = time;
    items[i] = item;
  }

  peekTime(): number | undefined {
    return this.times[0];
  }

  peekItem(): T | undefined {
    return this.items[0];
  }

  pop(): void {
    const times = this.times;
    const items = this.items;
    const lastTime = times.pop()!;
    const lastItem = items.pop()!;
    const n = times.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && times[r]! < times[l]! ? r : l;
      if (times[c]! >= lastTime) break;
      times[i] = times[c]!;
      items[i] = items[c]!;
      i = c;
    }
    times[i] = lastTime;
    items[i] = lastItem;
  }
}
