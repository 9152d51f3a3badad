// `baton bench ...`: benchmarks live in bench/; this file only exposes them on the command line.
import { Command, Option } from 'commander';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import { formatConnections, runConnections } from '../../bench/connections.js';
import { formatAuthDataCost, formatThroughput, runAuthDataCost, runThroughput } from '../../bench/throughput.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import * as numbers from './numbers.js';
import { chaosCommand } from './chaos.js';

interface ThroughputFlags {
  transport: TransportKind;
  seconds: number;
  messageSize: number;
  rounds: number;
  json?: boolean;
  onlyBaton?: boolean;
  authDataCost?: boolean;
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
    .option('--auth-data-cost', 'SCTP only: baton with and without authenticated DATA (SctpOptions.authenticateData) in interleaved rounds, the ratio min / median / max')
    .action(async (flags: ThroughputFlags) => {
      const { seconds, messageSize } = flags;
      if (flags.authDataCost) {
        if (flags.transport !== 'sctp') throw new LocalUsageError('--auth-data-cost needs --transport sctp');
        const cost = await runAuthDataCost({ seconds, messageSize, rounds: flags.rounds });
        process.stdout.write(flags.json ? `${JSON.stringify(cost)}\n` : `${formatAuthDataCost(cost)}\n`);
        return;
      }
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
  bench.addCommand(connectionsCommand());
  bench.addCommand(chaosCommand());
  return bench;
}

interface ConnectionsFlags {
  n: number[];
  transport: TransportKind;
  seconds: number;
  coreOnly?: boolean;
  json?: boolean;
}

/** `baton bench connections`: what one connection costs a server process (bench/connections.ts). */
function connectionsCommand(): Command {
  return new Command('connections')
    .summary('memory per connection, set-ups per second, n concurrent streams vs one, event-loop p99')
    .description(
      'For each n: the server core\'s memory per idle connection and its CPU per set-up (in this process, datagrams handed across without sockets), then on real UDP over 127.0.0.1 (a server process and a clients process, each client its own socket): the server\'s RSS and heap growth per connection, the aggregate goodput of n concurrent streams from the server (and its ratio to the n = 1 row of the same run), and the server\'s event-loop delay p99 while streaming. Progress goes to stderr.',
    )
    .option('--n <list>', 'comma-separated connection counts, each 1 to 20000', parseCounts, [1, 10, 100, 1000, 10_000])
    .addOption(new Option('-t, --transport <kind>', 'transport').choices(['sctp', 'tcp']).default('sctp'))
    .option('--seconds <n>', 'streaming time per n, above 0 and at most 600', numbers.positiveNumber(600), 5)
    .option('--core-only', 'skip the real-UDP part (memory per connection and set-ups per second of the core only)')
    .option('--json', 'print the rows as JSON instead of the table')
    .action(async (flags: ConnectionsFlags) => {
      const rows = await runConnections({ transport: flags.transport, ns: flags.n, seconds: flags.seconds, ...(flags.coreOnly ? { coreOnly: true } : {}) });
      process.stdout.write(flags.json ? `${JSON.stringify(rows)}\n` : `${formatConnections(flags.transport, rows)}\n`);
    });
}

function parseCounts(text: string): number[] {
  return text.split(',').map((part) => numbers.wholeNumber(1, 20_000)(part.trim()));
}

