// `baton fuzz TARGET --inputs N`: the mutation fuzzer (bench/fuzz/) over one parser or core: SCTP
// packets, TCP-Migrate segments, state files, sealed announcements, HTTP requests. Progress on
// standard error; one summary line per finding and a last line of totals; exit status 1 if any
// input threw an uncoded exception, a promise rejection went unhandled, or a state check failed.
import { Argument, Command } from 'commander';
import { failures, runFuzz } from '../../bench/fuzz/run.js';
import { FUZZ_TARGETS, type FuzzTargetName } from '../../bench/fuzz/targets.js';
import * as numbers from './numbers.js';

export function fuzzCommand(): Command {
  return new Command('fuzz')
    .description(
      "Mutation fuzzing of one parser or core from a corpus of genuine inputs (a recorded conversation, a state file, sealed announcements, HTTP requests). Every input may only be dropped, counted, or refused with a coded error; every --check-every inputs the target's state is checked (the connection still carries data byte-exact, a genuine state still imports, a genuine announcement is still stored, a genuine request still parses). Exit status 1 on any finding.",
    )
    .addArgument(new Argument('<target>', 'what to fuzz').choices(FUZZ_TARGETS))
    .option('--inputs <n>', 'how many inputs', numbers.wholeNumber(1, 1_000_000_000), 100_000)
    .option('--seed <s>', 'seed of the mutation stream', numbers.wholeNumber(0, 2 ** 31), 1)
    .option('--check-every <n>', 'inputs between state checks', numbers.wholeNumber(1, 1_000_000_000), 1000)
    .action(async (target: FuzzTargetName, flags: { inputs: number; seed: number; checkEvery: number }) => {
      let lastShown = 0;
      const report = await runFuzz(target, {
        inputs: flags.inputs,
        seed: flags.seed,
        checkEvery: flags.checkEvery,
        progress: (done) => {
          const decile = Math.floor((done * 10) / flags.inputs);
          if (decile > lastShown) {
            lastShown = decile;
            process.stderr.write(`baton fuzz ${target}: ${done}/${flags.inputs} inputs\n`);
          }
        },
      });
      for (const f of report.uncoded) process.stdout.write(`uncoded exception: ${f}\n`);
      for (const f of report.unhandledRejections) process.stdout.write(`unhandled rejection: ${f}\n`);
      for (const f of report.checkFailures) process.stdout.write(`state check failed ${f}\n`);
      const codes = [...report.coded].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
      const counters = Object.entries(report.counters).map(([k, v]) => `${k} ${v}`).join(', ');
      process.stdout.write(`${target}: ${report.inputs} inputs in ${(report.ms / 1000).toFixed(1)} s (${Math.round((report.inputs * 1000) / report.ms)}/s), ${report.checks} state checks; coded errors: ${codes || 'none'}; ${counters}\n`);
      process.stdout.write(`inputs ${report.inputs}, uncoded ${report.uncoded.length}, unhandled rejections ${report.unhandledRejections.length}, failed checks ${report.checkFailures.length}\n`);
      process.exitCode = failures(report) > 0 ? 1 : 0;
    });
}
