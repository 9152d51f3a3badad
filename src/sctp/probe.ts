// The stale-TSN probe (paper §3.3.3) and the TSN ↔ stream-offset mapping a taker resumes with.
//
// After a takeover the new server does not know what the client holds. It sends one DATA chunk
// whose TSN the client certainly already has; RFC 9260 §6.2 makes a receiver answer a packet that
// carries only duplicate DATA with an immediate SACK, whose cumulative TSN and gap blocks say
// exactly what arrived. Through the exported TsnRun map (each DATA chunk one complete ordered
// message of `bytesPerTsn` stream bytes) that becomes the next stream byte the client is missing
// and the later byte ranges it already holds.
//
// Which stale TSN: the highest TSN wholly inside the stream bytes the old owner saw acknowledged in
// order (state.streamBytesAcked), when the map covers it — the client acknowledged it cumulatively,
// so it is at or below its cumulative TSN. Otherwise the owner's initial TSN - 1: every RFC 9260
// receiver starts its cumulative TSN at the peer's initial TSN - 1, so that TSN is a duplicate from
// the first moment (until 2^31 TSNs later, when serial arithmetic would turn it around).
// The probe's payload is one zero byte: a duplicate is discarded by TSN, never delivered.
import type { TsnRun } from '../transport-abstraction/state-types.js';
import type { ReceiverState, ResumeMode } from '../transport-abstraction/transport.js';
import type { DataChunk, SackChunk } from './wire/types.js';
import { ssnAdd, tsnAdd, tsnDiff, tsnLt } from './serial.js';

/** Where one TSN's bytes sit in the stream. */
export interface TsnLocation {
  readonly tsn: number;
  readonly streamId: number;
  readonly ssn: number;
  readonly offset: number;
  readonly length: number;
}

function runIndexOf(tsn: number, runs: readonly TsnRun[]): number {
  for (let i = runs.length - 1; i >= 0; i--) {
    const r = runs[i]!;
    const d = tsnDiff(tsn, r.firstTsn);
    if (d >= 0 && (r.tsnCount === 0 || d < r.tsnCount)) return i;
  }
  return -1;
}

/** The stream bytes and SSN of a TSN, or undefined when no run maps it. */
export function locateTsn(tsn: number, runs: readonly TsnRun[]): TsnLocation | undefined {
  const i = runIndexOf(tsn, runs);
  if (i < 0) return undefined;
  const r = runs[i]!;
  const d = tsnDiff(tsn, r.firstTsn);
  return { tsn: tsn >>> 0, streamId: r.streamId, ssn: ssnAdd(r.firstSsn, d), offset: r.streamOffset + d * r.bytesPerTsn, length: r.bytesPerTsn };
}

/**
 * The stream offset just past everything up to and including `tsn`: the end of its bytes when
 * mapped; the start of the next run when it falls before or between runs; the end of the last
 * (closed) run when it falls after all of them; 0 without runs.
 */
export function offsetAfterTsn(tsn: number, runs: readonly TsnRun[]): number {
  const loc = locateTsn(tsn, runs);
  if (loc !== undefined) return loc.offset + loc.length;
  for (const r of runs) if (tsnLt(tsn, r.firstTsn)) return r.streamOffset;
  const last = runs[runs.length - 1];
  return last === undefined ? 0 : last.streamOffset + last.tsnCount * last.bytesPerTsn;
}

/** The TSN whose bytes contain stream offset `offset`, or undefined when no run covers it. */
export function locateOffset(offset: number, runs: readonly TsnRun[]): TsnLocation | undefined {
  for (let i = runs.length - 1; i >= 0; i--) {
    const r = runs[i]!;
    if (offset < r.streamOffset) continue;
    const d = Math.floor((offset - r.streamOffset) / r.bytesPerTsn);
    if (r.tsnCount !== 0 && d >= r.tsnCount) return undefined;
    return locateTsn(tsnAdd(r.firstTsn, d), runs);
  }
  return undefined;
}

/** The stale TSN to probe with (see the file comment for the rule). */
export function staleProbeTsn(localInitialTsn: number, runs: readonly TsnRun[], streamBytesAcked = 0): number {
  if (streamBytesAcked > 0) {
    const containing = locateOffset(streamBytesAcked - 1, runs);
    if (containing !== undefined) {
      // The TSN holding the last acked byte is wholly acked only if it ends at or before the mark.
      const whole = containing.offset + containing.length <= streamBytesAcked ? containing.tsn : tsnAdd(containing.tsn, -1);
      if (locateTsn(whole, runs) !== undefined) return whole;
    }
  }
  return tsnAdd(localInitialTsn, -1);
}

/** The probe DATA chunk itself: I bit set (RFC 7053), one zero byte, SSN from the map if known. */
export function staleProbeChunk(tsn: number, runs: readonly TsnRun[], ppid = 0): DataChunk {
  const loc = locateTsn(tsn, runs);
  return {
    type: 0,
    immediate: true,
    unordered: false,
    beginning: true,
    ending: true,
    tsn: tsn >>> 0,
    streamId: loc?.streamId ?? 0,
    ssn: loc?.ssn ?? 0,
    ppid,
    userData: new Uint8Array(1),
  };
}

