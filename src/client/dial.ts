// Server choice for baton's clients (`baton connect`, batonFetch): open a connection to the first
// server of the pool that completes a handshake. Servers are tried from `start` on in list order,
// each once; one that refuses (BATON_ERR_REFUSED), fails, or does not complete the handshake within
// the connect timeout is skipped. Once connected, a client never redials: a failover is the pool's
// job (a takeover), and redialling would restart the stream.
import { connect, udpRuntime, type TuningOptions } from '../api.js';
import type { TransportSocket } from '../node/socket.js';
import { parseAddress, type UdpAddress } from '../transport-abstraction/address.js';
import { BatonError, LocalUsageError } from '../transport-abstraction/errors.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import { DEFAULT_UDP_PORT } from '../transports.js';
import { lookupPool, type PoolServer } from '../node/pool-lookup.js';
import { listMembers, parseRegistryUrl, type RegistryUrl } from '../node/registry-etcd.js';
import type { RandomSource } from '../transport-abstraction/random.js';
import { PoolSelector, splitWeight, type PoolPolicy } from '../wedge/policy.js';

/** "ADDR:PORT", with brackets around an IPv6 address. */
export function serverName(s: UdpAddress): string {
  return s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}

/**
 * A comma-separated list of ADDR[:PORT] (PORT: the server's UDP port, default the kind's). Throws
 * LocalUsageError or AddressError; `name` is how the list is called in messages (e.g. "--servers").
 * An entry may carry a weight for the weighted pool policies, ADDR[:PORT]=W (parsePool keeps it).
 */
export function parseServerList(text: string, kind: TransportKind, name = 'the server list'): UdpAddress[] {
  return parsePool(text, kind, name).map((s) => s.server);
}

/** The same list as pool elements (id: the entry's ADDR:PORT; weight: =W or 1) for a PoolSelector. */
export function parsePool(text: string, kind: TransportKind, name = 'the server list'): PoolServer[] {
  const entries = text.split(',').map((s) => s.trim());
  if (entries.some((s) => s === '')) throw new LocalUsageError(`${name} is a comma-separated list of ADDR[:PORT] with no empty entries, not "${text}"`);
  const servers = entries.map((entry) => {
    const { text: address, weight } = splitWeight(entry, name);
    const server = parseAddress(address, DEFAULT_UDP_PORT[kind]);
    return { id: serverName(server), server, weight };
  });
  for (const s of servers) if (s.server.port === 0) throw new LocalUsageError(`a server's UDP port cannot be 0 (in "${text}")`);
  return servers;
}

/** Where a client's pool comes from: a fixed list, a pool-handle lookup at a wedge's admin port, or the registry. */
export type PoolSource =
  | { readonly kind: 'list'; readonly servers: readonly PoolServer[] }
  | { readonly kind: 'lookup'; readonly admin: { readonly host: string; readonly port: number }; readonly handle: string }
  | { readonly kind: 'registry'; readonly url: RegistryUrl };

/**
 * A client's server choice (RSerPool's pool user): for each new connection the pool from its
 * source (looked up afresh each time: loads and members change), ordered by the pool policy
 * (policy.ts). The first is dialled, the others are the fallbacks. Round robin over a fixed list
 * is what `baton connect` always did (connection k starts at server k mod n, then list order).
 */
export class ServerChooser {
  private readonly selector: PoolSelector;

  constructor(
    readonly source: PoolSource,
    policy: PoolPolicy,
    random: RandomSource,
  ) {
    this.selector = new PoolSelector(policy, random);
  }

  /** The servers to dial, in order; rejects (BATON_ERR_POOL_LOOKUP) when the source cannot be read. */
  async next(): Promise<UdpAddress[]> {
    const pool = await this.pool();
    return (this.selector.select(pool) as PoolServer[]).map((p) => p.server);
  }

  private async pool(): Promise<readonly PoolServer[]> {
    switch (this.source.kind) {
      case 'list':
        return this.source.servers;
      case 'lookup':
        return lookupPool(this.source.admin, this.source.handle);
      case 'registry': {
        let members;
        try {
          members = await listMembers(this.source.url);
        } catch (error) {
          throw new BatonError('BATON_ERR_POOL_LOOKUP', `the registry at ${this.source.url.hosts.join(',')}: ${(error as Error).message}`);
        }
        return members.map((m) => ({ id: m.id, server: { address: m.address, port: m.udpPort }, weight: m.weight }));
      }
    }
  }
}

export interface DialOptions extends TuningOptions {
  readonly transport: TransportKind;
  /** The SCTP/TCP port inside UDP the servers listen on (default: the kind's UDP port). */
  readonly port?: number;
  /** Skip a server that has not completed the handshake after this long (default 3000 ms). */
  readonly connectTimeoutMs?: number;
  /** Local IP address of the connection (default: connect()'s choice). */
  readonly localAddress?: string;
  /** Index of the first server to try (round robin); default 0. */
  readonly start?: number;
  /** Stop trying: the attempt in progress fails with the signal's reason and no other is made. */
  readonly signal?: AbortSignal;
  /** Told of each server that failed, before the next is tried (`more`: another one will be). */
  readonly onFailure?: (server: UdpAddress, error: Error, more: boolean) => void;
  /**
   * Given each attempt's socket as soon as it exists, before its handshake completes: what it writes
   * then is queued in the transport and goes out the moment the connection is up, in the same input
   * cycle as the handshake's last packet (batonFetch sends its request so). An attempt that fails
   * is destroyed with what was written to it.
   */
  readonly onAttempt?: (socket: TransportSocket, server: UdpAddress) => void;
}

