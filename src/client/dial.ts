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

/** "ADDR:PORT", with brackets around an IPv6 address. */
export function serverName(s: UdpAddress): string {
  return s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}

/**
 * A comma-separated list of ADDR[:PORT] (PORT: the server's UDP port, default the kind's). Throws
 * LocalUsageError or AddressError; `name` is how the list is called in messages (e.g. "--servers").
 */
export function parseServerList(text: string, kind: TransportKind, name = 'the server list'): UdpAddress[] {
  const entries = text.split(',').map((s) => s.trim());
  if (entries.some((s) => s === '')) throw new LocalUsageError(`${name} is a comma-separated list of ADDR[:PORT] with no empty entries, not "${text}"`);
  const servers = entries.map((s) => parseAddress(s, DEFAULT_UDP_PORT[kind]));
  for (const s of servers) if (s.port === 0) throw new LocalUsageError(`a server's UDP port cannot be 0 (in "${text}")`);
  return servers;
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
