// Outbound user data: bytes waiting to be put in DATA chunks, the chunks sent and not yet
// cumulatively acknowledged (indexed by TSN in an array, O(1)), and — in byte-stream mode — the
// TSN runs that map every outbound TSN to its stream offset (proto TsnRun).
//
// Byte-stream mode (baton's design): every DATA chunk is one complete ordered message on stream 0
// with exactly `chunkSize` bytes, except when the queue runs dry (a shorter chunk, which closes
// the current run; under the export barrier it waits for a confirmed export that maps it). Message
// mode: each send() is one message, fragmented into chunkSize pieces.
import { ssnAdd, tsnAdd, tsnDiff, tsnLt } from './serial.js';
import type { TsnRun } from '../transport-abstraction/state-types.js';
import { Slab } from '../transport-abstraction/slab.js';

export type SendMode = 'stream' | 'message';


/** Cork delay for byte-stream connections that take part in failover (see SendQueue.corkMs). */
export const FAILOVER_CORK_MS = 200;

export const FLAG_UNORDERED = 0x04;
export const FLAG_BEGINNING = 0x02;
export const FLAG_ENDING = 0x01;

/** One DATA chunk sent (or about to be sent) and not yet cumulatively acknowledged. */
export interface OutChunk {
  readonly tsn: number;
  readonly streamId: number;
  readonly ssn: number;
  /** U/B/E bits as on the wire. */
  readonly flags: number;
  readonly data: Uint8Array;
  /** Index of the path it was last sent on. */
  path: number;
  sentAt: number;
  transmissions: number;
  /** Covered by a gap-ack block of the latest SACK. */
  gapAcked: boolean;
  /** Counts toward the path's flight size. */
  inFlight: boolean;
  /** Waiting in the retransmission queue. */
  needsRetransmit: boolean;
  missReports: number;
  fastRetransmitted: boolean;
  /** When it was first transmitted (PR-SCTP's timed reliability counts from there). */
  firstSentAt?: number;
  /** Abandoned by PR-SCTP (pr-sctp.ts): out of the flight, never retransmitted, gapAcked set. */
  abandoned?: boolean;
  /** Its own PPID (a takeover's filler, pr-sctp.ts continueStreams); undefined: the association's. */
  readonly ppid?: number;
}

interface Segment {
  readonly bytes: Uint8Array;
  readonly stream: number;
  readonly unordered: boolean;
  readonly ppid?: number;
  offset: number;
}

interface Run extends TsnRun {
  closed: boolean;
}

/** Chunk spans of every send queue (take() hands out regions that are never reused). */
const chunkSpans = new Slab();

export class SendQueue {
  private segments: Segment[] = [];
  private readonly spans = chunkSpans; // one slab for the process: an idle queue holds none (issue 12)
  private segmentHead = 0;
  /** Bytes accepted by send() and not yet put in a chunk. */
  pendingBytes = 0;
  /** Bytes in outstanding (un-cumulatively-acked) chunks. */
  outstandingBytes = 0;
  /** Stream offset of the next byte put in a chunk (byte-stream mode). */
  chunkedOffset = 0;
  /** Bytes accepted by send() so far (the contract's streamOffset). */
  acceptedOffset = 0;

  private outstanding: OutChunk[] = [];
  private outHead = 0;
  /** TSN of outstanding[outHead]; equals nextTsn when nothing is outstanding. */
  firstTsn: number;
  nextTsn: number;
  readonly nextSsn: number[];
  readonly runs: Run[] = [];
  /**
   * Set when a TSN run closed or a new one began (a short chunk: the queue ran dry). A taker
   * extrapolates the open run, so the owner must export its state again: the association turns
   * this into a 'state-changed' event and clears it.
   */
  runsChanged = false;
  /**
   * Byte-stream mode cork: a short tail (fewer than chunkSize bytes) waits up to corkMs for more
   * bytes instead of going out as a short chunk. Every short chunk closes a TSN run, and a taker
   * can extrapolate only an open run, so a continuously fed stream stays one run. 0 (the default)
   * disables it; the association turns it on (FAILOVER_CORK_MS) once its state is exported, i.e.
   * for connections that take part in failover, and a taker's queue has it from resume().
   */
  corkMs = 0;
  /** Set by the association (cork timer fired, or closing): a short chunk may go now. */
  flushShort = false;
  /** When the held tail must go (the association's timer), undefined when nothing is held. */
  corkDeadline: number | undefined;
  /** After a takeover: chunk sizes to reproduce exactly first (held = the client has it already). */
  private replay: Array<{ length: number; held: boolean }> = [];
  /**
   * The export barrier (MigratableTransport.setExportBarrier), byte-stream mode: a short chunk is
   * recorded in the runs (TSN, SSN, offset, length fixed) but taken only once an export of its
   * generation is confirmed; nothing after it goes before it.
   */
  barrier = false;
  /** Bumped by every short chunk recorded under the barrier (the contract's exportGeneration). */
  generation = 0;
  /** The highest generation a support-group member confirmed (confirmExport). */
  confirmedGeneration = 0;
  /** The short chunk recorded and waiting for its export's confirmation, if any. */
  private barred: { readonly length: number; readonly generation: number } | undefined;
  /** Under the barrier, the chunk size changed: nothing goes before an export of this generation is confirmed. */
  private resizedGeneration = 0;

