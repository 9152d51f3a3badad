// The real-process chaos run (issue 15), `baton bench chaos`: 5 wedges (`baton serve`) on
// 127.0.0.2-6 behind one nginx on 127.0.0.1, `baton connect` as the clients' shim, N concurrent
// curl downloads, and one wedge SIGKILLed every few seconds for the run's length and restarted
// (same id, address and ports, empty state) once the group declared it dead. Every file's SHA-256
// must match its object. nginx paces each response (limit_rate) so that every download spans the
// whole run, hence several kills: a rate limit at curl would not do, the loopback socket buffers
// between curl, the shim and the wedge hold megabytes, so a wedge would be done long before.
//
// Counted: kills, restarts, takeovers (the `takeover-won` events in the wedges' JSON logs, killed
// instances included), failovers the shim reported to its clients, and files whose hash matched
// (ok), did not (bad), or that curl could not finish (failed).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TransportKind } from '../src/transport-abstraction/transport.js';
import { startNginx } from './nginx.js';
import { freeUdpPort, usableLoopbackAddresses } from './ports.js';
import { spawnProcess, type ManagedProcess } from './process.js';
import { batonScript } from './wedge-pool.js';

export interface ChaosOptions {
  readonly transport: TransportKind;
  /** Concurrent downloads (default 50). */
  readonly clients?: number;
  /** How long wedges are killed, seconds (default 60); the downloads are sized to span it. */
  readonly seconds?: number;
  /** Seconds between kills (default 5). */
  readonly everySec?: number;
  /** Bytes per second of each download (nginx's limit_rate; default 50,000). */
  readonly rate?: number;
  /**
   * Seconds from a kill to the victim's restart (default 4: after the group declared it dead,
   * 3 silent announcement periods of 1 s, so that its connections were taken over).
   */
  readonly restartSec?: number;
  readonly progress?: (line: string) => void;
}

export interface ChaosDownload {
  readonly n: number;
  readonly path: string;
  readonly outcome: 'ok' | 'bad' | 'failed';
  readonly detail: string;
}

export interface ChaosResult {
  readonly transport: TransportKind;
  readonly clients: number;
  readonly seconds: number;
  readonly kills: number;
  readonly restarts: number;
  /** takeover-won events over every wedge instance. */
  readonly takeovers: number;
  /** "taken over by" lines of the shim (one per failover a client connection lived through). */
  readonly failovers: number;
  /** Takeover requests the clients refused (the losers of a takeover race: a number already used). */
  readonly refused: number;
  /** The shim's lines about connections it had to reset (why a download failed). */
  readonly shimErrors: readonly string[];
  readonly downloads: readonly ChaosDownload[];
  readonly wallSeconds: number;
}

