// `baton connect`: a local shim so that unmodified TCP clients (curl, wget, a media player) use a
// baton server pool. It accepts ordinary TCP connections on --listen and bridges each to its own
// baton connection (the library's connect()) to a server of --servers, piping both ways with
// backpressure. When the serving server dies, a server of its support group takes the baton
// connection over; the TCP client never notices (each failover is logged on stderr).
//
// Server choice: by --policy (src/wedge/policy.ts, RFC 5356) over the pool of --servers, of a
// server's pool-handle lookup (--lookup) or of the registry (--registry); the default round robin
// starts connection k at server k mod n of the list (to spread the load); if that server refuses the connection, errs or does not complete the handshake within
// --connect-timeout, the next ones are tried in list order, each once. When all fail, the client's
// connection is reset. Once connected, the baton connection is never redialled: a failover is the
// pool's job (a takeover), and redialling would restart the client's stream.
//
// Ends and aborts: the client's FIN ends the baton connection gracefully (after the queued bytes);
// the server's clean close ends the client's side. A client reset aborts the baton connection; a
// baton connection that fails (aborted, timed out) resets the client's, so a truncated response
// never looks complete.
import net from 'node:net';
import { Command, type CommanderError } from 'commander';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import { parseAddress, type UdpAddress } from '../transport-abstraction/address.js';
import { keepaliveOption } from './keepalive.js';
import type { TakenOverEvent, TakeoverRefusedEvent, TransportSocket } from '../node/socket.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import { describeError, dial, poolSourceOf, serverName, ServerChooser, type PoolSource } from '../client/dial.js';
import { cryptoRandom } from '../transport-abstraction/random.js';
import { parsePoolPolicy, POOL_POLICIES, type PoolPolicy } from '../wedge/policy.js';
import { DEFAULT_UDP_PORT, parseTransportKind } from '../transports.js';

export interface ConnectCommandOptions {
  listen: string;
  servers?: string;
  lookup?: string;
  poolHandle: string;
  registry?: string;
  policy: string;
  transport: string;
  remotePort?: string;
  connectTimeout: string;
  rtoMin?: string;
  mtu?: string;
  keepalive?: string;
  verbose?: boolean;
}

export function connectCommand(): Command {
  return new Command('connect')
    .summary('a local TCP shim: curl and friends reach a baton server pool and survive failovers')
    .description(
      [
        'Accepts ordinary TCP connections on --listen and bridges each to a baton connection (SCTP or TCP-Migrate carried in UDP) to a server of --servers, so unmodified clients use the pool: curl http://127.0.0.1:PORT/video.bin. When the serving server dies, a server of its support group takes the connection over and the download continues at the exact byte; each failover is reported on standard error.',
        "--servers is a comma-separated list of ADDR[:PORT], PORT being the server's UDP port (default 9899 for sctp, 9898 for tcp). Connection k starts at server k mod n (round robin); when a server refuses, fails or does not answer within --connect-timeout, the next ones are tried in order, each once; when all fail, the client's connection is reset.",
        "The client's FIN ends the baton connection gracefully; a failed baton connection resets the client's, so a cut-off download never looks complete.",
        'Exit status: 2 for bad arguments, 1 when --listen cannot be bound; otherwise it runs until SIGINT or SIGTERM (exit 0).',
      ].join('\n\n'),
    )
    .requiredOption('-l, --listen <ADDR:PORT>', 'local TCP address to accept clients on (PORT 0 picks a free one)')
    .option('-s, --servers <LIST>', 'the pool: comma-separated ADDR[:PORT][=WEIGHT] (PORT: the UDP port)')
    .option('--lookup <ADDR:PORT>', "the pool instead from a server's pool-handle lookup (its --admin address), asked for each connection")
    .option('--pool-handle <name>', 'the pool handle --lookup asks for', 'baton')
    .option('--registry <URL>', 'the pool instead from etcd: etcd[s]://HOST:PORT/PREFIX[?ca=FILE&cert=FILE&key=FILE&auth=FILE] (as baton serve --registry)')
    .option('--policy <name>', `which server first: ${POOL_POLICIES.join(', ')} (load: --lookup only)`, 'round-robin')
    .option('-t, --transport <kind>', 'transport: sctp or tcp', 'sctp')
    .option('--remote-port <port>', 'the SCTP/TCP port inside UDP the servers listen on (default 9899 for sctp, 9898 for tcp)')
    .option('--connect-timeout <ms>', 'try the next server when one does not complete the handshake in time', '3000')
    .option('--rto-min <ms>', 'lower bound of the retransmission timeout in ms (default 1000, the RFCs; 200 suits loopback)')
    .option('--mtu <bytes>', 'path MTU used to size packets')
    .option('--keepalive <s>', "keepalive interval toward every address of the serving server's support group, kept below the NAT's UDP timeout (SCTP HB.interval; default 5)")
    .option('-v, --verbose', 'log every connection, not only failovers and errors')
    .exitOverride((error: CommanderError) => {
      // Help and version exit 0; every argument error commander finds is a usage error: 2.
      process.exit(error.exitCode === 0 ? 0 : 2);
    })
    .action(async (options: ConnectCommandOptions) => {
      process.exitCode = await runConnect(options);
    });
}

