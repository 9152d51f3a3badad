// `baton fetch URL --servers LIST [-o FILE]`: the native client (batonFetch) on the command line.
// A progress bar (cli-progress) on standard error when it is a terminal, plain lines every second
// otherwise; each failover reported as it is lived through; the file written under a temporary
// name and renamed only when complete, so a failed download leaves nothing behind.
//
// Exit status: 0 for a complete download, 1 for an incomplete or refused one (one line with the
// coded cause), 2 for bad arguments.
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import { Command, type CommanderError } from 'commander';
import { batonFetch, type Failover, type FetchProgress, type FetchResponse } from '../client/fetch.js';
import { describeError, poolSourceOf, serverName, ServerChooser } from '../client/dial.js';
import { cryptoRandom } from '../transport-abstraction/random.js';
import { parsePoolPolicy, POOL_POLICIES } from '../wedge/policy.js';
import { BatonError, LocalUsageError } from '../transport-abstraction/errors.js';
import type { UdpAddress } from '../transport-abstraction/address.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import { parseTransportKind } from '../transports.js';
import { keepaliveOption } from './keepalive.js';

interface FetchFlags {
  servers?: string;
  lookup?: string;
  poolHandle: string;
  registry?: string;
  policy: string;
  output?: string;
  transport: string;
  quiet?: boolean;
  sha256?: boolean;
  remotePort?: string;
  connectTimeout: string;
  rtoMin?: string;
  keepalive?: string;
}

export function fetchCommand(): Command {
  return new Command('fetch')
    .summary('download a URL from a baton server pool; survives failovers and says so')
    .description(
      [
        "GETs URL over a baton connection (SCTP or TCP-Migrate carried in UDP) to the first server of --servers that accepts (the next one when a server refuses or does not answer within --connect-timeout). The URL's host only names the Host header; the servers are the pool. When the serving server dies, another takes the connection over and the download goes on; each failover is reported with the new server, the takeover number and how long the download stalled.",
        'With -o the body goes to a temporary file beside FILE, renamed to FILE once complete; without -o it goes to standard output. --sha256 prints the sha256 of the body (on standard output with -o, else on standard error).',
        'Exit status: 0 for a complete download, 1 for an incomplete or refused one (one line with the coded cause), 2 for bad arguments.',
      ].join('\n\n'),
    )
    .argument('<URL>', 'http://HOST[:PORT]/PATH')
    .option('-s, --servers <LIST>', 'the pool: comma-separated ADDR[:PORT][=WEIGHT] (PORT: the UDP port)')
    .option('--lookup <ADDR:PORT>', "the pool instead from a server's pool-handle lookup (its --admin address)")
    .option('--pool-handle <name>', 'the pool handle --lookup asks for', 'baton')
    .option('--registry <URL>', 'the pool instead from etcd: etcd://HOST:PORT/PREFIX (as baton serve --registry)')
    .option('--policy <name>', `which server first: ${POOL_POLICIES.join(', ')} (load: --lookup only)`, 'round-robin')
    .option('-o, --output <FILE>', 'write the body to FILE (default: standard output)')
    .option('-t, --transport <kind>', 'transport: sctp or tcp', 'sctp')
    .option('-q, --quiet', 'no progress (failovers and errors are still reported)')
    .option('--sha256', 'print the sha256 of the body')
    .option('--remote-port <port>', 'the SCTP/TCP port inside UDP the servers listen on (default 9899 for sctp, 9898 for tcp)')
    .option('--connect-timeout <ms>', 'try the next server when one does not complete the handshake in time', '3000')
    .option('--rto-min <ms>', 'lower bound of the retransmission timeout in ms (200 suits loopback)')
    .option('--keepalive <s>', "keepalive interval toward every address of the serving server's support group, kept below the NAT's UDP timeout (SCTP HB.interval; default 5)")
    .exitOverride((error: CommanderError) => {
      process.exit(error.exitCode === 0 ? 0 : 2);
    })
    .action(async (url: string, flags: FetchFlags) => {
      process.exitCode = await runFetch(url, flags);
    });
}

