// The wedge's content server over a real TCP connection (node:net): the daemon's `--backend
// http://HOST:PORT`, usually nginx. A byte pipe, nothing more: the wedge writes the request bytes
// its mapper built and parses the response itself (src/wedge/content.ts).
//
// Backpressure is the socket's own: pause() stops the socket's 'data' events, Node stops reading
// from the kernel once the socket's readable buffer is full (one highWaterMark), the kernel's
// receive window closes and the backend stalls. A paused connection holds at most a few tens of KB
// in this process, never the object.
//
// A keep-alive pool, as real reverse proxies keep one: a connection whose response ended cleanly
// with the content server keeping it open is handed back (release(), from the session) and the next
// request takes it instead of a new TCP connection (the mapper drops a client's `Connection: close`
// from the request it relays, so nginx keeps it). An idle connection is unreferenced (it holds no
// process open), closed after `idleTimeoutMs`, and dropped at once when the content server closes
// it or sends anything while idle. A content server may still close an idle connection just as a
// request goes out on it: when a reused connection ends or fails before its first response byte,
// the request is sent again once on a new connection (a request is a GET or HEAD the client may
// repeat; nothing of its response reached the wedge), as nginx's own proxy does.
//
// Failures reach the sink as coded errors, never as exceptions into the event loop:
//   BATON_ERR_BACKEND_REFUSED      nobody listens there (ECONNREFUSED)
//   BATON_ERR_BACKEND_RESET        the connection broke (ECONNRESET, EPIPE, ...)
//   BATON_ERR_BACKEND_TIMEOUT      no connection within connectTimeoutMs (or ETIMEDOUT)
//   BATON_ERR_BACKEND_UNREACHABLE  no route, no such host
import net from 'node:net';
import { AddressError } from '../transport-abstraction/address.js';
import { BatonError } from '../transport-abstraction/errors.js';
import type { BackendConnection, BackendSink, ContentBackend } from '../wedge/content.js';

export type BackendErrorCode = 'BATON_ERR_BACKEND_REFUSED' | 'BATON_ERR_BACKEND_RESET' | 'BATON_ERR_BACKEND_TIMEOUT' | 'BATON_ERR_BACKEND_UNREACHABLE';

/** A backend connection failed; `code` says how, `cause` holds the socket's own error if any. */
export class BackendError extends BatonError {
  declare readonly code: BackendErrorCode;
  constructor(code: BackendErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Where the backend listens, from `http://HOST[:PORT][/]`. */
export interface BackendAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses the daemon's `--backend` URL. Only plain http with no path (the wedge relays the client's
 * own request path). Throws AddressError (BATON_ERR_BAD_ADDRESS) for anything else.
 */
export function parseBackendUrl(text: string): BackendAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AddressError(`not a backend URL: "${text}" (expected http://HOST:PORT)`);
  }
  if (url.protocol !== 'http:') throw new AddressError(`the backend must be plain http://, not ${url.protocol}// (in "${text}")`);
  if (url.username !== '' || url.password !== '') throw new AddressError(`the backend URL takes no credentials (in "${text}")`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new AddressError(`the backend URL takes no path or query; the client's own request path is relayed (in "${text}")`);
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port === '' ? 80 : Number(url.port) };
}

export interface TcpBackendOptions {
  /** Give up on a connection attempt after this long (BATON_ERR_BACKEND_TIMEOUT). Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** Local address to connect from. */
  readonly localAddress?: string;
  /**
   * Called with what a sink threw (wrapped, code BATON_ERR_BACKEND_SINK_THREW); the connection is
   * closed. Without a listener the errors are only counted (`sinkErrors`).
   */
  readonly onError?: (error: BatonError) => void;
  /** Idle keep-alive connections kept for the next request; default 16, 0 turns the pool off. */
  readonly maxIdle?: number;
  /** An idle connection is closed after this long; default 10 000 ms (nginx keeps one 75 s). */
  readonly idleTimeoutMs?: number;
}

