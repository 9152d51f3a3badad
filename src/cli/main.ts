// The `baton` command line (commander). Each subcommand lives in its own file beside this one.
import { Command } from 'commander';
import { benchCommand } from './bench.js';
import { catCommand } from './cat.js';
import { connectCommand } from './connect.js';
import { demoCommand } from './demo.js';
import { experimentCommand } from './experiment.js';
import { keygenCommand } from './keygen.js';
import { monitorCommand } from './monitor.js';
import { serveCommand } from './serve.js';
import { fetchCommand } from './fetch.js';

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
  return cli;
}

export async function main(argv: string[]): Promise<void> {
  await program().parseAsync(argv);
}