interface FetchConfig {
  readonly url: URL;
  readonly chooser: ServerChooser;
  readonly kind: TransportKind;
  readonly output: string | undefined;
  readonly quiet: boolean;
  readonly sha256: boolean;
  readonly remotePort: number | undefined;
  readonly connectTimeoutMs: number;
  readonly rtoMin: number | undefined;
  readonly keepaliveMs: number | undefined;
}

function integer(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) throw new LocalUsageError(`${name} must be an integer from ${min} to ${max}, not "${text}"`);
  return value;
}

function parseConfig(url: string, f: FetchFlags): FetchConfig {
  const kind = parseTransportKind(f.transport);
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new LocalUsageError(`not a URL: "${url}"`);
  }
  if (target.protocol !== 'http:') throw new LocalUsageError(`only http: URLs can be fetched, not "${url}"`);
  if (f.output === '') throw new LocalUsageError('-o needs a file name');
  return {
    url: target,
    chooser: new ServerChooser(poolSourceOf(f, kind), parsePoolPolicy(f.policy), cryptoRandom),
    kind,
    output: f.output,
    quiet: f.quiet === true,
    sha256: f.sha256 === true,
    remotePort: integer(f.remotePort, '--remote-port', 1, 65_535),
    connectTimeoutMs: integer(f.connectTimeout, '--connect-timeout', 1, 600_000)!,
    rtoMin: integer(f.rtoMin, '--rto-min', 1, 60_000),
    keepaliveMs: keepaliveOption(f.keepalive),
  };
}

const log = (line: string) => process.stderr.write(`baton fetch: ${line}\n`);

/** A new file opened for writing ('wx': an existing one is not replaced), once it is open. */
function openForWriting(path: string): Promise<WriteStream> {
  return new Promise((resolve, reject) => {
    const stream = createWriteStream(path, { flags: 'wx' });
    stream.once('open', () => {
      stream.off('error', reject);
      resolve(stream);
    });
    stream.once('error', reject);
  });
}

/** "12.3 MB" */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** "taken over by 127.0.0.3 (takeover 2), stalled 1.2 s" */
export function describeFailover(f: Failover): string {
  return `taken over by ${f.server.address} (takeover ${f.takeover}), ${f.stallMs === undefined ? 'no byte came after it' : `stalled ${(f.stallMs / 1000).toFixed(1)} s`}`;
}

/**
 * Progress on standard error: a cli-progress bar when it is a terminal, else a plain line every
 * `everyMs`. note() prints a line without breaking the bar. Used by `baton fetch` and `baton demo`.
 */
export class ProgressDisplay {
  private readonly multi: cliProgress.MultiBar | undefined;
  private bar: cliProgress.SingleBar | undefined;
  private lastLine = 0;
  private last: FetchProgress | undefined;
  private stopped = false;

  constructor(
    private readonly prefix: string,
    private readonly quiet: boolean,
    private readonly everyMs = 1000,
  ) {
    if (!quiet && process.stderr.isTTY) {
      this.multi = new cliProgress.MultiBar(
        { stream: process.stderr, format: '{bar} {percentage}% | {done} of {size} | {rate}', hideCursor: true, clearOnComplete: false, barsize: 30 },
        cliProgress.Presets.shades_classic,
      );
    }
  }

