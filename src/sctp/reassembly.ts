// Inbound user messages (RFC 9260 §6.5, §6.6, §6.9): fragments are joined by TSN (a message's
// fragments carry consecutive TSNs), complete ordered messages wait for their SSN, unordered ones
// go out at once. The caller gives each new (non-duplicate) DATA chunk; deliver() receives whole
// messages in order. Byte counts feed the advertised receiver window.
import { ssnAdd, ssnLt, tsnAdd, tsnLte } from './serial.js';
import type { DataChunk } from './wire/types.js';

export type Deliver = (stream: number, bytes: Uint8Array) => void;

/**
 * PPID of a takeover's filler message (pr-sctp.ts messageResume): a taker whose client does not
 * support PR-SCTP fills the TSNs of the old server's messages the client never got with one-byte
 * messages of this PPID. A baton receiver discards them (an ordered one still takes its SSN, so
 * the stream moves on past it); a standard receiver delivers them with this PPID.
 */
export const FILLER_PPID = 0xba70f111;

interface Fragment {
  readonly tsn: number;
  readonly streamId: number;
  readonly ssn: number;
  readonly unordered: boolean;
  readonly beginning: boolean;
  readonly ending: boolean;
  readonly data: Uint8Array;
}

/** The bytes a filler stands for: nothing to deliver (compared by identity). */
const FILLED = new Uint8Array(0);

export class Reassembly {
  /** Next SSN expected per inbound stream. */
  readonly nextSsn: number[];
  /** Complete ordered messages waiting for earlier SSNs, per stream: ssn -> bytes and last TSN. */
  private readonly waiting: Array<Map<number, { readonly bytes: Uint8Array; readonly lastTsn: number }> | undefined>;
  /** Fragments of incomplete messages, by TSN. */
  private readonly fragments = new Map<number, Fragment>();
  /** Bytes held here (fragments + waiting messages). */
  bufferedBytes = 0;

  constructor(
    inboundStreams: number,
    private readonly deliver: Deliver,
  ) {
    this.nextSsn = new Array<number>(inboundStreams).fill(0);
    this.waiting = new Array(inboundStreams).fill(undefined);
  }

  /** Ordered messages being handed over piecemeal (partial delivery): stream -> SSN, next TSN. */
  private readonly partial = new Map<number, { ssn: number; nextTsn: number }>();

  /**
   * Partial delivery (RFC 9260 §6.9, the receiver side): when the window is used up by fragments
   * of messages that cannot complete, hand over the in-order head of each stream's next ordered
   * message now; its later fragments follow as they arrive. Without it a message larger than the
   * receive window could never be reassembled. Returns true when something was delivered.
   */
  relieve(): boolean {
    const before = this.bufferedBytes;
    for (const f of [...this.fragments.values()]) {
      if (!f.beginning || f.unordered || this.partial.has(f.streamId) || f.ssn !== this.nextSsn[f.streamId]) continue;
      if (!this.fragments.has(f.tsn)) continue;
      this.partial.set(f.streamId, { ssn: f.ssn, nextTsn: f.tsn });
      this.continuePartial(f.streamId);
    }
    return this.bufferedBytes < before;
  }

  private continuePartial(stream: number): void {
    const p = this.partial.get(stream)!;
    for (let f = this.fragments.get(p.nextTsn); f && f.streamId === stream && f.ssn === p.ssn && !f.unordered; f = this.fragments.get(p.nextTsn)) {
      this.fragments.delete(f.tsn);
      this.bufferedBytes -= f.data.length;
      this.deliver(stream, f.data);
      p.nextTsn = tsnAdd(p.nextTsn, 1);
      if (f.ending) {
        this.partial.delete(stream);
        // The message is complete: later ordered messages of this stream may go now.
        this.nextSsn[stream] = this.releaseWaiting(stream, ssnAdd(f.ssn, 1));
        return;
      }
    }
  }

  get streamCount(): number {
    return this.nextSsn.length;
  }

  /** A new DATA chunk whose stream id is valid (< streamCount). */
  add(chunk: DataChunk): void {
    if (chunk.beginning && chunk.ending) {
      this.complete(chunk.streamId, chunk.ssn, chunk.unordered, chunk.ppid === FILLER_PPID ? FILLED : chunk.userData, chunk.tsn);
      return;
    }
    // Kept as a view into the received datagram (drivers hand over a fresh buffer per datagram).
    const f: Fragment = {
      tsn: chunk.tsn,
      streamId: chunk.streamId,
      ssn: chunk.ssn,
      unordered: chunk.unordered,
      beginning: chunk.beginning,
      ending: chunk.ending,
      data: chunk.userData,
    };
    this.fragments.set(f.tsn, f);
    this.bufferedBytes += f.data.length;
    const p = this.partial.get(f.streamId);
    if (p && !f.unordered && f.ssn === p.ssn) {
      this.continuePartial(f.streamId);
      return;
    }
    this.tryAssemble(f);
  }

