// The wedge's content server over a real TCP connection (node:net): the daemon's `--backend
// http://HOST:PORT`, usually nginx. A byte pipe, nothing more: the wedge writes the request bytes
// its mapper built and parses the response itself (src/wedge/content.ts).
//
// Backpressure is the socket's own: pause() stops the socket's 'data' events, Node stops reading
// from the kernel once the socket's readable buffer is full (one highWaterMark), the kernel's
// receive window closes and the backend stalls. A paused connection holds at most a few tens of KB
// in this process, never the object.
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

/** One TCP connection to the backend. */
export class TcpBackendConnection implements BackendConnection {
  private readonly socket: net.Socket;
  private connectTimer: NodeJS.Timeout | undefined;
  /** No sink call follows once this is set (closed by us, ended, or failed). */
  private finished = false;
  private closed = false;

  constructor(
    private readonly backend: TcpBackend,
    private readonly sink: BackendSink,
  ) {
    const { host, port } = backend.address;
    const socket = net.connect({ host, port, ...(backend.options.localAddress ? { localAddress: backend.options.localAddress } : {}) });
    this.socket = socket;
    socket.setNoDelay(true);
    this.connectTimer = setTimeout(() => {
      this.fail(new BackendError('BATON_ERR_BACKEND_TIMEOUT', `backend ${host}:${port}: no connection within ${backend.connectTimeoutMs} ms`));
    }, backend.connectTimeoutMs);
    socket.once('connect', () => this.clearConnectTimer());
    socket.on('data', (chunk: Buffer) => this.deliver(() => this.sink.data(chunk)));
    socket.once('end', () => {
      if (this.finished) return;
      this.finished = true;
      this.deliver(() => this.sink.end());
    });
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(classify(error, `${host}:${port}`)));
    socket.once('close', () => {
      this.clearConnectTimer();
      // A close with neither 'end' nor 'error' (the peer vanished mid-handshake) is still a failure.
      if (!this.finished) this.fail(new BackendError('BATON_ERR_BACKEND_RESET', `backend ${host}:${port}: connection closed without an end`));
    });
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

export class TcpBackend implements ContentBackend {
  readonly address: BackendAddress;
  readonly connectTimeoutMs: number;
  /** Exceptions sinks threw (each closed its connection). */
  sinkErrors = 0;

  /** `backend` is `http://HOST[:PORT]` or an address already parsed. */
  constructor(
    backend: string | BackendAddress,
    readonly options: TcpBackendOptions = {},
  ) {
    this.address = typeof backend === 'string' ? parseBackendUrl(backend) : backend;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  }

  open(sink: BackendSink): TcpBackendConnection {
    return new TcpBackendConnection(this, sink);
  }

  /** @internal a sink's exception, from one of this backend's connections */
  sinkThrew(thrown: unknown): void {
    this.sinkErrors++;
    const text = thrown instanceof Error ? thrown.message : String(thrown);
    this.options.onError?.(new BatonError('BATON_ERR_BACKEND_SINK_THREW', `a backend sink threw: ${text}`, { cause: thrown }));
  }
}
