// Telephony frames (README "Telephony sessions"): one fixed-size frame per 20 ms of audio.
//
//   seq (u32) | sentAt (f64, ms on the sender's clock) | payload (payloadBytes) | check (u32)
//
// `check` is FNV-1a over everything before it. SCTP carries one frame per message; TCP-Migrate
// carries them back to back on the byte stream, frame k of a stream at bytes [k·size, (k+1)·size)
// (fixed size: a taker that resumes a byte stream in the middle of a frame pads to the next
// boundary, and the frame it cut fails its check and is dropped, never mistaken for audio).
export const FRAME_HEADER = 12;
export const FRAME_CHECK = 4;
/** 20 ms of 8 kHz, 8-bit audio (G.711). */
export const DEFAULT_PAYLOAD = 160;

export interface VoiceFrame {
  readonly seq: number;
  readonly sentAt: number;
  readonly payload: Uint8Array;
}

export function frameSize(payloadBytes: number): number {
  return FRAME_HEADER + payloadBytes + FRAME_CHECK;
}

function fnv1a(bytes: Uint8Array, end: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

export function encodeFrame(f: VoiceFrame): Uint8Array {
  const b = new Uint8Array(frameSize(f.payload.length));
  const v = new DataView(b.buffer);
  v.setUint32(0, f.seq >>> 0);
  v.setFloat64(4, f.sentAt);
  b.set(f.payload, FRAME_HEADER);
  v.setUint32(b.length - FRAME_CHECK, fnv1a(b, b.length - FRAME_CHECK));
  return b;
}

/** The frame, or undefined when the bytes are not one (wrong size, failed check). */
export function decodeFrame(bytes: Uint8Array, payloadBytes: number): VoiceFrame | undefined {
  if (bytes.length !== frameSize(payloadBytes)) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (v.getUint32(bytes.length - FRAME_CHECK) !== fnv1a(bytes, bytes.length - FRAME_CHECK)) return undefined;
  return { seq: v.getUint32(0), sentAt: v.getFloat64(4), payload: bytes.subarray(FRAME_HEADER, bytes.length - FRAME_CHECK) };
}

/** Cuts a byte stream into fixed-size frames; `offset` is the stream offset of the first byte pushed. */
export class FrameReader {
  private readonly buffer: Uint8Array;
  private filled = 0;
  /** Bytes to skip before the next frame boundary (a reader that starts inside a frame). */
  private skip: number;

  constructor(
    readonly size: number,
    offset = 0,
  ) {
    this.buffer = new Uint8Array(size);
    this.skip = (size - (offset % size)) % size;
  }

  /** The whole frames the bytes complete, in order (as raw frame bytes: decodeFrame checks them). */
  push(bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 0;
    if (this.skip > 0) {
      at = Math.min(this.skip, bytes.length);
      this.skip -= at;
    }
    while (at < bytes.length) {
      const n = Math.min(this.size - this.filled, bytes.length - at);
      this.buffer.set(bytes.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === this.size) {
        out.push(this.buffer.slice());
        this.filled = 0;
      }
    }
    return out;
  }
}