  constructor(
    readonly mode: SendMode,
    public chunkSize: number,
    initialTsn: number,
    outboundStreams: number,
  ) {
    this.firstTsn = initialTsn >>> 0;
    this.nextTsn = initialTsn >>> 0;
    this.nextSsn = new Array<number>(outboundStreams).fill(0);
  }

  get outstandingCount(): number {
    return this.outstanding.length - this.outHead;
  }

  /** Queue user bytes (already bounded by the caller). */
  push(bytes: Uint8Array, stream: number, unordered: boolean, ppid?: number): void {
    if (bytes.length === 0) return;
    this.segments.push({ bytes, stream, unordered, ppid, offset: 0 });
    this.pendingBytes += bytes.length;
    this.acceptedOffset += bytes.length;
  }

  /**
   * Takeover resume (byte-stream mode): continue at TSN `tsn`, SSN `ssn`, stream offset `offset`
   * with nothing outstanding; the first chunks reproduce `replay`'s sizes (the TSNs the client's
   * gap blocks name), those marked held are created already gap-acked and never transmitted.
   */
  resume(tsn: number, ssn: number, offset: number, replay: ReadonlyArray<{ length: number; held: boolean }>): void {
    if (this.outstandingCount > 0 || this.pendingBytes > 0) throw new RangeError('resume() on a queue that already holds data');
    this.firstTsn = tsn >>> 0;
    this.nextTsn = tsn >>> 0;
    this.nextSsn[0] = ssn & 0xffff;
    this.chunkedOffset = offset;
    this.acceptedOffset = offset;
    this.outstanding = [];
    this.outHead = 0;
    this.runs.length = 0;
    this.replay = replay.map((r) => ({ length: r.length, held: r.held }));
    this.corkMs = Math.max(this.corkMs, FAILOVER_CORK_MS);
  }

  /**
   * A new DATA chunk size (path MTU discovery changed the path's PLPMTU). In byte-stream mode the
   * open TSN run ends here, since a taker extrapolates it with its size: 'state-changed' follows
   * (runsChanged), and under the export barrier no chunk goes before an export made after the
   * change is confirmed, as for a short chunk. Chunks already made keep their size.
   */
  setChunkSize(size: number): void {
    if (size === this.chunkSize || !(size > 0)) return;
    this.chunkSize = size;
    if (this.mode !== 'stream') return;
    const last = this.runs[this.runs.length - 1];
    if (last) last.closed = true;
    this.runsChanged = true;
    if (this.barrier) this.resizedGeneration = ++this.generation;
  }

  /** A short tail is being held back (byte-stream mode cork). */
  get corked(): boolean {
    return this.mode === 'stream' && this.corkMs > 0 && !this.flushShort && this.replay.length === 0 && this.pendingBytes > 0 && this.pendingBytes < this.chunkSize;
  }

  /**
   * Size of the next chunk's user data, or 0 when nothing waits (or the barrier holds it). Under
   * the export barrier, the first time a short chunk is next it is recorded here (see barrier).
   */
  nextChunkLength(): number {
    if (this.barred !== undefined) return this.confirmedGeneration >= this.barred.generation ? this.barred.length : 0;
    if (this.pendingBytes === 0 || this.corked || this.confirmedGeneration < this.resizedGeneration) return 0;
    if (this.mode === 'stream') {
      const need = this.replay[0]?.length;
      const length = need === undefined ? Math.min(this.chunkSize, this.pendingBytes) : this.pendingBytes >= need ? need : 0;
      return length > 0 && length < this.chunkSize && this.barrier ? this.bar(length) : length;
    }
    const s = this.segments[this.segmentHead]!;
    return Math.min(this.chunkSize, s.bytes.length - s.offset);
  }

