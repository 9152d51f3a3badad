// Running a bench script as a child process: under tsx when we run from TypeScript sources, plain
// node when compiled (dist/bench/*.js). Children bind 127.0.0.x only.
// Not a benchmark and nothing to run: helpers (project root, child arguments, flag parsing, MB/s)
// shared by throughput.ts, udp-ceiling.ts, usrsctp-tsctp.ts and baton-peer.ts.
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

/** The project root (where package.json and node_modules are), from sources or from dist/. */
export const PROJECT_ROOT = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  // sources: <root>/bench ; compiled: <root>/dist/bench
  return here.endsWith(`${'dist'}/bench`) ? resolve(here, '..', '..') : resolve(here, '..');
})();

/** `node` arguments that run the bench module `name` (e.g. 'udp-ceiling') as a script. */
export function benchScript(name: string): string[] {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) return ['--import=tsx', resolve(dirname(self), `${name}.ts`)];
  return [resolve(dirname(self), `${name}.js`)];
}

/** True when the module at `metaUrl` is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  const argv1 = process.argv[1];
  return argv1 !== undefined && resolve(argv1) === fileURLToPath(metaUrl);
}

/** Parse "--name value" pairs (and bare "--flag") into a map. */
export function parseFlags(argv: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) flags.set(a.slice(2), 'true');
    else {
      flags.set(a.slice(2), next);
      i++;
    }
  }
  return flags;
}

/** 10^6 bytes per second: the unit every bench figure uses (tsctp prints bytes/s). */
export function mbps(bytes: number, seconds: number): number {
  return seconds > 0 ? bytes / seconds / 1e6 : 0;
}
