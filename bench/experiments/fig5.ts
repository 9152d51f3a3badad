// Figure 5 of the paper (section 5.1, "Server stability"): download time versus oscillation
// period. A client fetches one object over the paper's links (two servers, 40 ms RTT, 128 kbit/s,
// 14 KB bottleneck queues) while the monitor moves the connection between the two servers every
// period; each move is a real takeover in the simulator (oscillation.ts). Both transports, with the
// paper's go-back-N resumption (the taker sends again what the client already holds beyond its
// first missing byte) and ours, gap-filling (it skips what the client reports holding). Pure
// virtual time: the machine's load does not change the figures.
import { TRANSPORT_KINDS } from '../../src/transports.js';
import type { ResumeMode, TransportKind } from '../../src/transport-abstraction/transport.js';
import { integerOption, type Experiment } from './experiment.js';
import { PAPER_OBJECT_BYTES, PAPER_SINGLE_SERVER_S, runOscillation, type OscillationResult } from './oscillation.js';
import { markdownTable, type ExperimentOutput } from './report.js';

export const RESUME_MODES: readonly ResumeMode[] = ['go-back-n', 'gap-fill'];

export interface Fig5Options {
  /** Periods in seconds; the no-oscillation run is always added. */
  readonly periods: readonly number[];
  readonly seeds: number;
  readonly kinds?: readonly TransportKind[];
  readonly modes?: readonly ResumeMode[];
  readonly objectBytes?: number;
  /** Minimum RTO of servers and client, ms (default: the transports' 1000). */
  readonly rtoMin?: number;
  readonly progress?: (message: string) => void;
}

