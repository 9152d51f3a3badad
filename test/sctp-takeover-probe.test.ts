import test from 'ava';
import {
  locateOffset,
  locateTsn,
  offsetAfterTsn,
  receiverStateFromSack,
  resendBytes,
  resumePlan,
  staleProbeChunk,
  staleProbeTsn,
} from '../src/sctp/probe.js';
import type { TsnRun } from '../src/transport-abstraction/state-types.js';

// TSNs 1000..1009 carry 100 bytes each from offset 0 (SSN 0..9), then TSN 1010 a short 30-byte
// chunk (closed run), then an open run of 100-byte chunks from TSN 1011 at offset 1030, SSN 11.
const runs: TsnRun[] = [
  { firstTsn: 1000, streamOffset: 0, bytesPerTsn: 100, tsnCount: 10, streamId: 0, firstSsn: 0 },
  { firstTsn: 1010, streamOffset: 1000, bytesPerTsn: 30, tsnCount: 1, streamId: 0, firstSsn: 10 },
  { firstTsn: 1011, streamOffset: 1030, bytesPerTsn: 100, tsnCount: 0, streamId: 0, firstSsn: 11 },
];

test('TSN ↔ offset mapping through runs, including closed, short and open runs', (t) => {
  t.deepEqual(locateTsn(1003, runs), { tsn: 1003, streamId: 0, ssn: 3, offset: 300, length: 100 });
  t.deepEqual(locateTsn(1010, runs), { tsn: 1010, streamId: 0, ssn: 10, offset: 1000, length: 30 });
  t.deepEqual(locateTsn(1500, runs), { tsn: 1500, streamId: 0, ssn: 500, offset: 1030 + 489 * 100, length: 100 });
  t.is(locateTsn(999, runs), undefined);
  t.is(offsetAfterTsn(999, runs), 0);
  t.is(offsetAfterTsn(1009, runs), 1000);
  t.is(offsetAfterTsn(1010, runs), 1030);
  t.deepEqual(locateOffset(1029, runs)?.tsn, 1010);
  t.deepEqual(locateOffset(1030, runs)?.tsn, 1011);
  t.deepEqual(locateOffset(250, runs)?.tsn, 1002);
  t.is(locateOffset(-1, runs), undefined);
  // closed final run: offsets beyond it are unmapped, offsetAfter gives its end
  const closed = runs.slice(0, 2);
  t.is(locateOffset(1030, closed), undefined);
  t.is(offsetAfterTsn(1200, closed), 1030);
});

test('TSN wrap-around inside a run', (t) => {
  const wrap: TsnRun[] = [{ firstTsn: 0xfffffffe, streamOffset: 0, bytesPerTsn: 10, tsnCount: 0, streamId: 0, firstSsn: 0xfffe }];
  t.deepEqual(locateTsn(1, wrap), { tsn: 1, streamId: 0, ssn: 1, offset: 30, length: 10 });
  t.is(locateOffset(35, wrap)!.tsn, 1);
  const rs = receiverStateFromSack({ cumulativeTsnAck: 0xffffffff, gapBlocks: [{ start: 2, end: 3 }] }, wrap);
  t.deepEqual(rs, { nextOffset: 20, heldRanges: [{ start: 30, end: 50 }], cumulativeAck: 0xffffffff });
});

test('stale probe TSN: inside the acked bytes when known, else initial TSN - 1', (t) => {
  t.is(staleProbeTsn(1000, runs), 999);
  t.is(staleProbeTsn(0, runs), 0xffffffff);
  t.is(staleProbeTsn(1000, runs, 350), 1002); // TSN 1003 (300..400) is only partly acked
  t.is(staleProbeTsn(1000, runs, 400), 1003);
  t.is(staleProbeTsn(1000, runs, 1030), 1010);
  t.is(staleProbeTsn(1000, runs, 50), 999); // no whole TSN acked yet
  const c = staleProbeChunk(1003, runs);
  t.true(c.immediate && c.beginning && c.ending);
  t.is(c.ssn, 3);
  t.is(c.userData.length, 1);
  t.is(staleProbeChunk(999, runs).ssn, 0);
});

test('receiverStateFromSack: cumulative TSN and gap blocks to offsets', (t) => {
  // client has 1000..1004, misses 1005..1006, holds 1007..1008, misses 1009, holds 1010..1012
  const sack = { cumulativeTsnAck: 1004, gapBlocks: [{ start: 3, end: 4 }, { start: 6, end: 8 }] };
  t.deepEqual(receiverStateFromSack(sack, runs), {
    nextOffset: 500,
    heldRanges: [{ start: 700, end: 900 }, { start: 1000, end: 1230 }],
    cumulativeAck: 1004,
  });
  // nothing received at all: cum = initial - 1
  t.deepEqual(receiverStateFromSack({ cumulativeTsnAck: 999, gapBlocks: [] }, runs), { nextOffset: 0, heldRanges: [], cumulativeAck: 999 });
  // adjacent blocks merge
  const merged = receiverStateFromSack({ cumulativeTsnAck: 1000, gapBlocks: [{ start: 2, end: 2 }, { start: 3, end: 3 }] }, runs);
  t.deepEqual(merged.heldRanges, [{ start: 200, end: 400 }]);
});