function classify(error: NodeJS.ErrnoException, where: string): BackendError {
  const text = `backend ${where}: ${error.message}`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return new BackendError('BATON_ERR_BACKEND_REFUSED', text, { cause: error });
    case 'ETIMEDOUT':
      return new BackendError('BATON_ERR_BACKEND_TIMEOUT', text, { cause: error });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return new BackendError('BATON_ERR_BACKEND_UNREACHABLE', text, { cause: error });
    default:
      // ECONNRESET, EPIPE, ECONNABORTED and whatever else breaks an open pipe.
      return new BackendError('BATON_ERR_BACKEND_RESET', text, { cause: error });
  }
}

/** One TCP connection to the backend (a new one, or one from the pool). */
export class TcpBackendConnection implements BackendConnection {
  private socket: net.Socket;
  private connectTimer: NodeJS.Timeout | undefined;
  /** No sink call follows once this is set (closed by us, ended, or failed). */
  private finished = false;
  private closed = false;
  /** The socket came from the pool and no response byte arrived on it yet: a failure sends the request again. */
  private retryable: boolean;
  /** Request bytes written while `retryable` (what a retry sends again). */
  private written: Uint8Array[] = [];
  private readonly onData = (chunk: Buffer): void => {
    this.retryable = false;
    this.written = [];
    this.deliver(() => this.sink.data(chunk));
  };
  private readonly onEnd = (): void => {
    if (this.retry()) return;
    if (this.finished) return;
    this.finished = true;
    this.deliver(() => this.sink.end());
  };
  private readonly onError = (error: NodeJS.ErrnoException): void => {
    if (this.retry()) return;
    const { host, port } = this.backend.address;
    this.fail(classify(error, `${host}:${port}`));
  };
  private readonly onClose = (): void => {
    if (this.retry()) return;
    this.clearConnectTimer();
    // A close with neither 'end' nor 'error' (the peer vanished mid-handshake) is still a failure.
    const { host, port } = this.backend.address;
    if (!this.finished) this.fail(new BackendError('BATON_ERR_BACKEND_RESET', `backend ${host}:${port}: connection closed without an end`));
  };
  private readonly onConnect = (): void => this.clearConnectTimer();

  constructor(
    private readonly backend: TcpBackend,
    private readonly sink: BackendSink,
    pooled?: net.Socket,
  ) {
    this.retryable = pooled !== undefined;
    this.socket = pooled ?? this.connect();
    this.attach();
  }

  /** Bytes read from the kernel so far (what this process took in, whether delivered yet or not). */
  get bytesRead(): number {
    return this.socket.bytesRead;
  }

  /** True while pause() holds the data back. */
  get paused(): boolean {
    return this.socket.isPaused();
  }

  write(bytes: Uint8Array): void {
    // After an end or error the sink has been told; a late request write has nowhere to go.
    if (this.finished || this.socket.destroyed) return;
    if (this.retryable) this.written.push(bytes);
    this.socket.write(bytes);
  }

  pause(): void {
    if (!this.closed) this.socket.pause();
  }

  resume(): void {
    if (!this.closed) this.socket.resume();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.finished = true;
    this.clearConnectTimer();
    this.socket.destroy();
  }

  /** The response ended and the content server keeps the connection: back to the pool (or closed). */
  release(): void {
    if (this.closed) return;
    if (this.finished || this.socket.destroyed || this.socket.connecting || !this.socket.writable || !this.socket.readable) return this.close();
    this.closed = true;
    this.finished = true;
    this.clearConnectTimer();
    this.detach();
    this.socket.resume();
    this.backend.keep(this.socket);
  }

  private connect(): net.Socket {
    const { host, port } = this.backend.address;
    const localAddress = this.backend.options.localAddress;
    const socket = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    socket.setNoDelay(true);
    this.backend.opened++;
    this.connectTimer = setTimeout(() => {
      this.fail(new BackendError('BATON_ERR_BACKEND_TIMEOUT', `backend ${host}:${port}: no connection within ${this.backend.connectTimeoutMs} ms`));
    }, this.backend.connectTimeoutMs);
    return socket;
  }

  private attach(): void {
    const s = this.socket;
    s.once('connect', this.onConnect);
    s.on('data', this.onData);
    s.once('end', this.onEnd);
    s.on('error', this.onError);
    s.once('close', this.onClose);
  }

  private detach(): void {
    const s = this.socket;
    s.off('connect', this.onConnect);
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
    s.off('close', this.onClose);
  }