export interface Fig5Row {
  readonly kind: TransportKind;
  readonly mode: ResumeMode;
  /** Seconds between moves; undefined: no oscillation. */
  readonly periodS: number | undefined;
  /** Download times of the seeds, seconds. */
  readonly times: readonly number[];
  readonly moves: number;
  readonly duplicates: number;
  readonly refused: number;
  readonly stallMs: number;
  /** Seeds whose object did not arrive whole. */
  readonly incomplete: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function runFig5(options: Fig5Options): Promise<Fig5Row[]> {
  const rows: Fig5Row[] = [];
  const periods: (number | undefined)[] = [undefined, ...options.periods];
  for (const kind of options.kinds ?? TRANSPORT_KINDS) {
    for (const mode of options.modes ?? RESUME_MODES) {
      for (const periodS of periods) {
        const results: OscillationResult[] = [];
        for (let seed = 1; seed <= options.seeds; seed++) {
          results.push(
            await runOscillation({ kind, mode, periodMs: periodS === undefined ? undefined : periodS * 1000, seed, ...(options.objectBytes ? { objectBytes: options.objectBytes } : {}), ...(options.rtoMin ? { rtoMin: options.rtoMin } : {}) }),
          );
        }
        rows.push({
          kind,
          mode,
          periodS,
          times: results.map((r) => r.downloadS),
          moves: mean(results.map((r) => r.moves)),
          duplicates: mean(results.map((r) => r.duplicatePackets)),
          refused: mean(results.map((r) => r.refusedPackets)),
          stallMs: mean(results.filter((r) => r.moves > 0).map((r) => r.meanStallMs)),
          incomplete: results.filter((r) => !r.complete).length,
        });
        options.progress?.(`${kind} ${mode} ${periodS === undefined ? 'no oscillation' : `${periodS} s`}: ${mean(results.map((r) => r.downloadS)).toFixed(2)} s`);
      }
    }
  }
  return rows;
}

/** The row's mean time over the same transport and mode's no-oscillation mean, as a percentage above it. */
export function slowdown(rows: readonly Fig5Row[], row: Fig5Row): number {
  const none = rows.find((r) => r.kind === row.kind && r.mode === row.mode && r.periodS === undefined);
  return none ? (100 * (mean(row.times) - mean(none.times))) / mean(none.times) : NaN;
}

/** Gap-filling rows with a period of at least 3 s that are more than 10% above no oscillation. */
export function missedGoal(rows: readonly Fig5Row[]): Fig5Row[] {
  return rows.filter((r) => r.mode === 'gap-fill' && r.periodS !== undefined && r.periodS >= 3 && slowdown(rows, r) > 10);
}

const fixed = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

export function fig5Output(rows: readonly Fig5Row[], setup: string): ExperimentOutput {
  const failed = rows.filter((r) => r.incomplete > 0);
  const missed = missedGoal(rows);
  const series = rows
    .filter((r) => r.periodS === undefined)
    .flatMap((none) => {
      const curve = rows.filter((r) => r.kind === none.kind && r.mode === none.mode && r.periodS !== undefined);
      const xs = curve.map((r) => r.periodS!);
      return [{ name: `${none.kind} ${none.mode}`, points: curve.map((r) => [r.periodS!, mean(r.times)] as const) }, ...(none.mode === 'gap-fill' && xs.length ? [{ name: `${none.kind} no oscillation`, points: [[Math.min(...xs), mean(none.times)], [Math.max(...xs), mean(none.times)]] as const }] : [])];
    });
  const periods = [...new Set(rows.filter((r) => r.periodS !== undefined).map((r) => r.periodS!))];
  return {
    title: 'Figure 5: download time versus oscillation period',
    columns: ['transport', 'resume_mode', 'period_s', 'download_s', 'min_s', 'max_s', 'vs_no_oscillation_pct', 'moves', 'duplicate_packets', 'refused_packets', 'stall_ms', 'incomplete'],
    rows: rows.map((r) => [
      r.kind,
      r.mode,
      r.periodS ?? 'none',
      fixed(mean(r.times)),
      fixed(Math.min(...r.times)),
      fixed(Math.max(...r.times)),
      r.periodS === undefined ? 0 : fixed(slowdown(rows, r), 1),
      fixed(r.moves, 1),
      fixed(r.duplicates, 1),
      fixed(r.refused, 1),
      r.periodS === undefined ? '—' : fixed(r.stallMs, 0),
      r.incomplete,
    ]),
    chart: {
      kind: 'line',
      title: 'Figure 5: download time vs oscillation period',
      xLabel: 'seconds between moves',
      yLabel: 'download time (s)',
      series: [...series, ...(periods.length ? [{ name: 'paper, one server', points: [[Math.min(...periods), PAPER_SINGLE_SERVER_S], [Math.max(...periods), PAPER_SINGLE_SERVER_S]] as const }] : [])],
    },
    notes: [
      `Setup: ${setup}. The paper's connection served entirely by one server took ${PAPER_SINGLE_SERVER_S} s.`,
      '',
      'Gap-filling against no oscillation (goal: every period ≥ 3 s within 10%):',
      '',
      markdownTable(
        ['transport', ...periods.map((p) => `${p} s`)],
        [...new Set(rows.map((r) => r.kind))].map((kind) => [
          kind,
          ...periods.map((p) => {
            const row = rows.find((r) => r.kind === kind && r.mode === 'gap-fill' && r.periodS === p);
            return row ? `${slowdown(rows, row) >= 0 ? '+' : ''}${fixed(slowdown(rows, row), 1)}%` : '—';
          }),
        ]),
      ),
      '',
      missed.length === 0 ? 'Goal met.' : `Goal missed at: ${missed.map((r) => `${r.kind} ${r.periodS} s (+${fixed(slowdown(rows, r), 1)}%)`).join(', ')}.`,
    ].join('\n'),
    ...(failed.length ? { failure: `the object did not arrive whole in ${failed.map((r) => `${r.kind} ${r.mode} ${r.periodS ?? 'none'} (${r.incomplete} seeds)`).join(', ')}` } : {}),
  };
}

export const fig5Experiment: Experiment = {
  name: 'fig5',
  summary: "download time versus oscillation period (paper's Figure 5), go-back-N and gap-filling resumption",
  description: [
    "The paper's Figure 5 (section 5.1) on the simulated network: two servers, each 40 ms RTT, 128 kbit/s and a 14 KB",
    `bottleneck queue each way, one client downloading a ${PAPER_OBJECT_BYTES}-byte object (what the paper's link carried in`,
    `${PAPER_SINGLE_SERVER_S} s: 16,000 bytes/s × 1460/1500). The monitor moves the connection to the other server every`,
    'period (1 s .. --max-period, and never); each move is a real takeover. Both transports, go-back-N and gap-filling',
    'resumption, --seeds seeds (the seed sets the moves\' phase). Writes fig5.csv, fig5.md and fig5.svg; exits non-zero if',
    'an object did not arrive whole.',
  ].join(' '),
  defaultSeeds: 3,
  options: [
    { name: 'maxPeriod', flag: '--max-period <n>', description: 'longest period between moves, seconds (periods 1..n)', default: '20' },
    { name: 'objectBytes', flag: '--object-bytes <n>', description: `object size, bytes (default: the paper's, ${PAPER_OBJECT_BYTES})`, default: String(PAPER_OBJECT_BYTES) },
    { name: 'rtoMin', flag: '--rto-min <n>', description: "minimum retransmission timeout of servers and client, ms (the transports' default: 1000)", default: '1000' },
  ],
  async run(context) {
    const maxPeriod = integerOption(context, 'maxPeriod');
    const periods = Array.from({ length: maxPeriod }, (_, i) => i + 1);
    const rtoMin = integerOption(context, 'rtoMin');
    const objectBytes = integerOption(context, 'objectBytes');
    const rows = await runFig5({ periods, seeds: context.seeds, rtoMin, objectBytes, progress: context.progress });
    return fig5Output(rows, `${objectBytes}-byte object, periods 1-${maxPeriod} s, mean of ${context.seeds} seeds, minimum RTO ${rtoMin} ms`);
  },
};