/** What the shim runs with, after the arguments were checked. */
export interface ShimConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly pool: PoolSource;
  readonly policy: PoolPolicy;
  readonly kind: TransportKind;
  readonly remotePort: number;
  readonly connectTimeoutMs: number;
  readonly tuning: { readonly rtoMin?: number; readonly mtu?: number; readonly keepaliveMs?: number };
  readonly verbose: boolean;
}

function fail(message: string): never {
  throw new LocalUsageError(message);
}

function integer(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) fail(`${name} must be an integer from ${min} to ${max}, not "${text}"`);
  return value;
}

/** Check the arguments; throws LocalUsageError or AddressError (both exit 2). */
export function parseShimConfig(o: ConnectCommandOptions): ShimConfig {
  const kind = parseTransportKind(o.transport);
  if (!/^[^:[\]]+:\d+$/.test(o.listen) && !/^\[[^\]]+\]:\d+$/.test(o.listen)) fail(`--listen needs ADDR:PORT (a TCP port; 0 picks one), not "${o.listen}"`);
  const listen = parseAddress(o.listen, 0);
  const pool = poolSourceOf(o, kind);
  const rtoMin = integer(o.rtoMin, '--rto-min', 1, 60_000);
  const mtu = integer(o.mtu, '--mtu', 576, 65_535);
  const keepaliveMs = keepaliveOption(o.keepalive);
  return {
    listen: { host: listen.address, port: listen.port },
    pool,
    policy: parsePoolPolicy(o.policy),
    kind,
    remotePort: integer(o.remotePort, '--remote-port', 1, 65_535) ?? DEFAULT_UDP_PORT[kind],
    connectTimeoutMs: integer(o.connectTimeout, '--connect-timeout', 1, 600_000)!,
    tuning: { ...(rtoMin !== undefined ? { rtoMin } : {}), ...(mtu !== undefined ? { mtu } : {}), ...(keepaliveMs !== undefined ? { keepaliveMs } : {}) },
    verbose: o.verbose === true,
  };
}

const log = (line: string) => process.stderr.write(`baton connect: ${line}\n`);

const describe = describeError;