  /**
   * Record a short chunk of `length` bytes in the runs at the next TSN without taking it: the map
   * a taker gets from now on places it (a new generation, 'state-changed'); it goes once an export
   * of this generation is confirmed. Returns 0 (nothing may go yet).
   */
  private bar(length: number): number {
    this.generation++;
    this.barred = { length, generation: this.generation };
    this.recordRun(this.nextTsn, length, this.nextSsn[0]!);
    this.flushShort = false;
    return this.confirmedGeneration >= this.generation ? length : 0;
  }

  /** Stream offset and TSN just past every chunk recorded in the runs (taken or barred). */
  get mappedEnd(): { tsn: number; offset: number } {
    const b = this.barred;
    return b === undefined ? { tsn: this.nextTsn, offset: this.chunkedOffset } : { tsn: tsnAdd(this.nextTsn, 1), offset: this.chunkedOffset + b.length };
  }

  /** Take the next chunk's worth of pending bytes, assign it a TSN and make it outstanding. */
  take(now: number, path: number): OutChunk | undefined {
    const length = this.nextChunkLength();
    if (length === 0) return undefined;
    // A barred short chunk was recorded in the runs already.
    const recorded = this.barred !== undefined;
    this.barred = undefined;
    let data: Uint8Array;
    let streamId: number;
    let flags: number;
    let ssn: number;
    const seg = this.segments[this.segmentHead]!;
    const ppid = this.mode === 'stream' ? undefined : seg.ppid;
    const replayed = this.mode === 'stream' ? this.replay.shift() : undefined;
    if (length < this.chunkSize) this.flushShort = false;
    if (this.mode === 'stream') {
      streamId = 0;
      flags = FLAG_BEGINNING | FLAG_ENDING;
      data = this.takeBytes(length);
      ssn = this.nextSsn[0]!;
      this.nextSsn[0] = ssnAdd(ssn, 1);
      if (!recorded) this.recordRun(this.nextTsn, length, ssn);
      this.chunkedOffset += length;
    } else {
      streamId = seg.stream;
      ssn = this.nextSsn[streamId] ?? 0;
      flags = seg.unordered ? FLAG_UNORDERED : 0;
      if (seg.offset === 0) flags |= FLAG_BEGINNING;
      data = seg.bytes.subarray(seg.offset, seg.offset + length);
      seg.offset += length;
      this.pendingBytes -= length;
      if (seg.offset === seg.bytes.length) {
        flags |= FLAG_ENDING;
        if (!seg.unordered) this.nextSsn[streamId] = ssnAdd(ssn, 1);
        this.dropSegment();
      }
    }
    const chunk: OutChunk = {
      tsn: this.nextTsn,
      streamId,
      ssn,
      flags,
      data,
      path,
      sentAt: now,
      transmissions: 0,
      gapAcked: false,
      inFlight: false,
      needsRetransmit: false,
      missReports: 0,
      fastRetransmitted: false,
      ppid,
    };
    if (replayed?.held) chunk.gapAcked = true;
    this.nextTsn = tsnAdd(this.nextTsn, 1);
    this.outstanding.push(chunk);
    this.outstandingBytes += length;
    return chunk;
  }

  private takeBytes(length: number): Uint8Array {
    const seg = this.segments[this.segmentHead]!;
    const left = seg.bytes.length - seg.offset;
    this.pendingBytes -= length;
    if (left >= length) {
      const out = seg.bytes.subarray(seg.offset, seg.offset + length);
      seg.offset += length;
      if (seg.offset === seg.bytes.length) this.dropSegment();
      return out;
    }
    const out = this.spanBuffer(length);
    let at = 0;
    while (at < length) {
      const s = this.segments[this.segmentHead]!;
      const n = Math.min(length - at, s.bytes.length - s.offset);
      out.set(s.bytes.subarray(s.offset, s.offset + n), at);
      at += n;
      s.offset += n;
      if (s.offset === s.bytes.length) this.dropSegment();
    }
    return out;
  }

