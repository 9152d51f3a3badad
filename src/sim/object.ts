// Test objects for simulated and real downloads.

/** Deterministic file contents: every byte depends on its offset, so a splice at the wrong offset shows. */
export function makeFile(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = (x >>> 24) ^ (i & 0xff);
  }
  return out;
}
