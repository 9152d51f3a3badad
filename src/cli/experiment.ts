// `baton experiment NAME`: the paper's experiments live in bench/experiments/; this file only
// exposes them on the command line and writes their outputs (DIR/NAME.csv, .svg, .md).
import { Command } from 'commander';
import { EXPERIMENTS, type Experiment } from '../../bench/experiments/index.js';
import { writeReport } from '../../bench/experiments/report.js';
import * as numbers from './numbers.js';

interface CommonFlags {
  out: string;
  seeds: number;
  [option: string]: string | number;
}

export function experimentCommand(): Command {
  const command = new Command('experiment')
    .description(
      "Reproduce the paper's experiments. Each writes DIR/NAME.csv, DIR/NAME.svg (a chart) and DIR/NAME.md (a markdown table), prints the table, shows progress on stderr, and exits non-zero if the run failed. `baton experiment NAME --help` explains one.",
    )
    .showHelpAfterError();
  for (const experiment of EXPERIMENTS) command.addCommand(experimentSubcommand(experiment));
  return command;
}

function experimentSubcommand(experiment: Experiment): Command {
  const sub = new Command(experiment.name)
    .summary(experiment.summary)
    .description(experiment.description)
    .option('--out <dir>', 'directory for NAME.csv, NAME.svg and NAME.md', 'results')
    .option('--seeds <n>', 'seeds to average over', numbers.wholeNumber(1, 100_000), experiment.defaultSeeds);
  for (const option of experiment.options) {
    // The default is passed as typed, not parsed here: a registry's bad default must not throw
    // while the command line is built (the experiment checks what it is given).
    const check = numbers.experimentOption(option.name, option.flag);
    if (check !== undefined) sub.option(option.flag, option.description, check, option.default);
    else sub.option(option.flag, option.description, option.default);
  }
  sub.action(async (flags: CommonFlags) => {
    const { seeds } = flags;
    const options: Record<string, string> = {};
    for (const option of experiment.options) options[option.name] = String(flags[option.name]);
    const started = process.hrtime.bigint();
    const output = await experiment.run({
      seeds,
      options,
      progress: (message) => process.stderr.write(`${experiment.name}: ${message}\n`),
    });
    const files = writeReport(flags.out, experiment.name, output);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stderr.write(`${experiment.name}: done in ${seconds.toFixed(1)} s; wrote ${files.join(', ')}\n`);
    process.stdout.write(`${toText(output.columns, output.rows)}\n`);
    if (output.failure) throw new Error(`${experiment.name} failed: ${output.failure}`);
  });
  return sub;
}

/** The table as tab-separated lines for the terminal (the files have the CSV and markdown). */
function toText(columns: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [columns, ...rows].map((row) => row.join('\t')).join('\n');
}
