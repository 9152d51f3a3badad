// Figure 7 of the paper (section 5.2, "Overhead"): what the wedge adds to a request, against
// request size, on loopback with real processes.
//
// Debian's nginx (bench/nginx.ts: its own configuration, a free port of 127.0.0.5, stopped after)
// serves generated objects of each size. Per transport, one `baton serve` wedge (bench/wedge-pool.ts,
// the heartbeat monitor on, alone in its pool) has that nginx as its backend, on 127.0.0.2 (sctp) or
// 127.0.0.3 (tcp); with --connect yes a `baton connect` shim per transport is started too. Each
// measurement is one GET on a new connection, timed in this process from the call to the body's
// last byte (performance.now), the same way on every path:
// - direct: node:http with no agent (a new TCP connection, `Connection: close`) straight to nginx;
// - fetch-KIND: batonFetch (src/client/fetch.ts) in this process through the wedge (a new baton
//   connection, `Connection: close`);
// - connect-KIND: node:http with no agent to `baton connect`, which bridges to the wedge.
// The body is kept as chunks and checked against the object's sha256 after the clock stopped.
// Every path opens its client connection anew (non-persistent everywhere on the client's side);
// the wedge keeps its connections to nginx alive between requests, as a reverse proxy does
// (src/node/tcp-backend.ts's pool). For batonFetch the time to the head is also split as it saw it
// (FetchTiming: socket, handshake, request to head).
//
// Rounds: one warm-up round of every (size, path) first, not recorded (JIT, the wedges' first
// connection to nginx, page cache); then --rounds rounds in which every size runs every path once,
// the sizes and the paths in orders rotated each round so that none always follows another (a
// small request right after an 8 MB one pays for that one's aftermath), with a pause after each
// measurement of half its time (at least 20 ms). A path's added
// time in a round is its time minus direct's time for that size in the same round; the table
// gives min / median / max over the rounds, and the median added percentage.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { batonFetch, type FetchTiming } from '../../src/client/fetch.js';
import { generatedBytes } from '../../src/node/content-server.js';
import { LocalUsageError } from '../../src/transport-abstraction/errors.js';
import type { TransportKind } from '../../src/transport-abstraction/transport.js';
import { NGINX, nginxInstalled, startNginx, type Nginx } from '../nginx.js';
import { spawnProcess, type ManagedProcess } from '../process.js';
import { batonScript, startWedgePool, type WedgePool } from '../wedge-pool.js';
import { integerOption, type Experiment, type ExperimentContext } from './experiment.js';
import type { ExperimentOutput } from './report.js';

export const DEFAULT_SIZES = '1K,4K,16K,64K,256K,1M,8M';
const NGINX_ADDRESS = '127.0.0.5';
const WEDGE_ADDRESS: Record<TransportKind, string> = { sctp: '127.0.0.2', tcp: '127.0.0.3' };
/**
 * A pause after each measurement so the previous connection's close (and the garbage its transfer
 * left) does not fall into the next: at least SETTLE_MS, and half the measurement's own time.
 */
const SETTLE_MS = 20;
/** The paper's Figure 7 at its two ends: added ms and percent. */
const PAPER = { '1K': { ms: 1, pct: 80 }, '8M': { ms: 12, pct: 1 } } as Record<string, { ms: number; pct: number }>;

/** "1K" → 1024, "8M" → 8388608, "300" → 300. */
export function parseSize(text: string): number {
  const m = /^(\d+)([KM]?)$/i.exec(text.trim());
  if (!m) throw new LocalUsageError(`a size is a whole number with an optional K or M, not "${text}"`);
  const n = Number(m[1]) * (m[2]!.toUpperCase() === 'M' ? 1 << 20 : m[2]!.toUpperCase() === 'K' ? 1 << 10 : 1);
  if (n < 1 || n > 1 << 30) throw new LocalUsageError(`a size is from 1 byte to 1G, not "${text}"`);
  return n;
}

/** One timed GET: total ms from the call to the body's last byte, head ms to the response head. */
interface Timing {
  readonly totalMs: number;
  readonly headMs: number;
  readonly body: Buffer;
  /** batonFetch's own account of the time to the head (FetchTiming): socket, handshake, request to head. */
  readonly phases?: FetchTiming;
}

