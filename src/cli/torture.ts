// `baton torture --seeds N`: the simulated torture campaign (bench/torture/). Per seed and
// transport a random pool, lossy links and a timeline of server faults in virtual time; every
// download must be byte-identical or end with a clear error code, and no run may hang. Progress
// on standard error (a cli-progress bar on a terminal, else a line every 10 %); a failing run is
// reported with the command that replays it; the last line is the totals, and the exit status is
// 1 if any byte was lost or duplicated or any run hung.
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { addRun, emptyTotals, failed, replayCommand, runSeed, summaryLine, type RunResult } from '../../bench/torture/campaign.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import { TRANSPORT_KINDS } from '../transports.js';
import * as numbers from './numbers.js';

interface TortureFlags {
  seeds: number;
  seed: number;
  transport: 'sctp' | 'tcp' | 'both';
  verbose?: boolean;
}

export function tortureCommand(): Command {
  return new Command('torture')
    .description(
      'Simulated torture of the wedge pool in virtual time: for each seed, random loss (0-10 %), duplication, reordering and jitter on every link; random server deaths, cascaded deaths of the taker, erroneous death reports, lost announcements, servers joining and leaving. Every download must be byte-identical to its object or end with a clear error code; every run is bounded in virtual time. The last line counts, over all runs, downloads that lost or duplicated bytes, runs that hung (or whose core threw), and downloads that ended with a clear error. Exit status 1 if any byte was lost or duplicated or any run hung.',
    )
    .option('--seeds <n>', 'how many seeds to run (seeds S .. S+N-1)', numbers.wholeNumber(1, 10_000_000), 100)
    .option('--seed <s>', 'the first seed', numbers.wholeNumber(0, 2 ** 31), 1)
    .addOption(new Option('--transport <kind>', 'the transport of every run').choices(['sctp', 'tcp', 'both']).default('both'))
    .option('--verbose', 'print every run, not only failing ones')
    .action(async (flags: TortureFlags) => {
      process.exitCode = await runTorture(flags);
    });
}

async function runTorture(flags: TortureFlags): Promise<number> {
  const kinds: readonly TransportKind[] = flags.transport === 'both' ? TRANSPORT_KINDS : [flags.transport];
  const totals = emptyTotals();
  const total = flags.seeds * kinds.length;
  const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ stream: process.stderr, format: 'baton torture: {bar} {value}/{total} runs | {failures} failing', hideCursor: true, barsize: 30 }, cliProgress.Presets.shades_classic) : undefined;
  bar?.start(total, 0, { failures: 0 });
  const started = process.hrtime.bigint();
  let failures = 0;
  let lastDecile = 0;
  const say = (line: string): void => {
    if (bar) bar.stop();
    process.stdout.write(`${line}\n`);
    if (bar) bar.start(total, totals.runs, { failures });
  };
  for (let i = 0; i < flags.seeds; i++) {
    const seed = flags.seed + i;
    totals.seeds++;
    for (const kind of kinds) {
      const result = await runSeed(kind, seed);
      addRun(totals, result);
      if (failed(result)) {
        failures++;
        say(report(result));
      } else if (flags.verbose) say(`ok ${kind} seed ${seed}: ${result.downloads.map((d) => d.outcome + (d.code ? ` ${d.code}` : '')).join(', ')}`);
      bar?.update(totals.runs, { failures });
      const decile = Math.floor((totals.runs * 10) / total);
      if (!bar && decile > lastDecile) {
        lastDecile = decile;
        process.stderr.write(`baton torture: ${totals.runs}/${total} runs, ${failures} failing\n`);
      }
    }
  }
  bar?.stop();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const codes = [...totals.codes].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ');
  process.stdout.write(`${totals.runs} runs (${kinds.join(' and ')}), ${totals.whole + totals.lost + totals.duplicated + totals.clearErrors} downloads in ${seconds.toFixed(1)} s: ${totals.whole} whole${codes ? `; clear errors: ${codes}` : ''}\n`);
  if (totals.knownSctpTruncations > 0) process.stdout.write(`of the lost: ${totals.knownSctpTruncations} the known SCTP open-TSN-run truncation (a taker resuming past a short chunk)\n`);
  process.stdout.write(`${summaryLine(totals)}\n`);
  return totals.lost + totals.duplicated + totals.hung > 0 ? 1 : 0;
}

function report(r: RunResult): string {
  const bad = r.downloads.map((d, i) => `  download ${i + 1}: ${d.outcome}: ${d.detail}`).filter((_, i) => r.downloads[i]!.outcome === 'lost' || r.downloads[i]!.outcome === 'duplicated');
  return [`FAIL ${r.kind} seed ${r.seed}${r.hung ? `: hung: ${r.hung}` : ''}`, ...bad, ...r.story.map((s) => `  ${s}`), `  replay: ${replayCommand(r)}`].join('\n');
}
