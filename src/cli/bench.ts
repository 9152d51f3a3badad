// `baton bench ...`: benchmarks live in bench/; this file only exposes them on the command line.
import { Command, Option } from 'commander';
import { formatThroughput, runThroughput } from '../../bench/throughput.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import * as numbers from './numbers.js';

interface ThroughputFlags {
  transport: TransportKind;
  seconds: number;
  messageSize: number;
  json?: boolean;
  onlyBaton?: boolean;
}

export function benchCommand(): Command {
  const bench = new Command('bench').description('Benchmarks (figures for the README come from these).');
  bench
    .command('throughput')
    .summary('goodput of one connection vs usrsctp and the node:dgram ceiling')
    .description(
      "One connection's goodput between two processes on loopback, measured in the same run as usrsctp's tsctp (Debian libusrsctp-examples) and a raw node:dgram blast between two Node processes (the ceiling for any userspace transport in Node), with the ratios. MB/s are 10^6 bytes of application payload per second at the receiver.",
    )
    .addOption(new Option('-t, --transport <kind>', 'transport').choices(['sctp', 'tcp']).default('sctp'))
    .option('--seconds <n>', 'length of each measurement, above 0 and at most 3600', numbers.positiveNumber(3600), 5)
    .option('--message-size <bytes>', 'bytes per application write (and per tsctp message / ceiling datagram), 1 to 65000', numbers.wholeNumber(1, 65_000), 1400)
    .option('--only-baton', 'skip the usrsctp and ceiling runs')
    .option('--json', 'print one JSON object instead of the table')
    .action(async (flags: ThroughputFlags) => {
      const { seconds, messageSize } = flags;
      if (!flags.json) process.stderr.write(`measuring baton ${flags.transport}, usrsctp and the UDP ceiling, ${seconds} s each...\n`);
      const result = await runThroughput({ transport: flags.transport, seconds, messageSize, ...(flags.onlyBaton ? { only: 'baton' as const } : {}) });
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `${formatThroughput(result)}\n`);
    });
  return bench;
}
