// `baton bench ...`: benchmarks live in bench/; this file only exposes them on the command line.
import { Command, Option } from 'commander';
import { formatThroughput, runThroughput } from '../../bench/throughput.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import * as numbers from './numbers.js';

interface ThroughputFlags {
  transport: TransportKind;
  seconds: number;
  messageSize: number;
  rounds: number;
  json?: boolean;
  onlyBaton?: boolean;
}

export function benchCommand(): Command {
  const bench = new Command('bench').description('Benchmarks (figures for the README come from these).');
  bench
    .command('throughput')
    .summary('goodput of one connection vs usrsctp and the node:dgram ceiling')
    .description(
      "One connection's goodput between two processes on loopback, measured in the same run as usrsctp's tsctp (Debian libusrsctp-examples, its debug tracing switched off by an LD_PRELOAD shim built with the C compiler: its best case) and a raw node:dgram blast between two Node processes (the ceiling for any userspace transport in Node). The contenders run one at a time in interleaved rounds with the same payload per datagram; the table gives min / median / max of MB/s (10^6 bytes of application payload per second at the receiver), of CPU time (user + system, both processes) per delivered MB, and of the ratios taken within each round.",
    )
    .addOption(new Option('-t, --transport <kind>', 'transport').choices(['sctp', 'tcp']).default('sctp'))
    .option('--seconds <n>', 'length of each measurement, above 0 and at most 3600', numbers.positiveNumber(3600), 5)
    .option('--message-size <bytes>', 'bytes per application write (and per tsctp message / ceiling datagram), 1 to 65000', numbers.wholeNumber(1, 65_000), 1400)
    .option('--rounds <n>', 'interleaved rounds (each contender once per round, a different one first), 1 to 100', numbers.wholeNumber(1, 100), 3)
    .option('--only-baton', 'skip the usrsctp and ceiling runs')
    .option('--json', 'print one JSON object instead of the table')
    .action(async (flags: ThroughputFlags) => {
      const { seconds, messageSize } = flags;
      const result = await runThroughput({
        transport: flags.transport,
        seconds,
        messageSize,
        rounds: flags.rounds,
        progress: (m) => process.stderr.write(`${m}\n`),
        ...(flags.onlyBaton ? { only: 'baton' as const } : {}),
      });
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `${formatThroughput(result)}\n`);
    });
  return bench;
}