test('resume plan: gap-fill skips held TSNs, go-back-n resends them; both continue at the same next TSN', (t) => {
  const sack = { cumulativeTsnAck: 1004, gapBlocks: [{ start: 3, end: 4 }, { start: 6, end: 8 }] };
  const gap = resumePlan(sack, runs, 'gap-fill');
  const gbn = resumePlan(sack, runs, 'go-back-n');
  t.deepEqual(gap.chunks.map((c) => c.tsn), [1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012]);
  t.deepEqual(gap.chunks.filter((c) => !c.held).map((c) => c.tsn), [1005, 1006, 1009]);
  t.true(gbn.chunks.every((c) => !c.held));
  t.is(resendBytes(gap), 300);
  t.is(resendBytes(gbn), 300 + 200 + 30 + 200);
  t.deepEqual(gap.next, { tsn: 1013, ssn: 13, offset: 1230, streamId: 0 });
  t.deepEqual(gbn.next, gap.next);
  // no gaps: nothing to rebuild, continue right after the cumulative TSN
  t.deepEqual(resumePlan({ cumulativeTsnAck: 1004, gapBlocks: [] }, runs, 'gap-fill'), { chunks: [], next: { tsn: 1005, ssn: 5, offset: 500, streamId: 0 } });
  // everything in a closed map acked: continue after it with the next SSN
  const closed = runs.slice(0, 2);
  t.deepEqual(resumePlan({ cumulativeTsnAck: 1010, gapBlocks: [] }, closed, 'go-back-n').next, { tsn: 1011, ssn: 11, offset: 1030, streamId: 0 });
});

test('clipSack: acknowledgements of replay TSNs not re-sent yet are clipped', async (t) => {
  const { clipSack } = await import('../src/sctp/takeover-hooks.js');
  const sack = { type: 3 as const, cumulativeTsnAck: 1004, advertisedReceiverWindow: 1000, gapBlocks: [{ start: 3, end: 4 }, { start: 6, end: 8 }], duplicateTsns: [] };
  t.is(clipSack(sack, 1013), sack); // everything below nextTsn: unchanged
  t.deepEqual(clipSack(sack, 1011).gapBlocks, [{ start: 3, end: 4 }, { start: 6, end: 6 }]);
  t.deepEqual(clipSack(sack, 1008).gapBlocks, [{ start: 3, end: 3 }]);
  t.deepEqual(clipSack(sack, 1006).gapBlocks, []);
  const ahead = clipSack({ ...sack, cumulativeTsnAck: 1020 }, 1010);
  t.is(ahead.cumulativeTsnAck, 1009);
  t.deepEqual(ahead.gapBlocks, []);
  // wrap-around
  t.is(clipSack({ ...sack, cumulativeTsnAck: 5, gapBlocks: [] }, 0xfffffff0).cumulativeTsnAck, 0xffffffef);
});

test('mappingCovers: the map must reach the client\'s cumulative TSN + 1 and its highest held TSN', async (t) => {
  const { mappingCovers } = await import('../src/sctp/probe.js');
  t.true(mappingCovers({ cumulativeTsnAck: 1004, gapBlocks: [{ start: 3, end: 400 }] }, runs, 1000)); // open run
  const closed = runs.slice(0, 2); // TSNs 1000..1010
  t.true(mappingCovers({ cumulativeTsnAck: 1010, gapBlocks: [] }, closed, 1000));
  t.true(mappingCovers({ cumulativeTsnAck: 1004, gapBlocks: [{ start: 2, end: 6 }] }, closed, 1000));
  t.false(mappingCovers({ cumulativeTsnAck: 1004, gapBlocks: [{ start: 2, end: 7 }] }, closed, 1000));
  t.false(mappingCovers({ cumulativeTsnAck: 1011, gapBlocks: [] }, closed, 1000));
  t.false(mappingCovers({ cumulativeTsnAck: 990, gapBlocks: [] }, runs, 1000)); // before the map
  t.true(mappingCovers({ cumulativeTsnAck: 999, gapBlocks: [] }, runs, 1000));
  // an empty map (exported before any data): only "nothing received" is known
  t.true(mappingCovers({ cumulativeTsnAck: 999, gapBlocks: [] }, [], 1000));
  t.false(mappingCovers({ cumulativeTsnAck: 1003, gapBlocks: [] }, [], 1000));
});

test('withContinuation: a closed or empty map gets the open run the next full-size chunks form', async (t) => {
  const { withContinuation } = await import('../src/sctp/takeover-hooks.js');
  const o = { mode: 'stream', chunkSize: 100 };
  t.is(withContinuation(runs, 2000, 99_999, o, undefined), runs); // already open
  const closed = runs.slice(0, 2); // ends at TSN 1010, offset 1030, SSN 10
  t.deepEqual(withContinuation(closed, 1011, 1030, o, undefined).at(-1), { firstTsn: 1011, streamOffset: 1030, bytesPerTsn: 100, tsnCount: 0, streamId: 0, firstSsn: 11 });
  t.is(withContinuation(closed, 1013, 1290, o, undefined), closed); // replay in progress: unknown, unchanged
  t.deepEqual(withContinuation([], 77, 0, o, 0), [{ firstTsn: 77, streamOffset: 0, bytesPerTsn: 100, tsnCount: 0, streamId: 0, firstSsn: 0 }]);
  t.deepEqual(withContinuation([], 77, 500, o, undefined), []);
  t.is(withContinuation(closed, 1011, 1030, { mode: 'message', chunkSize: 100 }, undefined), closed);
});