/** The wedges' addresses (the issue's 127.0.0.2-6); nginx and the shim use 127.0.0.1. */
const WEDGE_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
const OBJECTS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const kind = options.transport;
  const clients = options.clients ?? 50;
  const seconds = options.seconds ?? 60;
  const everyMs = (options.everySec ?? 5) * 1000;
  const rate = options.rate ?? 50_000;
  const restartMs = (options.restartSec ?? 4) * 1000;
  const say = options.progress ?? (() => {});
  const cleanups: Array<() => void | Promise<void>> = [];
  const home = mkdtempSync(join(tmpdir(), 'baton-chaos-'));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  try {
    const usable = await usableLoopbackAddresses(2, 6);
    if (usable.length < WEDGE_ADDRESSES.length) throw new Error(`needs 127.0.0.2-6 on this host, only ${usable.join(', ') || 'none'} can be bound`);
    const script = batonScript();
    // Each object takes a download at `rate` between 0.6 and 1.0 of the run: all span several kills.
    const objects = new Map<string, Uint8Array>();
    for (let i = 0; i < OBJECTS; i++) objects.set(`/o${i}.bin`, randomBytes(Math.round(rate * seconds * (0.6 + (0.4 * i) / (OBJECTS - 1)))));
    const nginx = await startNginx({ teardown: (fn) => void cleanups.push(fn) }, { address: '127.0.0.1', serverConfig: `limit_rate ${rate};`, files: Object.fromEntries([...objects].map(([p, b]) => [p.slice(1), b])) });
    const keyFile = join(home, 'group.key');
    writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const peersFile = join(home, 'peers');
    writeFileSync(peersFile, WEDGE_ADDRESSES.map((a, i) => `w${i + 1}@${a}\n`).join(''));
    const udpPort = await freeUdpPort(WEDGE_ADDRESSES[0]);
    const softStatePort = await freeUdpPort(WEDGE_ADDRESSES[0]);
    const lifeMs = (seconds * 3 + 600) * 1000;
    const wedges = new Map<number, ManagedProcess>();
    let takeovers = 0;
    const start = async (i: number): Promise<void> => {
      const id = `w${i + 1}`;
      const p = spawnProcess(process.execPath, [script, 'serve', '--transport', kind, '--listen', `${WEDGE_ADDRESSES[i]}:${udpPort}`, '--backend', nginx.url, '--id', id, '--peers', peersFile, '--soft-state-port', String(softStatePort), '--group-key', keyFile, '--rto-min', '100', '--update-sec', '1', '--dead-after', '3', '--cache-timeout', '6', '--log', 'json'], { timeoutMs: lifeMs, stderr: 'pipe', keepBytes: 64 << 10, name: `serve ${id}` });
      cleanups.push(() => p.killNow('SIGKILL'));
      createInterface({ input: p.child.stderr! }).on('line', (line) => {
        if (line.includes('"event":"takeover-won"')) takeovers++;
      });
      wedges.set(i, p);
      await p.waitForLine(/"event":\s*"listening"/, 30_000, 'stderr');
    };
    await Promise.all(WEDGE_ADDRESSES.map((_, i) => start(i)));
    const shim = spawnProcess(process.execPath, [script, 'connect', '-t', kind, '--listen', '127.0.0.1:0', '--rto-min', '100', '--servers', WEDGE_ADDRESSES.map((a) => `${a}:${udpPort}`).join(',')], { timeoutMs: lifeMs, stderr: 'pipe', name: 'connect' });
    cleanups.push(() => shim.killNow('SIGKILL'));
    const [, port] = await shim.waitForLine(/listening on 127\.0\.0\.1:(\d+)/, 30_000, 'stderr');
    say(`${kind}: 5 wedges on 127.0.0.2-6, nginx on ${nginx.url}, shim on 127.0.0.1:${port}, ${clients} downloads at ${rate} B/s, a SIGKILL every ${everyMs / 1000} s for ${seconds} s`);

    const started = Date.now();
    const paths = [...objects.keys()];
    const downloads = Array.from({ length: clients }, async (_, n): Promise<ChaosDownload> => {
      const path = paths[n % paths.length]!;
      const out = join(home, `d${n}`);
      const curl = spawnProcess('curl', ['-sS', '--fail', '--max-time', String(seconds * 3 + 300), '-o', out, `http://127.0.0.1:${port}${path}`], { timeoutMs: (seconds * 3 + 320) * 1000, stderr: 'pipe', name: `curl ${n}` });
      cleanups.push(() => curl.killNow('SIGKILL'));
      const status = await curl.waitForExit((seconds * 3 + 320) * 1000).catch((error: unknown) => ({ code: null, signal: String((error as Error).message) }));
      if (status.code !== 0) return { n, path, outcome: 'failed', detail: `curl exit ${status.code ?? status.signal} after ${((Date.now() - started) / 1000).toFixed(1)} s: ${curl.stderr.trim()}` };
      const got = readFileSync(out);
      rmSync(out, { force: true });
      const want = objects.get(path)!;
      if (sha(got) === sha(want)) return { n, path, outcome: 'ok', detail: '' };
      return { n, path, outcome: 'bad', detail: `sha256 differs: ${got.length} bytes, want ${want.length}${firstDifference(got, want)}` };
    });

    // A kill at every multiple of `everyMs` up to `seconds`, each victim restarted `restartMs` after its kill (in the background,
    // so kills keep their pace); the next victim is the next wedge in turn.
    let kills = 0;
    let restarts = 0;
    const restarting: Promise<void>[] = [];
    for (let at = everyMs; at <= seconds * 1000; at += everyMs) {
      await sleep(started + at - Date.now());
      const i = kills % WEDGE_ADDRESSES.length;
      const victim = wedges.get(i)!;
      victim.killNow('SIGKILL');
      await victim.waitForExit(10_000);
      kills++;
      say(`t=${((Date.now() - started) / 1000).toFixed(1)} s: SIGKILL w${i + 1} (kill ${kills})`);
      restarting.push(
        sleep(restartMs).then(async () => {
          await start(i);
          restarts++;
          say(`t=${((Date.now() - started) / 1000).toFixed(1)} s: w${i + 1} restarted`);
        }),
      );
    }
    await Promise.all(restarting);
    const results = await Promise.all(downloads);
    const failovers = shim.stderr.split('\n').filter((line) => /taken over by/.test(line)).length;
    const shimLines = shim.stderr.split('\n');
    const refused = shimLines.filter((line) => /refused a takeover/.test(line)).length;
    const shimErrors = shimLines.filter((line) => /resetting the client/.test(line));
    return { transport: kind, clients, seconds, kills, restarts, takeovers, failovers, refused, shimErrors, downloads: results, wallSeconds: (Date.now() - started) / 1000 };
  } finally {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // already gone
      }
    }
  }
}

function firstDifference(got: Uint8Array, want: Uint8Array): string {
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) if (got[i] !== want[i]) return `, first difference at byte ${i}`;
  return got.length === want.length ? '' : `, equal up to byte ${n}`;
}

/** Every download that was not ok, then the counts; the last line reads `hashes ok K, bad B, failed F`. */
export function formatChaos(r: ChaosResult): string {
  const count = (o: ChaosDownload['outcome']) => r.downloads.filter((d) => d.outcome === o).length;
  return [
    ...r.downloads.filter((d) => d.outcome !== 'ok').map((d) => `download ${d.n} ${d.path}: ${d.outcome}: ${d.detail}`),
    ...r.shimErrors.map((line) => `shim: ${line}`),
    `${r.transport}, ${r.clients} clients, ${r.wallSeconds.toFixed(0)} s: kills ${r.kills}, restarts ${r.restarts}, takeovers ${r.takeovers}, failovers seen by the clients ${r.failovers}, takeover requests refused (lost races) ${r.refused}`,
    `hashes ok ${count('ok')}, bad ${count('bad')}, failed ${count('failed')}`,
  ].join('\n');
}

/** True when every download's hash matched. */
export function chaosPassed(r: ChaosResult): boolean {
  return r.downloads.every((d) => d.outcome === 'ok');
}