/** A SACK's cumulative TSN and gap blocks, as stream offsets (the contract's ReceiverState). */
export function receiverStateFromSack(sack: Pick<SackChunk, 'cumulativeTsnAck' | 'gapBlocks'>, runs: readonly TsnRun[]): ReceiverState {
  const cum = sack.cumulativeTsnAck >>> 0;
  const nextOffset = offsetAfterTsn(cum, runs);
  const held: { start: number; end: number }[] = [];
  for (const g of sack.gapBlocks) {
    if (g.end < g.start) continue;
    const first = locateTsn(tsnAdd(cum, g.start), runs);
    const lastEnd = offsetAfterTsn(tsnAdd(cum, g.end), runs);
    if (first === undefined || lastEnd <= first.offset) continue;
    const prev = held[held.length - 1];
    if (prev !== undefined && first.offset <= prev.end) prev.end = Math.max(prev.end, lastEnd);
    else held.push({ start: first.offset, end: lastEnd });
  }
  held.sort((a, b) => a.start - b.start);
  return { nextOffset, heldRanges: held, cumulativeAck: cum };
}

/** One DATA chunk a taker must send again with exactly the TSN, SSN and bytes the map says. */
export interface ResumeChunk extends TsnLocation {
  /** True in gap-fill mode when the client already holds this TSN (do not send it). */
  readonly held: boolean;
}

/**
 * The chunks from the client's first missing TSN up to the highest TSN it holds, in TSN order:
 * these must be rebuilt exactly as the map says (the client's gap blocks name them). After them
 * the taker continues with `next` (TSN, SSN, offset) and chunks freely. In 'go-back-n' mode every
 * chunk is sent (the paper's flush); in 'gap-fill' mode held chunks are marked and skipped.
 */
export function resumePlan(
  sack: Pick<SackChunk, 'cumulativeTsnAck' | 'gapBlocks'>,
  runs: readonly TsnRun[],
  mode: ResumeMode,
): { chunks: ResumeChunk[]; next: { tsn: number; ssn: number; offset: number; streamId: number } } {
  const cum = sack.cumulativeTsnAck >>> 0;
  const highest = sack.gapBlocks.reduce((m, g) => Math.max(m, g.end), 0);
  const isHeld = (k: number): boolean => sack.gapBlocks.some((g) => k >= g.start && k <= g.end);
  const chunks: ResumeChunk[] = [];
  for (let k = 1; k <= highest; k++) {
    const loc = locateTsn(tsnAdd(cum, k), runs);
    if (loc === undefined) break;
    const held = mode === 'gap-fill' && isHeld(k);
    chunks.push({ ...loc, held });
  }
  const nextTsn = tsnAdd(cum, chunks.length + 1);
  const last = chunks[chunks.length - 1];
  const at = locateTsn(nextTsn, runs);
  const prev = last ?? locateTsn(cum, runs);
  const next = at !== undefined
    ? { tsn: nextTsn, ssn: at.ssn, offset: at.offset, streamId: at.streamId }
    : {
        tsn: nextTsn,
        ssn: prev === undefined ? (runs[0]?.firstSsn ?? 0) : ssnAdd(prev.ssn, 1),
        offset: prev === undefined ? offsetAfterTsn(cum, runs) : prev.offset + prev.length,
        streamId: prev?.streamId ?? runs[0]?.streamId ?? 0,
      };
  return { chunks, next };
}

/**
 * Whether the map can say where the client's data sits: everything from its cumulative TSN + 1 up
 * to its highest held TSN must be mapped (an open last run maps every later TSN, by extrapolation).
 * False when the exported state is older than a run change the client has already seen: then no
 * offset is trustworthy and resuming would splice the stream.
 */
export function mappingCovers(sack: Pick<SackChunk, 'cumulativeTsnAck' | 'gapBlocks'>, runs: readonly TsnRun[], localInitialTsn: number): boolean {
  const cum = sack.cumulativeTsnAck >>> 0;
  const highestGap = sack.gapBlocks.reduce((m, g) => Math.max(m, g.end), 0);
  if (runs.length === 0) return cum === tsnAdd(localInitialTsn, -1) && highestGap === 0;
  const first = runs[0]!;
  if (tsnLt(tsnAdd(cum, 1), first.firstTsn)) return false;
  const last = runs[runs.length - 1]!;
  if (last.tsnCount === 0) return true;
  const lastTsn = tsnAdd(last.firstTsn, last.tsnCount - 1);
  return !tsnLt(lastTsn, tsnAdd(cum, highestGap));
}

/** Bytes a resume plan puts on the wire again (for comparing gap-fill with go-back-N). */
export function resendBytes(plan: { chunks: readonly ResumeChunk[] }): number {
  return plan.chunks.reduce((n, c) => n + (c.held ? 0 : c.length), 0);
}
