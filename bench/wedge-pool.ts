// A pool of `baton serve` wedges as real processes on loopback, for `baton demo` and the real-process
// experiments (fig7, kill-to-resume): a group key and a peers file in a directory the caller owns,
// one UDP port and one soft-state port free on every member's address, each wedge started with
// `--log json` and its standard error read line by line into its events (also copied to
// DIR/ID.log). Starting is synchronous once the ports are chosen, so a caller that must clean up
// (Ctrl-C while the wedges start) always holds every process it has to stop.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { createWriteStream, existsSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TransportKind } from '../src/transport-abstraction/transport.js';
import { freeUdpPort } from './ports.js';
import { spawnProcess, type ManagedProcess } from './process.js';

export interface PoolMember {
  readonly id: string;
  readonly address: string;
}

/** The demo's pool: three wedges on 127.0.0.2-4. */
export const THREE_MEMBERS: readonly PoolMember[] = [
  { id: 'w2', address: '127.0.0.2' },
  { id: 'w3', address: '127.0.0.3' },
  { id: 'w4', address: '127.0.0.4' },
];

/** The heartbeat monitor's settings: announcement period, silent periods before dead, state expiry. */
export interface Heartbeat {
  readonly updateSec: number;
  readonly deadAfter: number;
  readonly cacheTimeout: number;
}

export interface WedgePoolOptions {
  readonly kind: TransportKind;
  /** http://HOST:PORT of the content server. */
  readonly backend: string;
  /** Where the key, the peers file and the wedges' logs go (the caller creates and removes it). */
  readonly dir: string;
  readonly members?: readonly PoolMember[];
  readonly heartbeat?: Heartbeat;
  /** The baton CLI script run with node (default: this tree's bin/baton.js, see batonScript). */
  readonly script?: string;
  /** Lower bound of the retransmission timeout, ms (default 100: loopback). */
  readonly rtoMin?: number;
  /** The wedges' path MTU (--mtu; default the daemon's own, 1500). */
  readonly mtu?: number;
  readonly startTimeoutMs?: number;
  /** Options for node before the script (e.g. --cpu-prof --cpu-prof-dir=DIR to profile the wedges). */
  readonly nodeArgs?: readonly string[];
}

/** One wedge process and the JSON events it logged, in order. */
export interface WedgeProcess {
  readonly id: string;
  readonly address: string;
  readonly process: ManagedProcess;
  readonly events: Array<Record<string, unknown>>;
  /** Resolves when it logged "listening"; rejects if it exits first or takes longer than the start timeout. */
  readonly listening: Promise<void>;
}

export interface WedgePool {
  readonly kind: TransportKind;
  readonly udpPort: number;
  readonly softStatePort: number;
  readonly keyFile: string;
  readonly peersFile: string;
  readonly wedges: readonly WedgeProcess[];
  /** Resolves when every wedge listens. */
  listening(): Promise<void>;
  /** The wedge serving a connection now: the last to win a takeover, else the first that accepted. */
  serving(): WedgeProcess | undefined;
  /** The takeover-won events of every wedge, as (wedge id, event). */
  takeoversWon(): Array<{ id: string; event: Record<string, unknown> }>;
  /** SIGTERM every wedge (SIGKILL after 2 s); safe to call twice. */
  stop(): Promise<void>;
}

/** Announcements every second, dead after three silent periods, state kept six seconds. */
export const DEMO_HEARTBEAT: Heartbeat = { updateSec: 1, deadAfter: 3, cacheTimeout: 6 };
const START_TIMEOUT_MS = 20_000;

/**
 * This tree's CLI entry, bin/baton.js (it runs the compiled dist/): found from this file both as
 * source (bench/) and compiled (dist/bench/). Throws when it is missing or not built.
 */
export function batonScript(): string {
  for (const up of ['../bin/baton.js', '../../bin/baton.js']) {
    const path = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(path) && existsSync(join(path, '../../dist/src/cli/main.js'))) return path;
  }
  throw new Error('bin/baton.js with a built dist/ was not found next to bench/: run `npm run build` first');
}

function portFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind({ address, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A UDP port free on every member's address (they all use the same ports). */
async function commonFreePort(addresses: readonly string[], avoid: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freeUdpPort(addresses[0]);
    if (avoid.includes(port)) continue;
    const free = await Promise.all(addresses.slice(1).map((a) => portFree(a, port)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no UDP port free on ${addresses.join(', ')}`);
}

/** Writes the key and peers file, picks the ports, and starts every member (not yet listening). */
export async function startWedgePool(options: WedgePoolOptions): Promise<WedgePool> {
  const members = options.members ?? THREE_MEMBERS;
  const heartbeat = options.heartbeat ?? DEMO_HEARTBEAT;
  const keyFile = join(options.dir, 'group.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const peersFile = join(options.dir, 'peers');
  writeFileSync(peersFile, `# ID@ADDR, one member a line\n${members.map((w) => `${w.id}@${w.address}`).join('\n')}\n`);
  const addresses = members.map((m) => m.address);
  const udpPort = await commonFreePort(addresses);
  const softStatePort = await commonFreePort(addresses, [udpPort]);
  const script = options.script ?? batonScript();
  const wedges = members.map((w) => {
    const args = [
      ...(options.nodeArgs ?? []),
      script,
      'serve',
      '--transport', options.kind,
      '--listen', `${w.address}:${udpPort}`,
      '--backend', options.backend,
      '--id', w.id,
      '--peers', peersFile,
      '--soft-state-port', String(softStatePort),
      '--group-key', keyFile,
      '--update-sec', String(heartbeat.updateSec),
      '--dead-after', String(heartbeat.deadAfter),
      '--cache-timeout', String(heartbeat.cacheTimeout),
      '--rto-min', String(options.rtoMin ?? 100),
      ...(options.mtu !== undefined ? ['--mtu', String(options.mtu)] : []),
      '--log', 'json',
    ];
    return startWedge(w, args, join(options.dir, `${w.id}.log`), options.startTimeoutMs ?? START_TIMEOUT_MS);
  });
  let stopping: Promise<void> | undefined;
  const takeoversWon = () => wedges.flatMap((w) => w.events.filter((e) => e['event'] === 'takeover-won').map((event) => ({ id: w.id, event })));
  return {
    kind: options.kind,
    udpPort,
    softStatePort,
    keyFile,
    peersFile,
    wedges,
    listening: () => Promise.all(wedges.map((w) => w.listening)).then(() => undefined),
    serving() {
      let best: { id: string; n: number } | undefined;
      for (const { id, event } of takeoversWon()) {
        const n = Number(event['number']);
        if (best === undefined || n > best.n) best = { id, n };
      }
      return best !== undefined ? wedges.find((w) => w.id === best.id) : wedges.find((w) => w.events.some((e) => e['event'] === 'accepted'));
    },
    takeoversWon,
    stop: () => (stopping ??= Promise.all(wedges.map((w) => w.process.kill('SIGTERM', 2000))).then(() => undefined)),
  };
}

function startWedge(member: PoolMember, args: string[], logFile: string, startTimeoutMs: number): WedgeProcess {
  const { id, address } = member;
  const child = spawnProcess(process.execPath, args, { name: `baton serve ${id}`, timeoutMs: 30 * 60_000, stderr: 'pipe' });
  const events: Array<Record<string, unknown>> = [];
  const log = createWriteStream(logFile);
  const lines = createInterface({ input: child.child.stderr! });
  let onListening: (() => void) | undefined;
  lines.on('line', (line) => {
    log.write(`${line}\n`);
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e !== null && typeof e === 'object') {
        events.push(e);
        if (e['event'] === 'listening') onListening?.();
      }
    } catch {
      // not a JSON event line: kept in the log only
    }
  });
  lines.on('close', () => log.end());
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${id} (baton serve on ${address}) did not log "listening" within ${startTimeoutMs} ms\n${child.describe(600)}`)), startTimeoutMs);
    onListening = () => {
      clearTimeout(timer);
      resolve();
    };
    void child.exited.then((status) => {
      clearTimeout(timer);
      reject(new Error(`${id} (baton serve on ${address}) exited (${status.signal ?? `code ${status.code}`}) before it listened: ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
  listening.catch(() => {});
  return { id, address, process: child, events, listening };
}
