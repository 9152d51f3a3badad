// Runs `baton experiment ...` in-process with its progress and table silenced (the tests read the
// files it writes).
import { program } from '../../src/cli/main.js';

export async function runExperimentQuietly(args: readonly string[]): Promise<void> {
  const stderr = process.stderr.write;
  const stdout = process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    await program().parseAsync(['node', 'baton', 'experiment', ...args]);
  } finally {
    process.stderr.write = stderr;
    process.stdout.write = stdout;
  }
}