/** Runs the command; resolves to the exit status (when a signal stops it, or at once on errors). */
export async function runConnect(options: ConnectCommandOptions): Promise<number> {
  let config: ShimConfig;
  try {
    config = parseShimConfig(options);
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const shim = new Shim(config);
  try {
    await shim.listen();
  } catch (error) {
    log(`cannot listen on ${config.listen.host}:${config.listen.port}: ${describe(error)}`);
    return 1;
  }
  const address = shim.address;
  const pool = config.pool;
  const to = pool.kind === 'list' ? pool.servers.map((s) => serverName(s.server)).join(', ') : pool.kind === 'lookup' ? `the pool "${pool.handle}" of ${pool.admin.host}:${pool.admin.port}` : `the registry ${pool.url.hosts.join(',')}${pool.url.prefix}`;
  log(`listening on ${address.address}:${address.port}, ${config.kind} to ${to} (${config.policy})`);
  return new Promise<number>((resolve) => {
    const stop = () => {
      void shim.close().then(() => resolve(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** The TCP listener and its bridges. */
export class Shim {
  private readonly server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true });
  private readonly live = new Set<{ client: net.Socket; baton?: TransportSocket }>();
  private count = 0;
  private readonly chooser: ServerChooser;

  constructor(readonly config: ShimConfig) {
    this.chooser = new ServerChooser(config.pool, config.policy, cryptoRandom);
    this.server.on('connection', (client) => void this.bridge(client));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.config.listen.host, port: this.config.listen.port }, () => {
        this.server.off('error', reject);
        this.server.on('error', (error) => log(`listener: ${describe(error)}`));
        resolve();
      });
    });
  }

  get address(): net.AddressInfo {
    return this.server.address() as net.AddressInfo;
  }

  /** Stop accepting and abort every bridge. */
  close(): Promise<void> {
    for (const entry of this.live) {
      entry.baton?.destroy();
      entry.client.destroy();
    }
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async bridge(client: net.Socket): Promise<void> {
    const id = ++this.count;
    const who = `#${id} ${client.remoteAddress}:${client.remotePort}`;
    const entry: { client: net.Socket; baton?: TransportSocket } = { client };
    this.live.add(entry);
    client.on('error', (error) => {
      if (this.config.verbose) log(`${who}: client: ${describe(error)}`);
    });
    client.once('close', () => this.live.delete(entry));
    const baton = await this.dial(client, who);
    if (baton === undefined) {
      if (!client.destroyed) client.resetAndDestroy();
      return;
    }
    entry.baton = baton;
    this.pipe(client, baton, who);
  }

  /** The first server, in the policy's order, that completes a handshake (src/client/dial.ts). */
  private async dial(client: net.Socket, who: string): Promise<TransportSocket | undefined> {
    let servers: UdpAddress[];
    try {
      servers = await this.chooser.next();
    } catch (error) {
      log(`${who}: ${describe(error)}; resetting the client`);
      return undefined;
    }
    const { kind, remotePort, connectTimeoutMs, tuning } = this.config;
    if (client.destroyed) return undefined;
    const gone = new AbortController();
    const onClientGone = () => gone.abort(new Error('the client left during the handshake'));
    client.once('close', onClientGone);
    try {
      const { socket, server } = await dial(servers, {
        transport: kind,
        port: remotePort,
        connectTimeoutMs,
        signal: gone.signal,
        ...tuning,
        onFailure: (server, error, more) => log(`${who}: ${serverName(server)} ${describe(error)}${more ? '; trying the next server' : '; no server left, resetting the client'}`),
      });
      if (this.config.verbose) log(`${who}: connected to ${serverName(server)} (${kind})`);
      return socket;
    } catch {
      return undefined; // each failure was logged
    } finally {
      client.off('close', onClientGone);
    }
  }

  /** Both directions with backpressure (pipe), each side's end and failure carried to the other. */
  private pipe(client: net.Socket, baton: TransportSocket, who: string): void {
    let batonFailed = false;
    baton.on('taken-over', (ev: TakenOverEvent) => log(`${who}: taken over by ${serverName(ev.peer)} (takeover ${ev.requestNumber})`));
    baton.on('takeover-refused', (ev: TakeoverRefusedEvent) => log(`${who}: refused a takeover from ${serverName(ev.peer)} (request ${ev.requestNumber}): ${ev.reason}`));
    baton.on('error', (error: Error) => {
      batonFailed = true;
      log(`${who}: baton connection failed: ${describe(error)}; resetting the client`);
      if (!client.destroyed) client.resetAndDestroy();
    });
    baton.once('close', () => {
      if (this.config.verbose && !batonFailed) log(`${who}: closed`);
    });
    client.once('close', () => {
      // A client that left without its FIN (reset, or destroyed after an error): abort our side.
      if (!client.readableEnded && !baton.destroyed && !batonFailed) baton.destroy();
    });
    client.pipe(baton);
    baton.pipe(client);
    client.resume();
  }
}
