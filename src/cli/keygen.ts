// `baton keygen [-o FILE [--force]]`: a new 32-byte group key as 64 hex characters and a newline
// (mode 0600). An existing FILE is kept unless --force: overwriting a pool's key by accident cuts
// the member off its group (its announcements no longer open), which is worse than a refusal.
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { Command, type CommanderError } from 'commander';

export function keygenCommand(): Command {
  return new Command('keygen')
    .summary('write a new group key (64 hex characters) for baton serve and baton monitor')
    .option('-o, --output <FILE>', 'write it to FILE (mode 0600) instead of standard output; an existing FILE is refused')
    .option('--force', 'with -o, replace FILE if it exists')
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action((options: { output?: string; force?: boolean }) => {
      const line = `${randomBytes(32).toString('hex')}\n`;
      if (options.output === undefined) {
        process.stdout.write(line);
        return;
      }
      try {
        // 'wx' fails with EEXIST instead of replacing; with --force the file is replaced and its
        // mode set again (writeFileSync's mode applies only to a new file).
        writeFileSync(options.output, line, { mode: 0o600, flag: options.force === true ? 'w' : 'wx' });
        if (options.force === true) chmodSync(options.output, 0o600);
      } catch (error) {
        const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
        process.stderr.write(`baton keygen: cannot write ${options.output}: ${exists ? 'it exists already (a group key?); --force replaces it' : (error as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
