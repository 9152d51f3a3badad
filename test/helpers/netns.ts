// Network namespaces for tests that need a real network between processes (a NAT, several IPv6
// addresses): named namespaces (`ip netns`) with unique names, created by the test and deleted in
// its teardown, even when it fails. Processes run in one with `ip netns exec NAME ...`
// (spawnProcess, killed by their own teardown). Needs root and iproute2 (CI runs as root;
// .ci/install-deps installs iproute2 and nftables).
import type { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { runToExit, spawnProcess, type ManagedProcess, type SpawnOptions } from './process.js';

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsMissing(tools: readonly string[] = []): string | undefined {
  if (process.getuid?.() !== 0) return 'network-namespace tests need root (CI runs as root)';
  for (const tool of ['/usr/sbin/ip', ...tools]) {
    if (!existsSync(tool)) return `${tool} is not installed: run .ci/install-deps`;
  }
  return undefined;
}

/**
 * The system's tools first: under npm the PATH starts with node_modules/.bin, where `nft` is
 * @vercel/nft, not nftables.
 */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Run a shell script as root; rejects with its output when it fails. */
export async function sh(script: string, timeoutMs = 30_000): Promise<string> {
  const r = await runToExit('/bin/sh', ['-ec', script], { timeoutMs, stdout: 'pipe', stderr: 'pipe', env: { PATH: SYSTEM_PATH } });
  if (r.status.code !== 0) throw new Error(`shell failed (${r.status.code ?? r.status.signal}):\n${script}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  return r.stdout;
}

/** A set of named namespaces, deleted in the test's teardown. */
export class Namespaces {
  /** A short unique prefix (interface and namespace names stay under 15 characters). */
  readonly prefix = `bt${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  private readonly made: string[] = [];

  constructor(t: ExecutionContext) {
    t.teardown(async () => {
      for (const ns of this.made.reverse()) await sh(`/usr/sbin/ip netns del ${ns} 2>/dev/null || true`).catch(() => undefined);
    });
  }

  /** Create namespace `prefix-suffix` with lo up; returns its name. */
  async add(suffix: string): Promise<string> {
    const name = `${this.prefix}-${suffix}`;
    this.made.push(name);
    await sh(`/usr/sbin/ip netns add ${name}\n/usr/sbin/ip -n ${name} link set lo up`);
    return name;
  }

  /** Spawn `command args` inside namespace `ns` (killed at the test's end). */
  spawn(ns: string, command: string, args: readonly string[], options: SpawnOptions): ManagedProcess {
    return spawnProcess('/usr/sbin/ip', ['netns', 'exec', ns, command, ...args], options);
  }
}