  /** A pooled connection the content server closed before its first response byte: send the request on a new one. */
  private retry(): boolean {
    if (!this.retryable || this.finished) return false;
    this.retryable = false;
    this.backend.retried++;
    this.detach();
    this.socket.on('error', () => {}); // the old socket's last words go nowhere
    this.socket.destroy();
    this.socket = this.connect();
    this.attach();
    for (const bytes of this.written) this.socket.write(bytes);
    this.written = [];
    return true;
  }

  private fail(error: BackendError): void {
    if (this.finished) {
      this.socket.destroy();
      return;
    }
    this.finished = true;
    this.clearConnectTimer();
    this.socket.destroy();
    this.deliver(() => this.sink.error(error));
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  }

  /** Run a sink call; what it throws closes this connection and goes to the backend's listener. */
  private deliver(call: () => void): void {
    if (this.closed) return;
    try {
      call();
    } catch (thrown) {
      this.close();
      this.backend.sinkThrew(thrown);
    }
  }
}

/** An idle pooled connection: its own listeners and its idle timer. */
interface Idle {
  readonly socket: net.Socket;
  readonly drop: () => void;
  readonly timer: NodeJS.Timeout;
}

export class TcpBackend implements ContentBackend {
  readonly address: BackendAddress;
  readonly connectTimeoutMs: number;
  readonly maxIdle: number;
  readonly idleTimeoutMs: number;
  /** Exceptions sinks threw (each closed its connection). */
  sinkErrors = 0;
  /** TCP connections opened, requests that took a pooled one, and requests sent again on a new one. */
  opened = 0;
  reused = 0;
  retried = 0;
  private readonly idle: Idle[] = [];

  /** `backend` is `http://HOST[:PORT]` or an address already parsed. */
  constructor(
    backend: string | BackendAddress,
    readonly options: TcpBackendOptions = {},
  ) {
    this.address = typeof backend === 'string' ? parseBackendUrl(backend) : backend;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.maxIdle = options.maxIdle ?? 16;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  }

  /** Idle connections in the pool now. */
  get idleCount(): number {
    return this.idle.length;
  }

  open(sink: BackendSink): TcpBackendConnection {
    // Most recently used first: the one least likely to have hit the content server's idle timeout.
    for (let entry = this.idle.pop(); entry !== undefined; entry = this.idle.pop()) {
      this.unwatch(entry);
      if (entry.socket.destroyed || !entry.socket.writable) continue;
      entry.socket.ref();
      this.reused++;
      return new TcpBackendConnection(this, sink, entry.socket);
    }
    return new TcpBackendConnection(this, sink);
  }

  /** Close every idle connection (the daemon stops). */
  closeIdle(): void {
    for (const entry of this.idle.splice(0)) {
      this.unwatch(entry);
      entry.socket.destroy();
    }
  }

  /** @internal a released connection: kept idle, or closed when the pool is full. */
  keep(socket: net.Socket): void {
    if (this.idle.length >= this.maxIdle) {
      socket.destroy();
      return;
    }
    const drop = (): void => {
      const i = this.idle.indexOf(entry);
      if (i >= 0) this.idle.splice(i, 1);
      this.unwatch(entry);
      socket.destroy();
    };
    const entry: Idle = { socket, drop, timer: setTimeout(drop, this.idleTimeoutMs) };
    entry.timer.unref();
    // Anything from the content server while idle (its close, an error, stray bytes) ends it.
    socket.on('data', drop);
    socket.on('end', drop);
    socket.on('error', drop);
    socket.on('close', drop);
    socket.unref();
    this.idle.push(entry);
  }

  private unwatch(entry: Idle): void {
    clearTimeout(entry.timer);
    const s = entry.socket;
    s.off('data', entry.drop);
    s.off('end', entry.drop);
    s.off('error', entry.drop);
    s.off('close', entry.drop);
  }

  /** @internal a sink's exception, from one of this backend's connections */
  sinkThrew(thrown: unknown): void {
    this.sinkErrors++;
    const text = thrown instanceof Error ? thrown.message : String(thrown);
    this.options.onError?.(new BatonError('BATON_ERR_BACKEND_SINK_THREW', `a backend sink threw: ${text}`, { cause: thrown }));
  }
}