  private tryAssemble(f: Fragment): void {
    let first = f;
    while (!first.beginning) {
      const prev = this.fragments.get(tsnAdd(first.tsn, -1));
      if (!prev || prev.streamId !== f.streamId || prev.unordered !== f.unordered || prev.ending) return;
      first = prev;
    }
    let last = f;
    while (!last.ending) {
      const next = this.fragments.get(tsnAdd(last.tsn, 1));
      if (!next || next.streamId !== f.streamId || next.unordered !== f.unordered || next.beginning) return;
      last = next;
    }
    let length = 0;
    for (let t = first.tsn; ; t = tsnAdd(t, 1)) {
      length += this.fragments.get(t)!.data.length;
      if (t === last.tsn) break;
    }
    const message = new Uint8Array(length);
    let at = 0;
    for (let t = first.tsn; ; t = tsnAdd(t, 1)) {
      const piece = this.fragments.get(t)!;
      message.set(piece.data, at);
      at += piece.data.length;
      this.fragments.delete(t);
      if (t === last.tsn) break;
    }
    this.bufferedBytes -= length;
    this.complete(first.streamId, first.ssn, first.unordered, message, last.tsn);
  }

  private complete(stream: number, ssn: number, unordered: boolean, bytes: Uint8Array, lastTsn: number): void {
    if (unordered) {
      this.handOver(stream, bytes);
      return;
    }
    if (bytes === FILLED && ssnLt(ssn, this.nextSsn[stream]!)) return; // a filler for a message delivered already
    if (ssn !== this.nextSsn[stream]) {
      let w = this.waiting[stream];
      if (!w) this.waiting[stream] = w = new Map();
      if (!w.has(ssn)) {
        w.set(ssn, { bytes, lastTsn });
        this.bufferedBytes += bytes.length;
      }
      return;
    }
    this.handOver(stream, bytes);
    this.nextSsn[stream] = this.releaseWaiting(stream, ssnAdd(ssn, 1));
  }

  /** Deliver a whole message; a filler goes nowhere. */
  private handOver(stream: number, bytes: Uint8Array): void {
    if (bytes !== FILLED) this.deliver(stream, bytes);
  }

  /** Deliver the stream's waiting messages from SSN `next` on while they are consecutive; returns the SSN after them. */
  private releaseWaiting(stream: number, next: number): number {
    const w = this.waiting[stream];
    if (!w) return next;
    for (let m = w.get(next); m !== undefined; m = w.get(next)) {
      w.delete(next);
      this.bufferedBytes -= m.bytes.length;
      this.handOver(stream, m.bytes);
      next = ssnAdd(next, 1);
    }
    return next;
  }

  /**
   * FORWARD-TSN (RFC 3758 §3.6): fragments at or below `newCumulativeTsn` belong to abandoned
   * messages and are dropped (a partial delivery among them ends); for each listed ordered stream
   * the waiting messages up to `ssn` go out in SSN order and the stream moves on past `ssn`, an
   * SSN already passed changes nothing.
   */
  forward(newCumulativeTsn: number, streams: ReadonlyArray<{ readonly streamId: number; readonly ssn: number }>): void {
    for (const [tsn, f] of this.fragments) {
      if (!tsnLte(tsn, newCumulativeTsn)) continue;
      this.fragments.delete(tsn);
      this.bufferedBytes -= f.data.length;
    }
    for (const [stream, p] of this.partial) {
      if (!this.fragments.has(p.nextTsn) && tsnLte(p.nextTsn, tsnAdd(newCumulativeTsn, 1))) this.partial.delete(stream);
    }
    for (const { streamId, ssn } of streams) {
      if (streamId >= this.nextSsn.length || ssnLt(ssn, this.nextSsn[streamId]!)) continue;
      const w = this.waiting[streamId];
      if (w) {
        const due = [...w.keys()].filter((k) => !ssnLt(ssn, k)).sort((x, y) => (ssnLt(x, y) ? -1 : 1));
        for (const k of due) {
          const m = w.get(k)!;
          w.delete(k);
          this.bufferedBytes -= m.bytes.length;
          this.handOver(streamId, m.bytes);
        }
      }
      this.partial.delete(streamId);
      this.nextSsn[streamId] = this.releaseWaiting(streamId, ssnAdd(ssn, 1));
    }
  }

  /**
   * An ordered message that can never be delivered although every TSN up to `cumulativeTsn` is
   * here: it waits for an earlier SSN of its stream, yet it ends at or below the cumulative TSN.
   * A sender gives a stream's messages SSNs in TSN order (RFC 9260 §6.5, §6.6), so the earlier
   * message's TSNs are lower and must have arrived — unless a chunk that took one of them was not
   * the sender's: a forged DATA chunk accepted first, the real one then discarded as a duplicate.
   * Without this check the stream stalls for good (the window fills, the sender probes a zero
   * window forever). Returns the stream, the SSN it waits for and the stranded one.
   */
  stranded(cumulativeTsn: number): { stream: number; expected: number; ssn: number; lastTsn: number } | undefined {
    for (let stream = 0; stream < this.waiting.length; stream++) {
      const w = this.waiting[stream];
      if (!w || w.size === 0) continue;
      for (const [ssn, m] of w) {
        if (tsnLte(m.lastTsn, cumulativeTsn)) return { stream, expected: this.nextSsn[stream]!, ssn, lastTsn: m.lastTsn };
      }
    }
    return undefined;
  }
}
