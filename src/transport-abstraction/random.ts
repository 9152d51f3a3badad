// Random values (verification tags, ISNs, keys) come from an injected source, seeded in tests.
import { randomBytes, randomFillSync } from 'node:crypto';

export interface RandomSource {
  /** n random bytes. */
  bytes(n: number): Uint8Array;
  /** A uniform 32-bit unsigned integer. */
  uint32(): number;
  /** A uniform float in [0, 1). */
  float(): number;
}

/**
 * The operating system's CSPRNG (node:crypto). Small draws (a tag, an ISN, a 32-byte RANDOM) are
 * cut from a 4 KiB block filled at once, each byte handed out once, as Node does for randomUUID:
 * one randomBytes() call per small draw cost about 4 µs of CPU, four of them per connection set-up
 * on a server (bench/connections-crypto.ts; issue 12).
 */
export const cryptoRandom: RandomSource = {
  bytes: (n) => (n <= POOLED ? take(n) : new Uint8Array(randomBytes(n))),
  uint32: () => poolUint32(),
  float: () => poolUint32() / 2 ** 32,
};

const POOL_SIZE = 4096;
/** Larger draws come straight from randomBytes. */
const POOLED = 64;
const pool = Buffer.alloc(POOL_SIZE);
let poolAt = POOL_SIZE;

/**
 * The next n unused bytes of the pool, copied out and zeroed there: a private key drawn from it
 * does not stay behind in the pool's memory.
 */
function take(n: number): Uint8Array {
  if (poolAt + n > POOL_SIZE) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const out = new Uint8Array(pool.subarray(poolAt, poolAt + n));
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return out;
}

function poolUint32(): number {
  if (poolAt + 4 > POOL_SIZE) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const v = pool.readUInt32BE(poolAt);
  pool.writeUInt32BE(0, poolAt);
  poolAt += 4;
  return v;
}

/**
 * A fast deterministic generator (xoshiro128**, seeded through splitmix32) for simulations and
 * tests. Not for keys outside tests.
 */
export class SeededRandom implements RandomSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  float(): number {
    return this.uint32() / 2 ** 32;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.uint32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
