// batonFetch: an HTTP/1.1 GET over one baton connection (the library's connect(), server choice
// from src/client/dial.ts), for programs that want a download to survive failovers without the
// `baton connect` shim. The response head is read with the wedge's parser (ResponseHeadParser) and
// the body delimited with its BodyTracker; the body is streamed as a Readable with backpressure
// down to the transport's receive window.
//
// It reports progress (bytes, total from Content-Length) and every failover the connection lived
// through: the socket's 'taken-over' event gives the new server and the takeover number; the stall
// is the time from the last body byte before the takeover to the first byte after it, on the
// runtime's clock (virtual time in the simulator).
//
// A download that is not complete is never made to look complete: it fails with a FetchError whose
// code says why (refused, aborted, bad status, truncated, unusable response, cancelled).
import { Readable } from 'node:stream';
import { udpRuntime, type TuningOptions } from '../api.js';
import type { TakenOverEvent, TransportSocket } from '../node/socket.js';
import type { UdpAddress } from '../transport-abstraction/address.js';
import { BatonError, LocalUsageError } from '../transport-abstraction/errors.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import { BodyTracker } from '../wedge/http-body.js';
import { bodyFraming, ResponseHeadParser, type ResponseHead } from '../wedge/http-response.js';
import { describeError, dial, DialError, parseServerList } from './dial.js';

export type FetchErrorCode =
  | 'BATON_ERR_FETCH_REFUSED' // no server of the list accepted the connection
  | 'BATON_ERR_FETCH_ABORTED' // the connection failed (aborted, timed out) before the body was complete
  | 'BATON_ERR_FETCH_STATUS' // the response's status is not 2xx
  | 'BATON_ERR_FETCH_TRUNCATED' // the connection closed cleanly before the head or the whole body
  | 'BATON_ERR_FETCH_PROTOCOL' // the response is not usable HTTP/1.1 (or chunked, which is not supported)
  | 'BATON_ERR_FETCH_CANCELLED'; // the caller's signal aborted the fetch

export class FetchError extends BatonError {
  declare readonly code: FetchErrorCode;
  constructor(
    code: FetchErrorCode,
    message: string,
    /** Body bytes received before the failure. */
    readonly received: number,
    /** The response's status, when the head arrived. */
    readonly status?: number,
    cause?: unknown,
  ) {
    super(code, message, cause === undefined ? undefined : { cause });
  }
}

export interface FetchProgress {
  /** Body bytes received so far. */
  readonly received: number;
  /** Content-Length, or undefined when the body runs until the connection closes. */
  readonly total: number | undefined;
  /** Since the request was sent, on the runtime's clock. */
  readonly elapsedMs: number;
}

/** A failover the connection lived through. */
export interface Failover {
  /** The server that took the connection over. */
  readonly server: UdpAddress;
  /** Its takeover (request) number. */
  readonly takeover: number;
  /** Body bytes received when it was taken over. */
  readonly atByte: number;
  /** Last body byte before the takeover to first byte after it; undefined if none came after. */
  readonly stallMs: number | undefined;
}

export interface FetchOptions extends TuningOptions {
  /** The pool: "ADDR[:UDPPORT],..." or a list of them or of addresses; tried in order, each once. */
  readonly servers: string | ReadonlyArray<string | UdpAddress>;
  readonly transport: TransportKind;
  /** The SCTP/TCP port inside UDP the servers listen on (default: the kind's UDP port). */
  readonly port?: number;
  /** Local IP address (default 127.0.0.1 for a loopback server, else any). */
  readonly localAddress?: string;
  /** Try the next server when one has not completed the handshake after this long (default 3000 ms). */
  readonly connectTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Extra request header fields. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Called as body bytes arrive. */
  readonly onProgress?: (progress: FetchProgress) => void;
  /** Called once per failover, when its stall is known (the first byte after it, or the end). */
  readonly onFailover?: (failover: Failover) => void;
  /** Called for each server that failed the initial connection, before the next is tried. */
  readonly onServerFailed?: (server: UdpAddress, error: Error) => void;
}

export interface FetchSummary {
  readonly received: number;
  readonly total: number | undefined;
  readonly failovers: readonly Failover[];
  readonly elapsedMs: number;
}

export interface FetchResponse {
  /** The server the connection was opened to. */
  readonly server: UdpAddress;
  readonly status: number;
  readonly head: ResponseHead;
  /** Content-Length, or undefined when the body runs until the connection closes. */
  readonly total: number | undefined;
  /** The body; it fails with the FetchError when the download does not complete. */
  readonly body: Readable;
  /** Resolves when the whole body was received; rejects with the same FetchError as the body. */
  readonly finished: Promise<FetchSummary>;
  /** Where the time to the head went, on the runtime's clock (ms). */
  readonly timing: FetchTiming;
}