/** Every server failed (or the dial was stopped); `failures` in the order tried. */
export class DialError extends BatonError {
  constructor(readonly failures: ReadonlyArray<{ readonly server: UdpAddress; readonly error: Error }>) {
    const last = failures.at(-1);
    const why = last === undefined ? 'no server was tried' : `${serverName(last.server)}: ${describeError(last.error)}`;
    super('BATON_ERR_NO_SERVER', `no server accepted the connection (${failures.length === 1 ? why : `${failures.length} tried; last ${why}`})`);
  }
}

/** A message with the error's code, "message [CODE]". */
export function describeError(error: unknown): string {
  if (error instanceof BatonError) return `${error.message} [${error.code}]`;
  return error instanceof Error ? error.message : String(error);
}

/** The first server, from `start` on in list order, that completes a handshake; else a DialError. */
export async function dial(servers: readonly UdpAddress[], options: DialOptions): Promise<{ socket: TransportSocket; server: UdpAddress }> {
  const failures: Array<{ server: UdpAddress; error: Error }> = [];
  const start = options.start ?? 0;
  for (let i = 0; i < servers.length; i++) {
    if (options.signal?.aborted) break;
    const server = servers[(start + i) % servers.length]!;
    const outcome = await attempt(server, options);
    if (outcome instanceof Error) {
      failures.push({ server, error: outcome });
      options.onFailure?.(server, outcome, i + 1 < servers.length && !options.signal?.aborted);
      continue;
    }
    return { socket: outcome, server };
  }
  throw new DialError(failures);
}

async function attempt(server: UdpAddress, options: DialOptions): Promise<TransportSocket | Error> {
  const { transport: kind, signal } = options;
  const timeoutMs = options.connectTimeoutMs ?? 3000;
  const runtime = options.runtime ?? udpRuntime();
  let socket: TransportSocket;
  try {
    socket = await connect({
      transport: kind,
      address: server.address,
      port: options.port ?? DEFAULT_UDP_PORT[kind],
      udpPort: server.port,
      runtime,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      ...(options.rtoMin !== undefined ? { rtoMin: options.rtoMin } : {}),
      ...(options.keepaliveMs !== undefined ? { keepaliveMs: options.keepaliveMs } : {}),
      ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
    });
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  options.onAttempt?.(socket, server);
  return new Promise<TransportSocket | Error>((resolve) => {
    let settled = false;
    const done = (result: TransportSocket | Error) => {
      if (settled) return;
      settled = true;
      timer.cancel();
      socket.off('connect', onConnect);
      signal?.removeEventListener('abort', onAbort);
      if (result instanceof Error) socket.destroy();
      resolve(result);
    };
    const onConnect = () => done(socket);
    // Stays attached (a no-op once settled), so no 'error' is ever unhandled between here and
    // the caller's own listener, nor after an abandoned attempt is destroyed.
    const onError = (error: Error) => done(error);
    const onAbort = () => done(signal?.reason instanceof Error ? signal.reason : new Error('stopped'));
    const timer = runtime.setTimer(runtime.now() + timeoutMs, () => done(new BatonError('BATON_ERR_TIMEOUT', `no handshake within ${timeoutMs} ms`)));
    socket.once('connect', onConnect);
    socket.on('error', onError);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The clients' `--servers LIST` | `--lookup ADMIN` (+ `--pool-handle`) | `--registry URL`: exactly one. Throws LocalUsageError. */
export function poolSourceOf(flags: { servers?: string; lookup?: string; poolHandle?: string; registry?: string }, kind: TransportKind): PoolSource {
  const given = [flags.servers, flags.lookup, flags.registry].filter((x) => x !== undefined).length;
  if (given === 0) throw new LocalUsageError("required option '-s, --servers <LIST>' not specified (or the pool from --lookup ADDR:PORT, a server's --admin, or --registry etcd://HOST:PORT/PREFIX)");
  if (given > 1) throw new LocalUsageError('give the pool with only one of --servers, --lookup and --registry');
  if (flags.servers !== undefined) return { kind: 'list', servers: parsePool(flags.servers, kind, '--servers') };
  if (flags.lookup !== undefined) {
    if (!/:\d+$/.test(flags.lookup)) throw new LocalUsageError(`--lookup needs ADDR:PORT (a server's --admin address), not "${flags.lookup}"`);
    const a = parseAddress(flags.lookup, 0);
    return { kind: 'lookup', admin: { host: a.address, port: a.port }, handle: flags.poolHandle ?? 'baton' };
  }
  return { kind: 'registry', url: parseRegistryUrl(flags.registry!) };
}
