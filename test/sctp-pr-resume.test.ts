// The message-mode takeover's plan (src/sctp/pr-sctp.ts messageResume) and the receiver's fillers
// (src/sctp/reassembly.ts FILLER_PPID), case by case; the calls that use them: test/voice-ordered.test.ts.
import test from 'ava';
import { messageResume } from '../src/sctp/pr-sctp.js';
import { FILLER_PPID, Reassembly } from '../src/sctp/reassembly.js';
import type { DataChunk } from '../src/sctp/wire/types.js';

const T0 = 0xfffffff0; // the export's next TSN, near the wrap on purpose

test('PR-SCTP: ordered streams continue past the bound N + (after - T0), one TSN after the highest held (the FORWARD-TSN names it)', (t) => {
  const exported = { nextTsn: T0, nextSsn: [10, 0, 0xfffe] };
  // The client holds through T0 + 4 (cum T0 + 1, holes at T0 + 2..3): after = T0 + 5.
  const plan = messageResume(exported, (T0 + 1) >>> 0, (T0 + 5) >>> 0, true);
  t.deepEqual(plan, { tsn: (T0 + 6) >>> 0, ssns: [15, 0, 3], fill: { count: 0, stream: 0, unordered: true } });
  // The client is behind the export: the SSNs named there are already an upper bound.
  t.deepEqual(messageResume(exported, (T0 - 8) >>> 0, (T0 - 3) >>> 0, true), { tsn: (T0 - 2) >>> 0, ssns: [10, 0, 0xfffe], fill: { count: 0, stream: 0, unordered: true } });
});

test('PR-SCTP: unordered-only streams or an older state without SSNs: resume right after the highest held TSN, SSNs untouched', (t) => {
  const none = { count: 0, stream: 0, unordered: true };
  t.deepEqual(messageResume({ nextTsn: T0, nextSsn: [0, 0] }, T0, (T0 + 3) >>> 0, true), { tsn: (T0 + 3) >>> 0, ssns: undefined, fill: none });
  t.deepEqual(messageResume(undefined, T0, (T0 + 3) >>> 0, true), { tsn: (T0 + 3) >>> 0, ssns: undefined, fill: none });
});

test('without PR-SCTP: resume at cum + 1 and fill every TSN up to the highest held, on the one ordered stream with the SSNs the old server gave them', (t) => {
  const exported = { nextTsn: T0, nextSsn: [0, 40] };
  // cum T0 - 3: the filler at T0 - 2 gets SSN 40 - 2 = 38; after the 6 fillers stream 1 is at 44.
  const plan = messageResume(exported, (T0 - 3) >>> 0, (T0 + 4) >>> 0, false);
  t.deepEqual(plan, { tsn: (T0 - 2) >>> 0, ssns: [0, 38], fill: { count: 6, stream: 1, unordered: false } });
  t.deepEqual(messageResume({ nextTsn: T0, nextSsn: [0, 0] }, T0, (T0 + 3) >>> 0, false), { tsn: (T0 + 1) >>> 0, ssns: [0, 0], fill: { count: 2, stream: 0, unordered: true } });
  t.deepEqual(messageResume(exported, T0, (T0 + 1) >>> 0, false), { tsn: (T0 + 1) >>> 0, ssns: [0, 41], fill: { count: 0, stream: 0, unordered: true } }, 'no hole: nothing to fill');
  const several = messageResume({ nextTsn: T0, nextSsn: [3, 4] }, T0, (T0 + 3) >>> 0, false);
  t.true('failed' in several && /2 streams/.test(several.failed), 'ordered messages on several streams and a hole: no exact fill');
});

function chunk(tsn: number, ssn: number, unordered: boolean, data: Uint8Array, ppid = 0): DataChunk {
  return { type: 0, immediate: false, unordered, beginning: true, ending: true, tsn, streamId: 0, ssn, ppid, userData: data };
}

test('receiver: a filler is never delivered; an ordered one takes its SSN (the stream moves on), is dropped behind the stream, and a waiting real message keeps its place', (t) => {
  const got: number[] = [];
  const r = new Reassembly(1, (_s, b) => got.push(b[0]!));
  const filler = new Uint8Array([0]);
  r.add(chunk(1, 0, false, new Uint8Array([10])));
  r.add(chunk(2, 0, false, filler, FILLER_PPID)); // behind the stream: dropped
  r.add(chunk(4, 2, false, new Uint8Array([12]))); // waits for SSN 1
  r.add(chunk(5, 2, false, filler, FILLER_PPID)); // SSN 2 is a real message's: dropped
  r.add(chunk(3, 1, false, filler, FILLER_PPID)); // fills SSN 1: releases SSN 2
  r.add(chunk(6, 0, true, filler, FILLER_PPID)); // unordered filler
  r.add(chunk(7, 3, false, new Uint8Array([13])));
  t.deepEqual(got, [10, 12, 13]);
  t.is(r.nextSsn[0], 4);
  t.is(r.bufferedBytes, 0);
  t.is(r.stranded(7), undefined);
});
