// Small helpers of the simulated network: seed derivation and cheap payload copies.

/** A 32-bit seed for the stream `label` of a network seeded with `seed` (FNV-1a, then a murmur finaliser). */
export function deriveSeed(seed: number, label: string): number {
  const text = `${seed}\u0000${label}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Copies payloads into shared slabs (like Node's Buffer pool): far cheaper than one ArrayBuffer per
 * datagram. A delivered payload is a view with a non-zero byteOffset into a larger buffer, as a
 * pooled Buffer from a real socket can be, so a core that reads `bytes.buffer` without
 * `bytes.byteOffset` fails here too.
 */
export class PayloadCopier {
  private static readonly SLAB = 256 * 1024;
  private slab = new ArrayBuffer(PayloadCopier.SLAB);
  private offset = 8; // never 0, so every delivered payload has a non-zero byteOffset

  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    if (n > PayloadCopier.SLAB / 8) return bytes.slice(); // rare jumbo datagrams: their own buffer
    if (this.offset + n > PayloadCopier.SLAB) {
      this.slab = new ArrayBuffer(PayloadCopier.SLAB);
      this.offset = 8;
    }
    const view = new Uint8Array(this.slab, this.offset, n);
    view.set(bytes);
    this.offset = (this.offset + n + 7) & ~7;
    return view;
  }
}
