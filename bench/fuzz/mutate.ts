// The mutation fuzzer's input generator: from a corpus of genuine inputs (packets recorded from a
// real conversation, a state file, sealed announcements, HTTP requests) it makes hostile variants —
// random bytes, flipped bits, overwritten bytes with boundary values, truncation, extension,
// inserted and deleted ranges, a duplicated range, a splice of two corpus entries — one stream of
// them per seed.
import { concat as join } from '../../src/sctp/wire/bytes.js';
import type { RandomSource } from '../../src/transport-abstraction/random.js';

const BOUNDARY = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];
const STRATEGIES = 9;

export class Mutator {
  constructor(
    private readonly random: RandomSource,
    private readonly corpus: readonly Uint8Array[],
  ) {}

  private below(n: number): number {
    return n <= 0 ? 0 : this.random.uint32() % n;
  }

  private pick(): Uint8Array {
    return this.corpus[this.below(this.corpus.length)]!;
  }

  next(): Uint8Array {
    const base = this.pick();
    const n = base.length;
    switch (this.below(STRATEGIES)) {
      case 0:
        return this.random.bytes(this.below(2 * n + 16));
      case 1: {
        const m = base.slice();
        for (let k = 1 + this.below(8); k > 0 && n > 0; k--) m[this.below(n)]! ^= 1 << this.below(8);
        return m;
      }
      case 2: {
        const m = base.slice();
        for (let k = 1 + this.below(4); k > 0 && n > 0; k--) m[this.below(n)] = this.below(2) === 0 ? BOUNDARY[this.below(BOUNDARY.length)]! : this.below(256);
        return m;
      }
      case 3:
        return base.slice(0, this.below(n));
      case 4: {
        const m = new Uint8Array(n + 1 + this.below(64));
        m.set(base);
        m.set(this.random.bytes(m.length - n), n);
        return m;
      }
      case 5: {
        const at = this.below(n + 1);
        const extra = this.random.bytes(1 + this.below(16));
        return join([base.subarray(0, at), extra, base.subarray(at)]);
      }
      case 6: {
        const at = this.below(n);
        return join([base.subarray(0, at), base.subarray(at + 1 + this.below(16))]);
      }
      case 7: {
        const at = this.below(n);
        const len = 1 + this.below(Math.min(64, n - at));
        return join([base.subarray(0, at + len), base.subarray(at, at + len), base.subarray(at + len)]);
      }
      default: {
        const other = this.pick();
        return join([base.subarray(0, this.below(n + 1)), other.subarray(this.below(other.length + 1))]);
      }
    }
  }
}

