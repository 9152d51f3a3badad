// A binary min-heap of (deadline, item) for the endpoint's timers. Entries are never removed from
// the middle: the endpoint remembers each association's current deadline and skips entries that
// no longer match when they reach the top (lazy deletion), so re-arming is one O(log n) push.

export class DeadlineHeap<T> {
  private readonly times: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.times.length;
  }

  push(time: number, item: T): void {
    const t = this.times;
    const it = this.items;
    let i = t.length;
    t.push(time);
    it.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (t[parent]! <= time) break;
      t[i] = t[parent]!;
      it[i] = it[parent]!;
      i = parent;
    }
    t[i] = time;
    it[i] = item;
  }

  peekTime(): number | undefined {
    return this.times[0];
  }

  peekItem(): T | undefined {
    return this.items[0];
  }

  pop(): void {
    const t = this.times;
    const it = this.items;
    const lastTime = t.pop()!;
    const lastItem = it.pop()!;
    const n = t.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && t[r]! < t[l]! ? r : l;
      if (t[c]! >= lastTime) break;
      t[i] = t[c]!;
      it[i] = it[c]!;
      i = c;
    }
    t[i] = lastTime;
    it[i] = lastItem;
  }
}
