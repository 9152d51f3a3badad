// `baton demo`: the whole story on one machine, no nginx needed. It starts the embedded content
// server (a generated object, paced so the download lasts about ten seconds), writes a group key
// and a peers file to a temporary directory, starts three `baton serve` processes on 127.0.0.2-4
// (`--log json`, their standard error read line by line), downloads the object from 127.0.0.2 with
// batonFetch and a progress bar, SIGKILLs the serving wedge midway, and shows the takeover: the
// wedges' takeover-won / takeover-lost events (who won, the takeover number) and the client's own
// failover report (how long it stalled). It checks the sha256 of what arrived against the object's
// and exits 0 only if it matched. Every child and temporary file is removed on every path, Ctrl-C
// included (--keep keeps the directory: key, peers, the wedges' logs and the downloaded object).
//
// For tests only: the environment variable BATON_DEMO_BATON names a script run with node in place
// of this baton (`node SCRIPT serve ...`), so a test can give the demo wedges that fail to start.
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { Command, type CommanderError } from 'commander';
import { freeUdpPort } from '../../bench/ports.js';
import { spawnProcess, type ManagedProcess } from '../../bench/process.js';
import { batonFetch, type Failover } from '../client/fetch.js';
import { describeError } from '../client/dial.js';
import { ContentServer, generatedObjectPath, generatedSha256 } from '../node/content-server.js';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import { parseTransportKind } from '../transports.js';
import { describeFailover, formatBytes, ProgressDisplay } from './fetch.js';

interface DemoFlags {
  transport: string;
  size: string;
  keep?: boolean;
}

export function demoCommand(): Command {
  return new Command('demo')
    .summary('three wedges on 127.0.0.2-4, a download, the serving wedge killed midway, the takeover shown')
    .description(
      [
        'Starts an embedded content server, three `baton serve` wedges on 127.0.0.2, 127.0.0.3 and 127.0.0.4 and a download of a generated object from 127.0.0.2 (paced to last about ten seconds). Midway the serving wedge is SIGKILLed; another wedge of the group notices (heartbeats), takes the client\'s connection over and resumes the stream at the exact byte the client is missing. The demo shows who won, the takeover number and how long the client stalled, and checks the sha256 of the download.',
        'Exit status: 0 when the download completed and its sha256 matched; 1 otherwise (a wedge that did not start, a failed download, a wrong hash); 2 for bad arguments; 130 on Ctrl-C. Every child process and temporary file is removed on every path (--keep keeps the directory).',
      ].join('\n\n'),
    )
    .option('-t, --transport <kind>', 'transport: sctp or tcp', 'sctp')
    .option('--size <BYTES>', 'size of the object to download', String(32 << 20))
    .option('--keep', 'keep the temporary directory (key, peers file, wedge logs, the downloaded object)')
    .exitOverride((error: CommanderError) => {
      process.exit(error.exitCode === 0 ? 0 : 2);
    })
    .action(async (flags: DemoFlags) => {
      process.exitCode = await runDemo(flags);
    });
}

const say = (line: string) => process.stderr.write(`baton demo: ${line}\n`);

/** Where the demo's wedges listen and talk. */
const WEDGES = [
  { id: 'w2', address: '127.0.0.2' },
  { id: 'w3', address: '127.0.0.3' },
  { id: 'w4', address: '127.0.0.4' },
] as const;
/** Announcements every second, dead after three silent periods, state kept six seconds. */
const HEARTBEAT = { updateSec: 1, deadAfter: 3, cacheTimeout: 6 };
const START_TIMEOUT_MS = 20_000;
const DOWNLOAD_SECONDS = 10;

function parseFlags(f: DemoFlags): { kind: TransportKind; size: number; keep: boolean } {
  const kind = parseTransportKind(f.transport);
  const size = Number(f.size);
  if (f.size.trim() === '' || !Number.isInteger(size) || size < 1_000_000 || size > 2 ** 32 - 1) throw new LocalUsageError(`--size must be an integer from 1000000 to 4294967295 bytes, not "${f.size}"`);
  return { kind, size, keep: f.keep === true };
}

