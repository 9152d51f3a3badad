// The media rate of an MPEG transport stream from its own clock (ISO/IEC 13818-1 §2.4.3): the
// program clock reference (PCR, 27 MHz) of two packets of one PID and the bytes between them give
// the mux rate, rate = bytes * 8 * 27,000,000 / (PCR2 - PCR1). Exact for a constant-bit-rate
// stream (what a broadcast mux or `ffmpeg -muxrate` writes); a variable-rate stream gets the rate
// of its first PCR interval. `baton serve --pace ts` reads it from the first bytes of each body.
//
// Packets: 188 bytes, sync byte 0x47; the PID is 13 bits of bytes 1-2; adaptation_field_control
// (byte 3, bits 5-4) 2 or 3 means an adaptation field follows: its length (byte 4), flags (byte 5,
// PCR_flag 0x10), then the PCR: 33 bits of base (90 kHz) and 9 of extension, base * 300 + ext.
import { checkRate, MediaRateError } from './media-pace.js';

export const TS_PACKET = 188;
const SYNC = 0x47;

/** Default most body bytes read for two PCRs: PCRs 100 ms apart (the standard's limit) up to 40 Mbit/s. */
export const DEFAULT_PROBE_BYTES = 512 * 1024;

/** Reads body bytes until two PCRs of one PID give the rate (or it cannot: a MediaRateError). */
export class PcrProbe {
  private bytes = new Uint8Array(0);
  /** Offset of the first packet (the sync alignment), once found. */
  private align: number | undefined;
  private scanned = 0;
  private first: { pid: number; at: number; pcr: number } | undefined;

  constructor(private readonly limit = DEFAULT_PROBE_BYTES) {}

  /** More body bytes: the rate in bits per second, an error, or undefined (more bytes needed). */
  push(more: Uint8Array): number | MediaRateError | undefined {
    const room = Math.max(0, this.limit - this.bytes.length);
    const joined = new Uint8Array(this.bytes.length + Math.min(room, more.length));
    joined.set(this.bytes);
    joined.set(more.subarray(0, room), this.bytes.length);
    this.bytes = joined;
    const found = this.scan();
    if (found !== undefined) return found;
    if (this.bytes.length >= this.limit) return new MediaRateError(`no two PCRs of one PID in the first ${this.limit} bytes of the MPEG-TS stream`);
    return undefined;
  }

  /** The body ended before a rate was found. */
  end(): MediaRateError {
    return new MediaRateError(this.align === undefined ? 'the body is not an MPEG transport stream (no 0x47 sync byte every 188 bytes)' : `no two PCRs of one PID in the body's ${this.bytes.length} bytes`);
  }

  private scan(): number | MediaRateError | undefined {
    const b = this.bytes;
    if (this.align === undefined) {
      if (b.length < 3 * TS_PACKET) return undefined;
      for (let i = 0; i < TS_PACKET; i++) {
        if (b[i] === SYNC && b[i + TS_PACKET] === SYNC && b[i + 2 * TS_PACKET] === SYNC) {
          this.align = this.scanned = i;
          break;
        }
      }
      if (this.align === undefined) return new MediaRateError('the body is not an MPEG transport stream (no 0x47 sync byte every 188 bytes)');
    }
    for (; this.scanned + TS_PACKET <= b.length; this.scanned += TS_PACKET) {
      const at = this.scanned;
      if (b[at] !== SYNC) return new MediaRateError(`MPEG-TS sync lost at body byte ${at}`);
      const pid = ((b[at + 1]! & 0x1f) << 8) | b[at + 2]!;
      const pcr = readPcr(b, at);
      if (pcr === undefined) continue;
      if (this.first === undefined) {
        this.first = { pid, at, pcr };
        continue;
      }
      if (pid !== this.first.pid) continue;
      if (pcr <= this.first.pcr) return new MediaRateError(`the PCR of PID ${pid} does not increase (${this.first.pcr} then ${pcr})`);
      const rate = Math.round(((at - this.first.at) * 8 * 27_000_000) / (pcr - this.first.pcr));
      return checkRate(rate, 'the MPEG-TS mux rate') ?? rate;
    }
    return undefined;
  }
}

/** The 27 MHz PCR of the packet at `at`, if it carries one. */
function readPcr(b: Uint8Array, at: number): number | undefined {
  const control = (b[at + 3]! >> 4) & 0x3;
  if (control !== 2 && control !== 3) return undefined;
  const length = b[at + 4]!;
  if (length < 7 || (b[at + 5]! & 0x10) === 0) return undefined;
  const p = at + 6;
  const base = b[p]! * 2 ** 25 + b[p + 1]! * 2 ** 17 + b[p + 2]! * 2 ** 9 + b[p + 3]! * 2 + (b[p + 4]! >> 7);
  const extension = ((b[p + 4]! & 0x01) << 8) | b[p + 5]!;
  return base * 300 + extension;
}
