// `baton bench chaos`: the real-process chaos run (bench/chaos.ts) on the command line.
import { Command, Option } from 'commander';
import { chaosPassed, formatChaos, runChaos } from '../../bench/chaos.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import * as numbers from './numbers.js';

interface ChaosFlags {
  transport: TransportKind;
  clients: number;
  seconds: number;
  every: number;
  rate: number;
  restartAfter: number;
}

export function chaosCommand(): Command {
  return new Command('chaos')
    .summary('5 real wedges, nginx, curl through `baton connect`; one wedge SIGKILLed every few seconds; every hash checked')
    .description(
      'Starts 5 `baton serve` wedges on 127.0.0.2-6 in front of nginx (127.0.0.1), `baton connect` as the shim, and --clients concurrent curl downloads through it. Every --every seconds for --seconds one wedge (in turn) is SIGKILLed and, --restart-after seconds later, restarted with empty state; nginx paces each response (limit_rate --rate) so that each download spans the run. Prints the kills and restarts as they happen (stderr), then every download that failed, the counts of kills, restarts, takeovers (the wedges\' takeover-won events) and failovers the clients saw, and last `hashes ok K, bad B, failed F`. Exit status 1 unless every file\'s SHA-256 matches its object.',
    )
    .addOption(new Option('-t, --transport <kind>', 'transport').choices(['sctp', 'tcp']).default('sctp'))
    .option('--clients <n>', 'concurrent downloads, 1 to 500', numbers.wholeNumber(1, 500), 50)
    .option('--seconds <n>', 'how long wedges are killed, 1 to 3600', numbers.wholeNumber(1, 3600), 60)
    .option('--every <n>', 'seconds between kills, 1 to 600', numbers.wholeNumber(1, 600), 5)
    .option('--rate <bytes>', "bytes per second of each download (nginx's limit_rate), 1000 to 100000000", numbers.wholeNumber(1000, 100_000_000), 50_000)
    .option('--restart-after <n>', 'seconds from a kill to the restart, 1 to 600 (default 4: after the group declared the victim dead)', numbers.wholeNumber(1, 600), 4)
    .action(async (flags: ChaosFlags) => {
      const result = await runChaos({ transport: flags.transport, clients: flags.clients, seconds: flags.seconds, everySec: flags.every, rate: flags.rate, restartSec: flags.restartAfter, progress: (line) => process.stderr.write(`chaos: ${line}\n`) });
      process.stdout.write(`${formatChaos(result)}\n`);
      process.exitCode = chaosPassed(result) ? 0 : 1;
    });
}