  update(p: FetchProgress): void {
    this.last = p;
    if (this.quiet) return;
    const rate = p.elapsedMs > 0 ? `${formatBytes(Math.round((p.received * 1000) / p.elapsedMs))}/s` : '';
    const payload = { done: formatBytes(p.received), size: p.total === undefined ? '?' : formatBytes(p.total), rate };
    if (this.multi) {
      this.bar ??= this.multi.create(p.total ?? 0, 0, payload);
      this.bar.update(p.received, payload);
      return;
    }
    if (p.elapsedMs - this.lastLine < this.everyMs) return;
    this.lastLine = p.elapsedMs;
    const percent = p.total ? ` (${Math.floor((p.received * 100) / p.total)}%)` : '';
    process.stderr.write(`${this.prefix}${payload.done} of ${payload.size}${percent}, ${rate}\n`);
  }

  note(line: string): void {
    // cli-progress prints logged lines only when it redraws: redraw now, or write directly while no bar shows.
    if (this.multi && this.bar && !this.stopped) {
      this.multi.log(`${this.prefix}${line}\n`);
      this.multi.update();
    } else process.stderr.write(`${this.prefix}${line}\n`);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.last && this.bar) this.bar.update(this.last.received);
    this.multi?.stop();
  }
}

/** Runs the command; resolves to the exit status. */
export async function runFetch(url: string, flags: FetchFlags): Promise<number> {
  let config: FetchConfig;
  try {
    config = parseConfig(url, flags);
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const display = new ProgressDisplay('baton fetch: ', config.quiet);
  const temporary = config.output === undefined ? undefined : `${config.output}.baton-${process.pid}.part`;
  let file: WriteStream | undefined;
  try {
    // The file is opened before any connection is made: a -o into a missing or read-only
    // directory fails at once instead of after the server has started sending.
    if (temporary !== undefined) {
      file = await openForWriting(temporary).catch((error: Error) => {
        throw new Error(`cannot write ${config.output}: ${error.message}`);
      });
    }
    const hash = createHash('sha256');
    let failed = 0;
    const servers: UdpAddress[] = await config.chooser.next();
    if (servers.length === 0) throw new BatonError('BATON_ERR_NO_SERVER', 'the pool has no member');
    const response: FetchResponse = await batonFetch(config.url, {
      servers,
      transport: config.kind,
      connectTimeoutMs: config.connectTimeoutMs,
      signal: controller.signal,
      ...(config.remotePort !== undefined ? { port: config.remotePort } : {}),
      ...(config.rtoMin !== undefined ? { rtoMin: config.rtoMin } : {}),
      ...(config.keepaliveMs !== undefined ? { keepaliveMs: config.keepaliveMs } : {}),
      // The last server's failure is in the final line; the others are told as they happen.
      onServerFailed: (server, error) => {
        if (++failed < servers.length) log(`${serverName(server)} ${describeError(error)}; trying the next server`);
      },
      onProgress: (p) => display.update(p),
      onFailover: (f) => display.note(describeFailover(f)),
    });
    if (!config.quiet) display.note(`${response.status} from ${serverName(response.server)} (${config.kind}), ${response.total === undefined ? 'length unknown' : formatBytes(response.total)}`);
    response.body.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(response.body, file ?? process.stdout, { end: file !== undefined });
    const summary = await response.finished;
    if (temporary !== undefined) await rename(temporary, config.output!);
    display.stop();
    const digest = hash.digest('hex');
    const failovers = summary.failovers.length;
    if (!config.quiet) log(`${formatBytes(summary.received)} in ${(summary.elapsedMs / 1000).toFixed(1)} s, ${failovers} failover${failovers === 1 ? '' : 's'}${config.output !== undefined ? ` -> ${config.output}` : ''}`);
    if (config.sha256) {
      if (config.output !== undefined) process.stdout.write(`${digest}  ${config.output}\n`);
      else log(`sha256 ${digest}`);
    }
    return 0;
  } catch (error) {
    display.stop();
    file?.destroy();
    if (file !== undefined) await rm(temporary!, { force: true });
    const e = error as Error & { code?: string };
    const cause = error instanceof BatonError ? describeError(error) : `${e.message}${e.code ? ` [${e.code}]` : ''}`;
    log(`failed: ${cause}`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
