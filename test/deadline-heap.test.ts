import test from 'ava';
import { DeadlineHeap } from '../src/transport-abstraction/deadline-heap.js';

test('deadline heap: pops (time, item) pairs in time order, duplicates included', (t) => {
  const heap = new DeadlineHeap<number>();
  let x = 12345;
  const times: number[] = [];
  for (let i = 0; i < 500; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const time = x % 97; // many equal deadlines
    times.push(time);
    heap.push(time, i);
  }
  t.is(heap.size, 500);
  const popped: number[] = [];
  while (heap.size > 0) {
    const time = heap.peekTime()!;
    t.is(times[heap.peekItem()!], time);
    popped.push(time);
    heap.pop();
  }
  t.deepEqual(popped, [...times].sort((a, b) => a - b));
  t.is(heap.peekTime(), undefined);
});
