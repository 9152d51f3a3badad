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
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Command, type CommanderError } from 'commander';
import { DEMO_HEARTBEAT, startWedgePool, THREE_MEMBERS, type WedgePool, type WedgeProcess } from '../../bench/wedge-pool.js';
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

const DOWNLOAD_SECONDS = 10;

function parseFlags(f: DemoFlags): { kind: TransportKind; size: number; keep: boolean } {
  const kind = parseTransportKind(f.transport);
  const size = Number(f.size);
  if (f.size.trim() === '' || !Number.isInteger(size) || size < 1_000_000 || size > 2 ** 32 - 1) throw new LocalUsageError(`--size must be an integer from 1000000 to 4294967295 bytes, not "${f.size}"`);
  return { kind, size, keep: f.keep === true };
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
  let pool: WedgePool | undefined;
  let content: ContentServer | undefined;
  let display: ProgressDisplay | undefined;
  say(`working in ${dir}`);
  try {
    const status = await demo(config, dir, (p) => (pool = p), interrupted.signal, (c) => (content = c), (d) => (display = d));
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
    await pool?.stop();
    await content?.close();
    if (config.keep) say(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function demo(
  config: { kind: TransportKind; size: number },
  dir: string,
  onPool: (p: WedgePool) => void,
  signal: AbortSignal,
  onContent: (c: ContentServer) => void,
  onDisplay: (d: ProgressDisplay) => void,
): Promise<number> {
  const { kind, size } = config;
  const content = await ContentServer.start({ address: '127.0.0.1', rateBytesPerSec: Math.ceil(size / DOWNLOAD_SECONDS) });
  onContent(content);
  const script = process.env['BATON_DEMO_BATON'] ?? process.argv[1]!;
  const pool = await startWedgePool({ kind, backend: content.url, dir, members: THREE_MEMBERS, heartbeat: DEMO_HEARTBEAT, script });
  onPool(pool);
  const { wedges, udpPort } = pool;
  say(`content server ${content.url} (${formatBytes(size)} object at ${formatBytes(Math.ceil(size / DOWNLOAD_SECONDS))}/s), ${kind} wedges on ${wedges.map((w) => w.address).join(', ')} udp ${udpPort}`);
  const stopped = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  stopped.catch(() => {});
  await Promise.race([pool.listening(), stopped]);
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
  let killed: { wedge: WedgeProcess; atByte: number } | undefined;
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
          const serving = pool.serving() ?? wedges[0]!;
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
  const won = pool.takeoversWon().map(({ id, event }) => ({ id, e: event }));
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
