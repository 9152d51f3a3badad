// `baton keygen [-o FILE]`: a new 32-byte group key as 64 hex characters and a newline (mode 0600).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Command, type CommanderError } from 'commander';

export function keygenCommand(): Command {
  return new Command('keygen')
    .summary('write a new group key (64 hex characters) for baton serve and baton monitor')
    .option('-o, --output <FILE>', 'write it to FILE (mode 0600) instead of standard output')
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action((options: { output?: string }) => {
      const line = `${randomBytes(32).toString('hex')}\n`;
      if (options.output === undefined) {
        process.stdout.write(line);
        return;
      }
      try {
        writeFileSync(options.output, line, { mode: 0o600 });
      } catch (error) {
        process.stderr.write(`baton keygen: cannot write ${options.output}: ${(error as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