/** The phases of a fetch up to its response head (ms, on the runtime's clock). */
export interface FetchTiming {
  /** From the call to the connection attempt that succeeded having its socket (UDP socket bound, endpoint made, first handshake packet sent). */
  readonly socketMs: number;
  /** From then to the handshake's completion (the request left with its last packet). */
  readonly handshakeMs: number;
  /** From then to the response head. */
  readonly headMs: number;
}

/** Grace for the server's part of the closing handshake before the connection is aborted. */
const CLOSE_GRACE_MS = 2000;

/** The request's bytes for `url` (GET, Host from the URL, Connection: close). */
export function requestFor(url: URL, headers: Readonly<Record<string, string>> = {}): string {
  const fields: Record<string, string> = { Host: url.host, 'User-Agent': 'baton-fetch/0.1', Accept: '*/*', Connection: 'close', ...headers };
  return `GET ${url.pathname}${url.search} HTTP/1.1\r\n${Object.entries(fields).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

/**
 * GET `url` from the first server of `options.servers` that accepts; resolves once a 2xx head
 * arrived. Throws LocalUsageError for a URL that is not http:, or a bad server list.
 */
export async function batonFetch(url: string | URL, options: FetchOptions): Promise<FetchResponse> {
  const target = typeof url === 'string' ? parseUrl(url) : url;
  if (target.protocol !== 'http:') throw new LocalUsageError(`only http: URLs can be fetched, not "${target.protocol}"`);
  const servers = typeof options.servers === 'string' ? parseServerList(options.servers, options.transport) : options.servers.map((s) => (typeof s === 'string' ? parseServerList(s, options.transport)[0]! : s));
  if (servers.length === 0) throw new LocalUsageError('batonFetch needs at least one server');
  const runtime = options.runtime ?? udpRuntime();
  const calledAt = runtime.now();
  let socketAt = calledAt;
  if (options.signal?.aborted) throw new FetchError('BATON_ERR_FETCH_CANCELLED', 'cancelled before the connection was opened', 0);
  let opened: { socket: TransportSocket; server: UdpAddress };
  const request = requestFor(target, options.headers);
  try {
    opened = await dial(servers, {
      transport: options.transport,
      runtime,
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.rtoMin !== undefined ? { rtoMin: options.rtoMin } : {}),
      ...(options.keepaliveMs !== undefined ? { keepaliveMs: options.keepaliveMs } : {}),
      ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      onFailure: (server, error) => options.onServerFailed?.(server, error),
      // The request goes with the handshake's end (a GET can be sent to a server that then fails).
      onAttempt: (socket) => {
        socketAt = runtime.now();
        socket.write(request);
      },
    });
  } catch (error) {
    if (options.signal?.aborted) throw new FetchError('BATON_ERR_FETCH_CANCELLED', 'cancelled while connecting', 0, undefined, error);
    throw new FetchError('BATON_ERR_FETCH_REFUSED', error instanceof DialError ? error.message : describeError(error), 0, undefined, error);
  }
  const timing = { socketMs: socketAt - calledAt, handshakeMs: runtime.now() - socketAt };
  return new Download(opened.socket, opened.server, options, runtime.now.bind(runtime), (ms, fn) => runtime.setTimer(runtime.now() + ms, fn), timing).response;
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new LocalUsageError(`not a URL: "${text}"`);
  }
}

/** One request and its response on one connection. */
class Download {
  readonly response: Promise<FetchResponse>;
  private resolveHead!: (r: FetchResponse) => void;
  private rejectHead!: (e: FetchError) => void;
  private resolveFinished!: (s: FetchSummary) => void;
  private rejectFinished!: (e: FetchError) => void;
  private readonly finished: Promise<FetchSummary>;
  private readonly body: Readable;
  private parser = new ResponseHeadParser();
  private head: ResponseHead | undefined;
  private tracker: BodyTracker | undefined;
  private received = 0;
  private readonly started: number;
  private lastByteAt: number;
  private readonly failovers: Failover[] = [];
  private pending: Array<{ server: UdpAddress; takeover: number; atByte: number; lastByteAt: number }> = [];
  private over = false;

  constructor(
    private readonly socket: TransportSocket,
    private readonly server: UdpAddress,
    private readonly options: FetchOptions,
    private readonly now: () => number,
    private readonly later: (ms: number, fn: () => void) => { cancel(): void },
    private readonly timing: Omit<FetchTiming, 'headMs'>,
  ) {
    this.started = now();
    this.lastByteAt = this.started;
    this.response = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    this.finished = new Promise((resolve, reject) => {
      this.resolveFinished = resolve;
      this.rejectFinished = reject;
    });
    this.finished.catch(() => {}); // the caller may watch only the body; the rejection is theirs to see
    this.body = new Readable({ read: () => socket.resume() });
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    socket.on('end', () => this.end());
    socket.on('error', (error: Error) => this.fail('BATON_ERR_FETCH_ABORTED', `the connection failed after ${this.where()}: ${describeError(error)}`, error));
    socket.on('close', () => this.fail('BATON_ERR_FETCH_TRUNCATED', `the connection closed after ${this.where()}`));
    socket.on('taken-over', (ev: TakenOverEvent) => this.pending.push({ server: ev.peer, takeover: ev.requestNumber, atByte: this.received, lastByteAt: this.lastByteAt }));
    const signal = options.signal;
    if (signal) {
      const onAbort = () => this.fail('BATON_ERR_FETCH_CANCELLED', `cancelled after ${this.where()}`);
      signal.addEventListener('abort', onAbort, { once: true });
      this.finished.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => {});
    }
  }

  private where(): string {
    if (this.head === undefined) return 'the request, before the response head';
    const total = this.head.contentLength;
    return `${this.received}${total !== undefined && this.tracker?.framing === 'length' ? ` of ${total}` : ''} body bytes`;
  }

  private data(chunk: Uint8Array): void {
    if (this.over) return;
    if (this.head === undefined) {
      const r = this.parser.push(chunk);
      if (r.kind === 'more') return;
      if (r.kind === 'error') return this.fail('BATON_ERR_FETCH_PROTOCOL', `unusable response: ${r.error.message}`, r.error);
      if (r.head.status >= 100 && r.head.status < 200) {
        this.parser = new ResponseHeadParser(); // an interim response: the real one follows
        if (r.rest.length > 0) this.data(r.rest);
        return;
      }
      this.head = r.head;
      if (r.head.status < 200 || r.head.status > 299) {
        return this.fail('BATON_ERR_FETCH_STATUS', `the server answered ${r.head.status}${r.head.reason ? ` ${r.head.reason}` : ''}`, undefined, r.head.status);
      }
      const framing = bodyFraming(r.head, 'GET');
      if (framing === 'chunked') return this.fail('BATON_ERR_FETCH_PROTOCOL', 'a chunked response body is not supported', undefined, r.head.status);
      this.tracker = new BodyTracker(framing, r.head.contentLength ?? 0);
      this.resolveHead({ server: this.server, status: r.head.status, head: r.head, total: framing === 'length' ? r.head.contentLength : framing === 'none' ? 0 : undefined, body: this.body, finished: this.finished, timing: { ...this.timing, headMs: this.now() - this.started } });
      this.bodyBytes(r.rest);
      if (this.tracker.done) this.complete();
      return;
    }
    this.bodyBytes(chunk);
  }

  private bodyBytes(piece: Uint8Array): void {
    if (piece.length === 0 || this.over) return;
    const r = this.tracker!.push(piece);
    if ('error' in r) return this.fail('BATON_ERR_FETCH_PROTOCOL', r.error.message, r.error);
    if (r.used > 0) {
      const now = this.now();
      this.received += r.used;
      this.lastByteAt = now;
      this.settleFailovers(now);
      if (!this.body.push(piece.subarray(0, r.used))) this.socket.pause();
      this.options.onProgress?.({ received: this.received, total: this.head!.contentLength, elapsedMs: now - this.started });
    }
    if (r.done) this.complete();
  }

  /** Failovers waiting for their first byte after: `at` is that byte's time (undefined: none came). */
  private settleFailovers(at: number | undefined): void {
    for (const p of this.pending) {
      const f: Failover = { server: p.server, takeover: p.takeover, atByte: p.atByte, stallMs: at === undefined ? undefined : at - p.lastByteAt };
      this.failovers.push(f);
      this.options.onFailover?.(f);
    }
    this.pending = [];
  }

  private end(): void {
    if (this.over || this.tracker === undefined) return; // no head yet: 'close' reports it
    const r = this.tracker.end();
    if ('error' in r) return this.fail('BATON_ERR_FETCH_TRUNCATED', `the connection closed after ${this.where()}`);
    this.complete();
  }

  private complete(): void {
    if (this.over) return;
    this.over = true;
    this.settleFailovers(undefined);
    this.body.push(null);
    this.resolveFinished({ received: this.received, total: this.head?.contentLength, failovers: this.failovers, elapsedMs: this.now() - this.started });
    // Our side closes once the caller had the body's end (the close is housekeeping, not part of
    // the download); a server that does not finish the closing handshake in time is aborted.
    this.later(0, () => {
      if (this.socket.destroyed) return;
      const timer = this.later(CLOSE_GRACE_MS, () => this.socket.destroy());
      this.socket.once('close', () => timer.cancel());
      this.socket.end();
    });
  }

  private fail(code: FetchErrorCode, message: string, cause?: unknown, status = this.head?.status): void {
    if (this.over) return;
    this.over = true;
    this.settleFailovers(undefined);
    const error = new FetchError(code, message, this.received, status, cause);
    if (!this.socket.destroyed) this.socket.destroy();
    if (this.tracker === undefined) this.rejectHead(error);
    else this.body.destroy(error);
    this.rejectFinished(error);
  }
}
