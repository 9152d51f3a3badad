// Figure 5 (download time versus oscillation period), small and fast: a 400 KB object, periods 2,
// 3 and 6 s, one seed, both transports and both resumption modes. Gap-filling must be flatter
// than go-back-N (no loss-recovery bumps) and close to the no-oscillation time; every object must
// arrive whole. And the command writes its files.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFig5, slowdown, type Fig5Row } from '../bench/experiments/fig5.js';
import { PAPER_OBJECT_BYTES } from '../bench/experiments/oscillation.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { runExperimentQuietly } from './helpers/experiment-run.js';

test('the object is what the paper\'s link carried in 61.96 s: 16,000 bytes/s × 1460/1500', (t) => {
  t.is(PAPER_OBJECT_BYTES, 964_924); // 61.96 s × 16,000 B/s = 991,360 bytes of packets, 1460 of each 1500 payload
});

test('gap-filling is flatter than go-back-N and within 10% of no oscillation, on both transports', async (t) => {
  const rows = await runFig5({ periods: [2, 3, 6], seeds: 1, objectBytes: 400_000 });
  const line = (r: Fig5Row) => `${r.kind} ${r.mode} ${r.periodS ?? 'none'}: ${r.times[0]!.toFixed(2)} s (${slowdown(rows, r).toFixed(1)}%), ${r.moves} moves, ${r.duplicates} duplicates`;
  t.log(rows.map(line).join('\n'));
  t.deepEqual(rows.filter((r) => r.incomplete > 0).map(line), [], 'every object arrived whole');
  for (const kind of TRANSPORT_KINDS) {
    const curve = (mode: string) => rows.filter((r) => r.kind === kind && r.mode === mode && r.periodS !== undefined);
    const gap = curve('gap-fill');
    const gbn = curve('go-back-n');
    t.is(gap.length, 3);
    t.true(gap.every((r) => r.moves >= 1), `${kind}: every oscillating run moved`);
    const total = (c: Fig5Row[]) => c.reduce((sum, r) => sum + r.times[0]!, 0);
    t.true(total(gap) < total(gbn), `${kind}: gap-filling takes less time in all than go-back-N`);
    t.true(Math.max(...gap.map((r) => slowdown(rows, r))) < Math.max(...gbn.map((r) => slowdown(rows, r))), `${kind}: gap-filling's worst period is better than go-back-N's`);
    for (const r of gap.filter((r) => r.periodS! >= 3)) t.true(slowdown(rows, r) <= 10, `${kind} gap-fill ${r.periodS} s: ${slowdown(rows, r).toFixed(1)}%`);
  }
});

test('`baton experiment fig5` writes fig5.csv, .md and .svg', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'baton-fig5-'));
  await runExperimentQuietly(['fig5', '--out', out, '--seeds', '1', '--max-period', '1', '--object-bytes', '60000']);
  const csv = readFileSync(join(out, 'fig5.csv'), 'utf8').trim().split('\n');
  t.is(csv[0], 'transport,resume_mode,period_s,download_s,min_s,max_s,vs_no_oscillation_pct,moves,duplicate_packets,refused_packets,stall_ms,incomplete');
  t.is(csv.length, 1 + 2 * 2 * 2, 'two transports × two modes × (no oscillation, 1 s)');
  for (const l of csv.slice(1)) {
    const [, , period, time, , , , , , , , incomplete] = l.split(',');
    t.true(period === 'none' || period === '1', l);
    t.true(Number(time) > 0, l);
    t.is(incomplete, '0', l);
  }
  t.regex(readFileSync(join(out, 'fig5.md'), 'utf8'), /Gap-filling against no oscillation/);
  t.regex(readFileSync(join(out, 'fig5.svg'), 'utf8'), /<svg[\s\S]*tcp gap-fill[\s\S]*<\/svg>/);
});
