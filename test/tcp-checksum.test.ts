// The TCP checksum's wide (4-bytes-at-a-time) path against a plain RFC 1071 byte loop, over every
// length and byte alignment a datagram can have, including sums that carry far past 32 bits.
import test from 'ava';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { checksumValid, fillChecksum, pseudoHeaderSum } from '../src/tcp-migrate/wire.js';

/** RFC 1071, written out independently: big-endian 16-bit words, end-around carry. */
function reference(b: Uint8Array, pseudo: number): number {
  let s = pseudo + b.length;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (i + 1 < b.length ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s % 65536) + Math.floor(s / 65536);
  return ~s & 0xffff;
}

test('wide checksum equals the byte-loop checksum at every alignment and length', (t) => {
  const rng = new SeededRandom(7);
  const pseudo = pseudoHeaderSum('127.0.0.1', '127.0.0.2');
  const backing = new Uint8Array(1600 + 8);
  let checked = 0;
  for (let round = 0; round < 3000; round++) {
    const offset = round % 8;
    const length = 20 + (rng.uint32() % 1480);
    const seg = backing.subarray(offset, offset + length);
    const fill = round % 5;
    for (let i = 0; i < length; i++) seg[i] = fill === 0 ? 0xff : fill === 1 ? 0 : rng.uint32() & 0xff;
    seg[16] = 0;
    seg[17] = 0;
    const want = reference(seg, pseudo);
    fillChecksum(seg, pseudo);
    t.is((seg[16]! << 8) | seg[17]!, want, `offset ${offset} length ${length}`);
    t.true(checksumValid(seg, pseudo));
    const at = 20 + (rng.uint32() % (length - 20 || 1));
    if (at < length) {
      seg[at] ^= 0x10;
      t.false(checksumValid(seg, pseudo), `flipped byte ${at} of ${length} at offset ${offset}`);
    }
    checked++;
  }
  t.is(checked, 3000);
});