/** A GET on a new TCP connection (no agent, Connection: close). */
function httpGet(host: string, port: number, path: string): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const request = http.get({ host, port, path, agent: false, headers: { Connection: 'close' } }, (response) => {
      const headMs = performance.now() - start;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const totalMs = performance.now() - start;
        if (response.statusCode !== 200) reject(new Error(`${host}:${port}${path} answered ${response.statusCode}`));
        else resolve({ totalMs, headMs, body: Buffer.concat(chunks) });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** A GET through the wedge with batonFetch, in this process. */
async function batonGet(kind: TransportKind, pool: WedgePool, path: string, mtu: number): Promise<Timing> {
  const address = pool.wedges[0]!.address;
  const start = performance.now();
  const response = await batonFetch(`http://${address}${path}`, { servers: [{ address, port: pool.udpPort }], transport: kind, rtoMin: 100, mtu });
  const headMs = performance.now() - start;
  const chunks: Buffer[] = [];
  response.body.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => {
    response.body.once('end', resolve);
    response.body.once('error', reject);
  });
  const totalMs = performance.now() - start;
  await response.finished;
  return { totalMs, headMs, body: Buffer.concat(chunks), phases: response.timing };
}

interface Path {
  readonly name: string;
  get(size: number): Promise<Timing>;
}

interface Sample {
  readonly round: number;
  readonly path: string;
  readonly size: number;
  readonly totalMs: number;
  readonly headMs: number;
  readonly phases: FetchTiming | undefined;
}

const median = (values: readonly number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round2 = (v: number) => Math.round(v * 100) / 100;

export function sizeLabel(size: number): string {
  if (size % (1 << 20) === 0) return `${size >> 20}M`;
  if (size % (1 << 10) === 0) return `${size >> 10}K`;
  return String(size);
}

const objectPath = (size: number) => `/object-${size}.bin`;

export interface Fig7Config {
  readonly sizes: readonly number[];
  readonly rounds: number;
  readonly transports: readonly TransportKind[];
  readonly connect: boolean;
  /** Path MTU of every baton connection (wedge, batonFetch, baton connect). */
  readonly mtu: number;
  readonly progress: (message: string) => void;
}

export async function runFig7(config: Fig7Config): Promise<ExperimentOutput> {
  if (!nginxInstalled()) throw new Error(`fig7 needs Debian's nginx at ${NGINX} (apt-get install nginx)`);
  const dir = mkdtempSync(join(tmpdir(), 'baton-fig7-'));
  const cleanups: Array<() => void | Promise<void>> = [];
  try {
    const files: Record<string, Uint8Array> = {};
    const digests = new Map<number, string>();
    for (const size of config.sizes) {
      const bytes = generatedBytes(0, size, size);
      files[objectPath(size).slice(1)] = bytes;
      digests.set(size, createHash('sha256').update(bytes).digest('hex'));
    }
    const nginx: Nginx = await startNginx({ teardown: (fn) => cleanups.push(fn) }, { address: NGINX_ADDRESS, files });
    config.progress(`nginx ${nginx.url}`);
    const script = batonScript();
    const paths: Path[] = [{ name: 'direct', get: (size) => httpGet(nginx.address, nginx.port, objectPath(size)) }];
    // The transports' processes start side by side (their start-up is most of a short run); every
    // start is awaited, failed or not, so each process is in `cleanups` before the finally runs.
    const started = await Promise.allSettled(
      config.transports.map(async (kind): Promise<Path[]> => {
        const home = mkdtempSync(join(dir, `${kind}-`));
        const pool = await startWedgePool({
          kind,
          backend: nginx.url,
          dir: home,
          members: [{ id: `fig7-${kind}`, address: WEDGE_ADDRESS[kind] }],
          heartbeat: { updateSec: 3, deadAfter: 3, cacheTimeout: 10 },
          script,
          mtu: config.mtu,
        });
        cleanups.push(() => pool.stop());
        let shim: ManagedProcess | undefined;
        if (config.connect) {
          shim = spawnProcess(process.execPath, [script, 'connect', '-t', kind, '--listen', '127.0.0.1:0', '--rto-min', '100', '--mtu', String(config.mtu), '--servers', `${pool.wedges[0]!.address}:${pool.udpPort}`], { name: `baton connect ${kind}`, timeoutMs: 60 * 60_000, stderr: 'pipe' });
          const s = shim;
          cleanups.push(() => s.kill('SIGTERM', 2000).then(() => undefined));
        }
        await pool.listening();
        const mine: Path[] = [{ name: `fetch-${kind}`, get: (size) => batonGet(kind, pool, objectPath(size), config.mtu) }];
        if (shim !== undefined) {
          const [, port] = await shim.waitForLine(/listening on 127\.0\.0\.1:(\d+)/, 20_000, 'stderr');
          mine.push({ name: `connect-${kind}`, get: (size) => httpGet('127.0.0.1', Number(port), objectPath(size)) });
        }
        config.progress(`${kind} wedge on ${pool.wedges[0]!.address}:${pool.udpPort}${shim !== undefined ? ' and its baton connect shim' : ''}`);
        return mine;
      }),
    );
    for (const result of started) {
      if (result.status === 'rejected') throw result.reason;
      paths.push(...result.value);
    }

    const samples: Sample[] = [];
    const failures: string[] = [];
    let verified = 0;
    const measure = async (round: number, path: Path, size: number) => {
      let timing: Timing;
      try {
        timing = await path.get(size);
      } catch (error) {
        failures.push(`${path.name} ${sizeLabel(size)} round ${round}: ${(error as Error).message}`);
        return;
      }
      await new Promise((r) => setTimeout(r, Math.max(SETTLE_MS, timing.totalMs / 2)));
      const digest = createHash('sha256').update(timing.body).digest('hex');
      if (timing.body.length !== size || digest !== digests.get(size)) {
        failures.push(`${path.name} ${sizeLabel(size)} round ${round}: ${timing.body.length} bytes that are not the object`);
        return;
      }
      verified++;
      if (round > 0) samples.push({ round, path: path.name, size, totalMs: timing.totalMs, headMs: timing.headMs, phases: timing.phases });
    };
    // Round 0 is the warm-up, not recorded.
    for (let round = 0; round <= config.rounds; round++) {
      for (let j = 0; j < config.sizes.length; j++) {
        const size = config.sizes[(j + round) % config.sizes.length]!;
        for (let i = 0; i < paths.length; i++) await measure(round, paths[(i + round) % paths.length]!, size);
      }
      config.progress(round === 0 ? 'warm-up round done' : `round ${round} of ${config.rounds} done`);
    }
    return report(config, paths, samples, verified, failures);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const FIG7_COLUMNS = ['path', 'size', 'bytes', 'rounds', 'direct_ms', 'baton_ms', 'added_ms_min', 'added_ms_median', 'added_ms_max', 'added_pct', 'direct_head_ms', 'baton_head_ms', 'baton_socket_ms', 'baton_handshake_ms', 'baton_request_ms'] as const;

function report(config: Fig7Config, paths: readonly Path[], samples: readonly Sample[], verified: number, failures: readonly string[]): ExperimentOutput {
  const rows: (string | number)[][] = [];
  const points = new Map<string, [number, number][]>();
  for (const path of paths.slice(1)) {
    for (const size of config.sizes) {
      const added: number[] = [];
      const pct: number[] = [];
      const mine = samples.filter((s) => s.path === path.name && s.size === size);
      const direct = samples.filter((s) => s.path === 'direct' && s.size === size);
      for (const s of mine) {
        const d = direct.find((x) => x.round === s.round);
        if (d === undefined) continue;
        added.push(s.totalMs - d.totalMs);
        pct.push(((s.totalMs - d.totalMs) / d.totalMs) * 100);
      }
      const sorted = [...added].sort((a, b) => a - b);
      rows.push([
        path.name,
        sizeLabel(size),
        size,
        added.length,
        round2(median(direct.map((s) => s.totalMs))),
        round2(median(mine.map((s) => s.totalMs))),
        round2(sorted[0] ?? NaN),
        round2(median(added)),
        round2(sorted.at(-1) ?? NaN),
        round2(median(pct)),
        round2(median(direct.map((s) => s.headMs))),
        round2(median(mine.map((s) => s.headMs))),
        ...(['socketMs', 'handshakeMs', 'headMs'] as const).map((k) => {
          const values = mine.flatMap((s) => (s.phases === undefined ? [] : [s.phases[k]]));
          return values.length === 0 ? '' : round2(median(values));
        }),
      ]);
      if (!points.has(path.name)) points.set(path.name, []);
      points.get(path.name)!.push([size, median(added)]);
    }
  }
  const expected = (config.rounds + 1) * config.sizes.length * paths.length;
  const failure = failures.length > 0 ? `${failures.length} of ${expected} transfers failed: ${failures.slice(0, 5).join('; ')}` : verified !== expected ? `${verified} of ${expected} transfers verified` : undefined;
  const paper = Object.entries(PAPER).map(([size, p]) => `${size}: +${p.ms} ms (${p.pct}%)`).join(', ');
  const notes = [
    `Times in ms, one GET per new connection, from the call to the body's last byte; \`added\` is the path's time minus the direct fetch's in the same round (min / median / max over ${config.rounds} rounds after one warm-up round), \`added_pct\` its median as a percentage of direct. \`*_head_ms\` is the median time to the response head (connection set-up and request), the rest of the total is the transfer. For batonFetch (\`fetch-KIND\`) the head time is split as batonFetch saw it (FetchTiming, medians): \`baton_socket_ms\` from the call to the connection's socket (UDP socket bound, endpoint made, first handshake packet sent), \`baton_handshake_ms\` from there to the handshake's end (the request leaves with its last packet), \`baton_request_ms\` from there to the response head (the wedge's work, its request to nginx and the response's way back).`,
    `baton's path MTU: ${config.mtu} bytes (\`--mtu\`; nginx's TCP on loopback uses a 65483-byte MSS).`,
    `Paths: \`direct\` = node:http straight to nginx; \`fetch-KIND\` = batonFetch through one \`baton serve\` wedge; \`connect-KIND\` = node:http through \`baton connect\` and the wedge. Every body checked against the object's sha256 (${verified} transfers).`,
    `The paper's Figure 7: ${paper}. Goal: ≤ 0.3 ms added at 1K and ≤ 1% at 8M.`,
  ].join('\n\n');
  return {
    title: 'Figure 7: wedge overhead versus request size (loopback, real processes)',
    columns: [...FIG7_COLUMNS],
    rows,
    chart: {
      kind: 'line',
      title: 'Figure 7: time added by baton (median ms) versus request size',
      xLabel: 'request size (bytes)',
      yLabel: 'added ms (median)',
      logX: true,
      series: [...points].map(([name, p]) => ({ name, points: p })),
    },
    notes,
    ...(failure !== undefined ? { failure } : {}),
  };
}

function listOption(context: ExperimentContext, name: string): string[] {
  return (context.options[name] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export const fig7Experiment: Experiment = {
  name: 'fig7',
  summary: 'wedge overhead versus request size, 1 KB to 8 MB, real processes on loopback (nginx)',
  description: [
    "Figure 7 of the paper: the time a GET takes through baton versus straight from the backend, as added milliseconds and as a percentage, for request sizes from 1 KB to 8 MB. Debian's nginx (/usr/sbin/nginx) is started on 127.0.0.5 with its own configuration; one `baton serve` wedge per transport in front of it (127.0.0.2 sctp, 127.0.0.3 tcp); the client is batonFetch in this process (fetch-KIND) and, with --connect yes, node:http through `baton connect` (connect-KIND). Every GET is on a new connection; direct and baton alternate within each round; one warm-up round is not recorded. Needs a built tree (npm run build).",
    'Exit status: 0 when every transfer completed with the object\'s bytes; 1 otherwise (the files are still written).',
  ].join('\n\n'),
  defaultSeeds: 1,
  options: [
    { name: 'rounds', flag: '--rounds <n>', description: 'recorded rounds (after one warm-up round)', default: '10' },
    { name: 'sizes', flag: '--sizes <list>', description: 'request sizes, e.g. 1K,64K,8M', default: DEFAULT_SIZES },
    { name: 'transports', flag: '--transports <list>', description: 'sctp, tcp or both (sctp,tcp)', default: 'sctp,tcp' },
    { name: 'connect', flag: '--connect <yes|no>', description: 'also measure through `baton connect`', default: 'yes' },
    { name: 'mtu', flag: '--mtu <n>', description: "baton's path MTU (1500: the CLI's default; loopback's own is 65536, and the kernel's TCP to nginx uses it)", default: '1500' },
  ],
  run(context) {
    const rounds = integerOption(context, 'rounds');
    const sizes = listOption(context, 'sizes').map(parseSize);
    if (sizes.length === 0) throw new LocalUsageError('--sizes needs at least one size');
    const transports = listOption(context, 'transports');
    for (const t of transports) if (t !== 'sctp' && t !== 'tcp') throw new LocalUsageError(`--transports takes sctp and tcp, not "${t}"`);
    if (transports.length === 0) throw new LocalUsageError('--transports needs sctp, tcp or both');
    const connect = context.options['connect'];
    if (connect !== 'yes' && connect !== 'no') throw new LocalUsageError(`--connect is yes or no, not "${connect}"`);
    const mtu = integerOption(context, 'mtu', 576);
    if (mtu > 65_535) throw new LocalUsageError(`--mtu must be at most 65535, not ${mtu}`);
    return runFig7({ sizes, rounds, transports: transports as TransportKind[], connect: connect === 'yes', mtu, progress: context.progress });
  },
};
