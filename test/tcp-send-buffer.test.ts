// The TCP-Migrate send buffer holds no ring while nothing is queued (issue 12, "Connections per
// process": a 16 KiB ring made on construction was most of an idle connection's memory).
import test from 'ava';
import { SendBuffer } from '../src/tcp-migrate/send-buffer.js';

test('the ring is made on the first push and dropped when everything is acknowledged', (t) => {
  const b = new SendBuffer(1 << 20, 100);
  t.is(b.capacity, 0, 'a new buffer holds no ring');
  const bytes = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
  t.is(b.push(bytes), 5000);
  t.true(b.capacity >= 5000);
  const out = new Uint8Array(5000);
  b.copyOut(100, 5000, out, 0);
  t.deepEqual(out, bytes);
  b.release(2100);
  t.true(b.capacity > 0, 'bytes still unacknowledged keep the ring');
  const rest = new Uint8Array(3000);
  b.copyOut(2100, 3000, rest, 0);
  t.deepEqual(rest, bytes.subarray(2000));
  b.release(5100);
  t.is(b.capacity, 0, 'everything acknowledged: the ring is dropped');
  t.is(b.push(bytes.subarray(0, 10)), 10);
  const again = new Uint8Array(10);
  b.copyOut(5100, 10, again, 0);
  t.deepEqual(again, bytes.subarray(0, 10));
});