  /**
   * Room for a chunk that spans several send() writes (constant in byte-stream mode when the app
   * writes less than chunkSize at a time): cut from a 64 kB slab instead of a new ArrayBuffer per
   * chunk. A region belongs to its chunk until the chunk is acknowledged and dropped (it may be
   * retransmitted or exported meanwhile), so it is never handed out twice: a full slab is replaced,
   * and freed by the collector once none of its chunks is referenced.
   */
  private spanBuffer(length: number): Uint8Array {
    return this.spans.take(length);
  }

  private dropSegment(): void {
    this.segmentHead++;
    if (this.segmentHead > 1024 && this.segmentHead * 2 > this.segments.length) {
      this.segments = this.segments.slice(this.segmentHead);
      this.segmentHead = 0;
    }
  }

  private recordRun(tsn: number, length: number, ssn: number): void {
    const last = this.runs[this.runs.length - 1];
    if (last && !last.closed && last.bytesPerTsn === length) {
      last.tsnCount++;
    } else {
      if (last) last.closed = true;
      this.runsChanged = true;
      this.runs.push({ firstTsn: tsn, streamOffset: this.chunkedOffset, bytesPerTsn: length, tsnCount: 1, streamId: 0, firstSsn: ssn, closed: false });
    }
    // A short chunk ends its run: the next full-size chunk starts a new one.
    if (length < this.chunkSize) {
      this.runs[this.runs.length - 1]!.closed = true;
      this.runsChanged = true;
    }
  }

  /** The outstanding chunk with this TSN, if any. */
  get(tsn: number): OutChunk | undefined {
    const i = tsnDiff(tsn, this.firstTsn);
    if (i < 0 || i >= this.outstanding.length - this.outHead) return undefined;
    return this.outstanding[this.outHead + i];
  }

  /** The i-th outstanding chunk (0 = oldest). */
  at(i: number): OutChunk {
    return this.outstanding[this.outHead + i]!;
  }

  /**
   * Remove every chunk with TSN <= cumAck, calling `acked` for each (oldest first). Prunes the TSN
   * runs that end before the new cumulative point.
   */
  ackThrough(cumAck: number, acked: (c: OutChunk) => void): void {
    for (let c = this.shiftAcked(cumAck); c; c = this.shiftAcked(cumAck)) acked(c);
    this.finishAck(cumAck);
  }

  /** The oldest outstanding chunk, removed, if its TSN <= cumAck (no callback on the SACK path). */
  shiftAcked(cumAck: number): OutChunk | undefined {
    if (this.outHead >= this.outstanding.length || tsnLt(cumAck, this.firstTsn)) return undefined;
    const c = this.outstanding[this.outHead]!;
    this.outstanding[this.outHead] = undefined as unknown as OutChunk;
    this.outHead++;
    this.firstTsn = tsnAdd(this.firstTsn, 1);
    this.outstandingBytes -= c.data.length;
    return c;
  }

  /** After shiftAcked(): compact the array and prune the TSN runs that end before cumAck. */
  finishAck(cumAck: number): void {
    if (this.outHead > 256 && this.outHead * 2 > this.outstanding.length) {
      this.outstanding = this.outstanding.slice(this.outHead);
      this.outHead = 0;
    }
    while (this.runs.length > 1) {
      const r = this.runs[0]!;
      if (!r.closed || tsnDiff(cumAck, r.firstTsn) < r.tsnCount) break;
      this.runs.shift();
    }
  }

  /** TSN runs as exported: the last run is left open (tsnCount 0) when it may still grow. */
  exportRuns(): TsnRun[] {
    return this.runs.map((r) => ({
      firstTsn: r.firstTsn,
      streamOffset: r.streamOffset,
      bytesPerTsn: r.bytesPerTsn,
      tsnCount: r.closed ? r.tsnCount : 0,
      streamId: r.streamId,
      firstSsn: r.firstSsn,
    }));
  }

  /** Stream offset of the first byte of `tsn` (byte-stream mode), or undefined if unmapped. */
  offsetOfTsn(tsn: number): number | undefined {
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const r = this.runs[i]!;
      const d = tsnDiff(tsn, r.firstTsn);
      if (d >= 0 && (d < r.tsnCount || (!r.closed && i === this.runs.length - 1))) return r.streamOffset + d * r.bytesPerTsn;
    }
    return undefined;
  }
}
