// A synthetic constant-bit-rate MPEG transport stream for the paced media tests: 188-byte packets
// of one PID, a PCR (27 MHz) every `pcrEvery` packets stamped with the packet's time at `rate`.
/** `length` bytes (whole packets) of a TS muxed at `bitsPerSecond`, first PCR `pcrStart`. */
export function makeTs(length: number, bitsPerSecond: number, options: { pcrEvery?: number; pid?: number; pcrStart?: number; seed?: number } = {}): Uint8Array {
  const every = options.pcrEvery ?? 20;
  const pid = options.pid ?? 0x100;
  const out = new Uint8Array(Math.floor(length / 188) * 188);
  let x = (options.seed ?? 1) >>> 0 || 1;
  for (let i = 0, at = 0; at < out.length; i++, at += 188) {
    out[at] = 0x47;
    out[at + 1] = (pid >> 8) & 0x1f;
    out[at + 2] = pid & 0xff;
    let p = at + 4;
    if (i % every === 0) {
      out[at + 3] = 0x30 | (i & 0xf); // adaptation field and payload
      const pcr = (options.pcrStart ?? 0) + Math.round(((at * 8) / bitsPerSecond) * 27_000_000);
      const base = Math.floor(pcr / 300);
      const ext = pcr % 300;
      out.set([7, 0x10, Math.floor(base / 2 ** 25) & 0xff, Math.floor(base / 2 ** 17) & 0xff, Math.floor(base / 2 ** 9) & 0xff, Math.floor(base / 2) & 0xff, ((base & 1) << 7) | 0x7e | (ext >> 8), ext & 0xff], p);
      p += 8;
    } else {
      out[at + 3] = 0x10 | (i & 0xf); // payload only
    }
    for (; p < at + 188; p++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[p] = x & 0xff;
    }
  }
  return out;
}