/** One wedge process and the JSON events it logged. */
interface Wedge {
  readonly id: string;
  readonly address: string;
  readonly process: ManagedProcess;
  readonly events: Array<Record<string, unknown>>;
  readonly listening: Promise<void>;
}

function portFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind({ address, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A UDP port free on every wedge address (they all use the same ports). */
async function commonFreePort(avoid: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freeUdpPort(WEDGES[0].address);
    if (avoid.includes(port)) continue;
    const free = await Promise.all(WEDGES.slice(1).map((w) => portFree(w.address, port)));
    if (free.every(Boolean)) return port;
  }
  throw new Error('no UDP port free on 127.0.0.2-4');
}

/** Runs the demo; resolves to the exit status. */
export async function runDemo(flags: DemoFlags): Promise<number> {
  let config: ReturnType<typeof parseFlags>;
  try {
    config = parseFlags(flags);
  } catch (error) {
    say(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const dir = mkdtempSync(join(tmpdir(), 'baton-demo-'));
  const wedges: Wedge[] = [];
  let content: ContentServer | undefined;
  let display: ProgressDisplay | undefined;
  say(`working in ${dir}`);
  try {
    const status = await demo(config, dir, wedges, interrupted.signal, (c) => (content = c), (d) => (display = d));
    return interrupted.signal.aborted ? 130 : status;
  } catch (error) {
    display?.stop();
    if (interrupted.signal.aborted) {
      say('interrupted; cleaning up');
      return 130;
    }
    say(`failed: ${describeError(error)}`);
    return 1;
  } finally {
    display?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all(wedges.map((w) => w.process.kill('SIGTERM', 2000)));
    await content?.close();
    if (config.keep) say(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function demo(
  config: { kind: TransportKind; size: number },
  dir: string,
  wedges: Wedge[],
  signal: AbortSignal,
  onContent: (c: ContentServer) => void,
  onDisplay: (d: ProgressDisplay) => void,
): Promise<number> {
  const { kind, size } = config;
  const content = await ContentServer.start({ address: '127.0.0.1', rateBytesPerSec: Math.ceil(size / DOWNLOAD_SECONDS) });
  onContent(content);
  const keyFile = join(dir, 'group.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const peersFile = join(dir, 'peers');
  writeFileSync(peersFile, `# baton demo: ID@ADDR, one member a line\n${WEDGES.map((w) => `${w.id}@${w.address}`).join('\n')}\n`);
  const udpPort = await commonFreePort();
  const softStatePort = await commonFreePort([udpPort]);
  const script = process.env['BATON_DEMO_BATON'] ?? process.argv[1]!;
  say(`content server ${content.url} (${formatBytes(size)} object at ${formatBytes(Math.ceil(size / DOWNLOAD_SECONDS))}/s), ${kind} wedges on ${WEDGES.map((w) => w.address).join(', ')} udp ${udpPort}`);
  for (const w of WEDGES) {
    const args = [
      script,
      'serve',
      '--transport', kind,
      '--listen', `${w.address}:${udpPort}`,
      '--backend', content.url,
      '--id', w.id,
      '--peers', peersFile,
      '--soft-state-port', String(softStatePort),
      '--group-key', keyFile,
      '--update-sec', String(HEARTBEAT.updateSec),
      '--dead-after', String(HEARTBEAT.deadAfter),
      '--cache-timeout', String(HEARTBEAT.cacheTimeout),
      '--rto-min', '100',
      '--log', 'json',
    ];
    wedges.push(startWedge(w.id, w.address, args, join(dir, `${w.id}.log`)));
  }
  const stopped = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  stopped.catch(() => {});
  await Promise.race([Promise.all(wedges.map((w) => w.listening)), stopped]);
  say('three wedges listening; downloading from 127.0.0.2');

  const display = new ProgressDisplay('baton demo: ', false);
  onDisplay(display);
  const shown = new Set<object>();
  const showEvents = () => {
    for (const w of wedges) {
      for (const e of w.events) {
        if (shown.has(e)) continue;
        shown.add(e);
        const line = describeEvent(w.id, e);
        if (line !== undefined) display.note(line);
      }
    }
  };
  const eventTimer = setInterval(showEvents, 100);
  let killed: { wedge: Wedge; atByte: number } | undefined;
  const failovers: Failover[] = [];
  const hash = createHash('sha256');
  try {
    const response = await batonFetch(`http://127.0.0.2${generatedObjectPath(size)}`, {
      servers: [{ address: '127.0.0.2', port: udpPort }],
      transport: kind,
      rtoMin: 100,
      signal,
      onProgress: (p) => {
        display.update(p);
        if (killed === undefined && p.received >= size * 0.4) {
          const serving = wedges.find((w) => w.events.some((e) => e['event'] === 'accepted')) ?? wedges[0]!;
          serving.process.killNow('SIGKILL');
          killed = { wedge: serving, atByte: p.received };
          display.note(`SIGKILL ${serving.id} (${serving.address}, pid ${serving.process.pid}), the wedge serving this download, at ${formatBytes(p.received)}`);
        }
      },
      onFailover: (f) => {
        failovers.push(f);
        display.note(`client: ${describeFailover(f)}`);
      },
    });
    response.body.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(response.body, createWriteStream(join(dir, 'object.bin')));
    await response.finished;
  } finally {
    display.stop();
    await new Promise((r) => setTimeout(r, 300)); // the wedges' last lines
    showEvents();
    clearInterval(eventTimer);
  }
  const digest = hash.digest('hex');
  const expected = generatedSha256(size);
  const won = wedges.flatMap((w) => w.events.filter((e) => e['event'] === 'takeover-won').map((e) => ({ id: w.id, e })));
  const lost = wedges.flatMap((w) => w.events.filter((e) => e['event'] === 'takeover-lost').map((e) => ({ id: w.id, e })));
  say('summary');
  say(`  killed:   ${killed === undefined ? 'nobody (the download ended first)' : `${killed.wedge.id} at ${formatBytes(killed.atByte)} of ${formatBytes(size)}`}`);
  for (const { id, e } of won) say(`  won:      ${id}, takeover ${String(e['number'])}, resumed at byte ${String(e['nextOffset'])}${typeof e['stallMs'] === 'number' ? ` (${e['stallMs'].toFixed(1)} ms from the death notice to the client's acceptance)` : ''}`);
  for (const { id, e } of lost) say(`  lost:     ${id}, takeover ${String(e['number'])}: ${String(e['reason'])}`);
  for (const f of failovers) say(`  client:   ${describeFailover(f)}`);
  const ok = digest === expected;
  say(`  sha256:   ${digest} ${ok ? 'matches the object' : `DOES NOT MATCH the object's ${expected}`}`);
  return ok ? 0 : 1;
}

function startWedge(id: string, address: string, args: string[], logFile: string): Wedge {
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
    const timer = setTimeout(() => reject(new Error(`${id} (baton serve on ${address}) did not log "listening" within ${START_TIMEOUT_MS} ms\n${child.describe(600)}`)), START_TIMEOUT_MS);
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

/** A wedge's event as a line of the demo, or undefined for those not shown. */
function describeEvent(id: string, e: Record<string, unknown>): string | undefined {
  const s = (k: string) => String(e[k]);
  switch (e['event']) {
    case 'member-dead':
      return `${id}: ${s('member')} is dead (by ${s('by')})`;
    case 'takeover-start':
      return `${id}: takeover ${s('number')} of ${s('connection')} from ${s('from')} after ${s('delayMs')} ms backoff`;
    case 'takeover-won':
      return `${id}: WON takeover ${s('number')}; the client's next byte is ${s('nextOffset')}`;
    case 'takeover-lost':
      return `${id}: lost takeover ${s('number')} (${s('reason')})`;
    case 'resumed':
      return `${id}: resumed ${s('object')} at object byte ${s('objectOffset')}`;
    case 'resume-failed':
      return `${id}: resume failed [${s('code')}]`;
    case 'superseded':
      return `${id}: superseded by ${s('by')} (takeover ${s('number')})`;
    default:
      return undefined;
  }
}
