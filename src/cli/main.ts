// The `baton` command line (commander). Each subcommand lives in its own file beside this one.
//
// Exit status 2 for every usage error, in one place: commander's own (unknown option or command,
// missing value, bad choice, a numeric option its argParser refused — see numbers.ts) through
// usageExits() on every command, and a LocalUsageError thrown by an action.
import { Command, CommanderError } from 'commander';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import { benchCommand } from './bench.js';
import { catCommand } from './cat.js';
import { connectCommand } from './connect.js';
import { demoCommand } from './demo.js';
import { experimentCommand } from './experiment.js';
import { keygenCommand } from './keygen.js';
import { monitorCommand } from './monitor.js';
import { serveCommand } from './serve.js';
import { fetchCommand } from './fetch.js';
import { tortureCommand } from './torture.js';
import { fuzzCommand } from './fuzz.js';
import { callCommand } from './call.js';

export function program(): Command {
  const cli = new Command('baton')
    .description(
      "Mid-stream failover for long-running connections: a server of the support group takes over the client's transport connection (SCTP or TCP-Migrate, carried in UDP) and resumes the stream at the exact byte the client is missing. Start with `baton demo`; `baton COMMAND --help` explains each command.",
    )
    .version('0.1.0');
  cli.addCommand(demoCommand());
  cli.addCommand(catCommand());
  cli.addCommand(benchCommand());
  cli.addCommand(connectCommand());
  cli.addCommand(experimentCommand());
  cli.addCommand(serveCommand());
  cli.addCommand(monitorCommand());
  cli.addCommand(keygenCommand());
  cli.addCommand(fetchCommand());
  cli.addCommand(tortureCommand());
  cli.addCommand(fuzzCommand());
  cli.addCommand(callCommand());
  return usageExits(cli);
}

/**
 * Make `command` and all its subcommands (addCommand() does not pass exitOverride on) throw
 * commander's error instead of exiting with 1, so that main() exits 2. Call it last, after every
 * subcommand was added.
 */
export function usageExits(command: Command): Command {
  command.exitOverride();
  for (const sub of command.commands) usageExits(sub);
  return command;
}

/** The exit status for an error that ended the command line's parsing or action; undefined: not ours. */
export function usageStatus(error: unknown): number | undefined {
  // Help and version are commander "errors" with status 0 (they were printed already).
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  if (error instanceof LocalUsageError) {
    process.stderr.write(`baton: ${error.message}\n`);
    return 2;
  }
  return undefined;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (error) {
    const status = usageStatus(error);
    if (status === undefined) throw error;
    process.exitCode = status;
  }
}
