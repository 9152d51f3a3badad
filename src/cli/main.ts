// The `baton` command line (commander). Each subcommand lives in its own file beside this one.
//
// Exit status 2 for every usage error, in one place: commander's own (unknown option or command,
// missing value, bad choice, a numeric option its argParser refused — see numbers.ts) through
// usageExits() on every command, and a LocalUsageError thrown by an action. The statuses are
// listed once, in EXIT_STATUSES (shown by `baton --help` and the README).
import { Command, CommanderError, InvalidArgumentError } from 'commander';
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
    .version('0.1.0')
    .addHelpText('after', `\nExit status (every command):\n${EXIT_STATUSES.map(([code, meaning]) => `  ${String(code).padEnd(3)} ${meaning}`).join('\n')}`);
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

/** Exit statuses of every command: 0 done, 1 failed at run time, 2 usage, 70 a bug of baton. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;
export const EXIT_STATUSES: ReadonlyArray<readonly [number, string]> = [
  [EXIT_OK, 'done (a download whole, a campaign without findings)'],
  [EXIT_FAILURE, 'failed at run time: an address that cannot be bound (in use, not on this host), a peer that refused, aborted or went silent, a file that cannot be written, a campaign (torture, chaos, fuzz, experiment) that found a fault'],
  [EXIT_USAGE, 'the command line or a file it names is wrong: unknown, missing or malformed option or argument, a missing or unreadable file, a key, peers or state file that is empty, truncated, malformed or for the other transport; nothing was bound or sent'],
  [EXIT_INTERNAL, "a bug of baton's own (the command line could not be built); please report it"],
];

/**
 * Make `command` and all its subcommands (addCommand() does not pass exitOverride on) throw
 * commander's error instead of exiting with 1, so that main() exits 2. Call it last, after every
 * subcommand was added.
 */
export function usageExits(command: Command): Command {
  command.exitOverride();
  if (command.commands.length > 0) needsCommand(command);
  for (const sub of command.commands) usageExits(sub);
  return command;
}

/**
 * A command group (baton, bench, experiment, monitor) run without one of its commands, or with
 * an unknown one: one line and exit 2 (commander would print the whole help to stderr). `help`
 * and the commands themselves are dispatched before this action is reached.
 */
function needsCommand(group: Command): void {
  const path: string[] = [];
  for (let c: Command | null = group; c !== null; c = c.parent) path.unshift(c.name());
  const name = path.join(' ');
  // An action turns off the implicit `help` command: keep it.
  group.helpCommand(true).allowExcessArguments(true).action((_flags: unknown, self: Command) => {
    const names = group.commands.map((c) => c.name()).join(', ');
    const given = self.args[0];
    throw new LocalUsageError(given === undefined ? `${name} needs a command: ${names} (\`${name} --help\` explains them)` : `unknown command '${given}' for ${name}; its commands: ${names}`);
  });
}

/** The exit status for an error that ended the command line's parsing or action; undefined: not ours. */
export function usageStatus(error: unknown): number | undefined {
  // An argParser's refusal that did not come through commander's parsing (which prints it and
  // throws a plain CommanderError): nobody printed it yet.
  if (error instanceof InvalidArgumentError || error instanceof LocalUsageError) {
    process.stderr.write(`baton: ${error.message}\n`);
    return EXIT_USAGE;
  }
  // Help and version are commander "errors" with status 0 (they were printed already).
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  return undefined;
}

/** Runs the command line; `build` makes the command tree (a test gives one that fails). */
export async function main(argv: string[], build: () => Command = program): Promise<void> {
  let cli: Command;
  try {
    cli = build();
  } catch (error) {
    // Not the operator's mistake: nothing of the line was read yet.
    process.stderr.write(`baton: internal error: the command line could not be built: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = EXIT_INTERNAL;
    return;
  }
  try {
    await cli.parseAsync(argv);
  } catch (error) {
    const status = usageStatus(error);
    if (status === undefined) throw error;
    process.exitCode = status;
  }
}
