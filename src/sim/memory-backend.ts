// The wedge's content server in the simulator: an in-memory HTTP/1.1 origin behind the
// ContentBackend seam (src/wedge/content.ts), answering in virtual time through the Runtime's
// setTimer. It serves what the wedge relies on from nginx and no more: objects by path with a strong
// ETag and Last-Modified, `Range: bytes=N-` (and N-M) -> 206 with Content-Range, If-Range, 200, 404,
// 416, HEAD, and sequential or pipelined requests on one kept-alive connection (answered in order;
// `Connection: close` ends the connection after its answer).
//
// Timing: a response becomes available `delayMs` after its request was written, and is delivered in
// chunks of `chunkBytes`, at most `rateBytesPerSec` (unlimited: every available chunk in one go).
// pause() stops delivery at once, between chunks; resume() continues in a fresh timer callback. No
// sink call ever happens inside write(), pause(), resume() or close().
//
// put() replaces an object mid-run with a new ETag; a response already being delivered keeps the
// bytes it started with (as nginx keeps sending an open file that was replaced). setDown(true)
// resets every open connection and refuses new ones, for "the backend died" cases.
//
// Without virtual time, connection() is the same server as a plain function of bytes: request
// bytes in, the complete responses out at once (the mapper's tests drive it so). Options make it
// misbehave or differ from nginx: chunked transfer coding, Range answered whatever If-Range says,
// Connection: close after every response.
//
// The request parsing here is deliberately small and private (parseRequestHead below): it stands for
// the origin, which answers what nginx answers (405 for other methods, HTTP/1.1 without Host
// served), where the wedge's own parser (src/wedge/http-request.ts) refuses with 501 / 400.
import { createHash } from 'node:crypto';
import { BatonError, LocalUsageError } from '../transport-abstraction/errors.js';
import type { Runtime, RuntimeTimer } from '../transport-abstraction/runtime.js';
import type { BackendConnection, BackendSink, ContentBackend } from '../wedge/content.js';

export interface MemoryObjectInfo {
  readonly path: string;
  readonly length: number;
  /** Strong ETag, with its quotes. */
  readonly etag: string;
  /** HTTP date. */
  readonly lastModified: string;
}

interface MemoryObject extends MemoryObjectInfo {
  readonly bytes: Uint8Array;
}

export interface MemoryBackendOptions {
  /** Only now() and setTimer() are used; without one only connection() (no virtual time) serves. */
  readonly runtime?: Pick<Runtime, 'now' | 'setTimer'>;
  /** Virtual ms from a request (or a connection attempt) to its first response byte; default 1. */
  readonly delayMs?: number;
  /** Delivery rate per connection in bytes per virtual second; default unlimited. */
  readonly rateBytesPerSec?: number;
  /** Bytes per sink.data() call; default 16 KiB. */
  readonly chunkBytes?: number;
  /** Largest request head accepted (else 431 and close); default 16 KiB. */
  readonly maxHeadBytes?: number;
  /** Send bodies with chunked transfer coding and no Content-Length (not resumable by the wedge). */
  readonly chunked?: boolean;
  /** Answer a Range even when If-Range does not match (a broken server). */
  readonly ignoreIfRange?: boolean;
  /** Close after every response (Connection: close). */
  readonly close?: boolean;
  /**
   * Answer a GET or HEAD of these paths with exactly these bytes, then close: an origin that
   * misbehaves (a malformed status line, an upgrade, no answer at all for an empty array).
   */
  readonly raw?: ReadonlyMap<string, Uint8Array>;
}

/** Virtual time 0 as a date, so Last-Modified is deterministic. */
const EPOCH_MS = Date.UTC(2001, 2, 26, 12, 0, 0);

export class MemoryBackend implements ContentBackend {
  private readonly clock: Pick<Runtime, 'now' | 'setTimer'> | undefined;
  readonly options: Omit<MemoryBackendOptions, 'runtime'>;
  delayMs: number;
  rateBytesPerSec: number | undefined;
  readonly chunkBytes: number;
  readonly maxHeadBytes: number;
  /** Connections opened and requests answered, for tests. */
  readonly stats = { connections: 0, requests: 0 };
  private readonly objects = new Map<string, MemoryObject>();
  private readonly lastModifiedSecond = new Map<string, number>();
  private readonly open_ = new Set<MemoryBackendConnection>();
  private down = false;

  constructor(options: MemoryBackendOptions = {}) {
    const { runtime, ...rest } = options;
    this.clock = runtime;
    this.options = rest;
    this.delayMs = options.delayMs ?? 1;
    this.rateBytesPerSec = options.rateBytesPerSec;
    this.chunkBytes = options.chunkBytes ?? 16 * 1024;
    this.maxHeadBytes = options.maxHeadBytes ?? 16 * 1024;
  }

  /**
   * Serve `bytes` at `path`, replacing what was there. The ETag comes from the content (two
   * backends holding the same bytes agree, as replicas must); Last-Modified is the virtual time,
   * strictly later than the previous version's.
   */
  put(path: string, bytes: Uint8Array, validators: { etag?: string; lastModified?: string } = {}): MemoryObjectInfo {
    const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 20);
    const second = Math.max(Math.floor((this.clock?.now() ?? 0) / 1000), (this.lastModifiedSecond.get(path) ?? -1) + 1);
    this.lastModifiedSecond.set(path, second);
    const object: MemoryObject = {
      path,
      length: bytes.length,
      etag: validators.etag ?? `"${digest}-${bytes.length.toString(16)}"`,
      lastModified: validators.lastModified ?? new Date(EPOCH_MS + second * 1000).toUTCString(),
      bytes,
    };
    this.objects.set(path, object);
    return this.info(path)!;
  }

  remove(path: string): void {
    this.objects.delete(path);
  }

  info(path: string): MemoryObjectInfo | undefined {
    const o = this.objects.get(path);
    return o && { path: o.path, length: o.length, etag: o.etag, lastModified: o.lastModified };
  }

  /** @internal the object a request names, at the moment it is answered */
  lookup(path: string): MemoryObject | undefined {
    return this.objects.get(path);
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.open_.size;
  }

  /**
   * down = true: every open connection fails with BATON_ERR_BACKEND_RESET and new ones with
   * BATON_ERR_BACKEND_REFUSED (after delayMs), until setDown(false).
   */
  setDown(down: boolean): void {
    this.down = down;
    if (down) for (const c of [...this.open_]) c.fail('BATON_ERR_BACKEND_RESET', 'the in-memory backend went down');
  }

  /** The runtime virtual-time delivery runs on (open() needs one). */
  get runtime(): Pick<Runtime, 'now' | 'setTimer'> {
    if (this.clock === undefined) throw new LocalUsageError('MemoryBackend.open() answers in virtual time: give the backend a runtime, or use connection()');
    return this.clock;
  }

  /** A connection without virtual time: handleBytes(request bytes) returns the complete responses at once. */
  connection(): MemoryExchange {
    this.stats.connections++;
    return new MemoryExchange(this);
  }

  open(sink: BackendSink): MemoryBackendConnection {
    void this.runtime;
    this.stats.connections++;
    const conn = new MemoryBackendConnection(this, sink);
    if (this.down) conn.fail('BATON_ERR_BACKEND_REFUSED', 'the in-memory backend is down', this.delayMs);
    else this.open_.add(conn);
    return conn;
  }

  /** @internal */
  forget(conn: MemoryBackendConnection): void {
    this.open_.delete(conn);
  }
}

/** A response waiting to be delivered: its bytes, from when, and whether the connection ends after. */
interface Outgoing {
  readonly parts: Uint8Array[];
  readonly availableAt: number;
  readonly close: boolean;
}

/** The request side of one connection: bytes in, the response to every complete request out, in order. */
class Requests {
  private input = new Uint8Array(0);
  /** No more requests are read (a Connection: close or a malformed request was seen). */
  closing = false;

  constructor(private readonly backend: MemoryBackend) {}

  push(bytes: Uint8Array): Response[] {
    if (this.closing) return [];
    const joined = new Uint8Array(this.input.length + bytes.length);
    joined.set(this.input);
    joined.set(bytes, this.input.length);
    this.input = joined;
    const out: Response[] = [];
    while (!this.closing) {
      const end = indexOfHeadEnd(this.input);
      if (end < 0) {
        if (this.input.length > this.backend.maxHeadBytes) this.add(out, status(431, 'Request Header Fields Too Large', true));
        break;
      }
      const text = new TextDecoder('latin1').decode(this.input.subarray(0, end));
      this.input = this.input.subarray(end + 4);
      const request = parseRequestHead(text);
      this.add(out, request === undefined ? status(400, 'Bad Request', true) : answer(this.backend, request));
    }
    return out;
  }

  private add(out: Response[], response: Response): void {
    out.push(response);
    if (response.close) {
      this.closing = true;
      this.input = new Uint8Array(0);
    }
  }
}

/** One connection without virtual time (MemoryBackend.connection()). */
export class MemoryExchange {
  private readonly requests: Requests;
  constructor(backend: MemoryBackend) {
    this.requests = new Requests(backend);
  }

  /** The complete responses to the requests `bytes` completes, concatenated. */
  handleBytes(bytes: Uint8Array): Uint8Array {
    return Buffer.concat(this.requests.push(bytes).flatMap((r) => r.parts));
  }

  /** Set after a response that closes the connection: no more requests are read. */
  get closed(): boolean {
    return this.requests.closing;
  }
}

export class MemoryBackendConnection implements BackendConnection {
  private readonly requests: Requests;
  private readonly queue: Outgoing[] = [];
  /** Offset into queue[0].parts[0] already delivered. */
  private offset = 0;
  private paused = false;
  private finished = false;
  private closedByCaller = false;
  private timer: RuntimeTimer | undefined;
  private nextChunkAt = 0;

  constructor(
    private readonly backend: MemoryBackend,
    private readonly sink: BackendSink,
  ) {
    this.requests = new Requests(backend);
  }

  write(bytes: Uint8Array): void {
    if (this.finished) return;
    const at = this.backend.runtime.now() + this.backend.delayMs;
    for (const r of this.requests.push(bytes)) this.queue.push({ parts: r.parts, availableAt: at, close: r.close });
    this.schedule();
  }

  pause(): void {
    this.paused = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.schedule();
  }

  close(): void {
    this.closedByCaller = true;
    this.finish();
  }

  /** @internal fail with a coded error after `delayMs` (0: in the next timer callback) */
  fail(code: string, message: string, delayMs = 0): void {
    if (this.finished) return;
    this.finish();
    const rt = this.backend.runtime;
    rt.setTimer(rt.now() + delayMs, () => {
      if (!this.closedByCaller) this.sink.error(new BatonError(code, message));
    });
  }

  private finish(): void {
    this.finished = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.queue.length = 0;
    this.backend.forget(this);
  }

  /** Arm the one delivery timer for the earliest moment something can be delivered. */
  private schedule(): void {
    if (this.finished || this.paused || this.timer !== undefined) return;
    const first = this.queue[0];
    if (first === undefined) return;
    const rt = this.backend.runtime;
    const at = Math.max(first.availableAt, this.nextChunkAt, rt.now());
    this.timer = rt.setTimer(at, () => {
      this.timer = undefined;
      this.deliver();
    });
  }

  private deliver(): void {
    const rt = this.backend.runtime;
    const rate = this.backend.rateBytesPerSec;
    while (!this.finished && !this.paused) {
      const first = this.queue[0];
      if (first === undefined || first.availableAt > rt.now()) break;
      const part = first.parts[0];
      if (part === undefined) {
        this.queue.shift();
        if (first.close) {
          this.finish();
          this.sink.end();
          return;
        }
        continue;
      }
      const chunk = part.subarray(this.offset, this.offset + this.backend.chunkBytes);
      this.offset += chunk.length;
      if (this.offset >= part.length) {
        first.parts.shift();
        this.offset = 0;
      }
      if (chunk.length > 0) this.sink.data(chunk);
      if (rate !== undefined) {
        this.nextChunkAt = rt.now() + (chunk.length / rate) * 1000;
        break;
      }
    }
    this.schedule();
  }
}

/** The response to one parsed request. */
function answer(backend: MemoryBackend, r: RequestHead): Response {
  backend.stats.requests++;
  const options = backend.options;
  const close = options.close === true || r.version !== 'HTTP/1.1' || /(^|,)\s*close\s*(,|$)/i.test(r.headers.get('connection') ?? '');
  // A request body is not supported (GET and HEAD carry none): 501, and the connection ends since
  // its framing is unknown from here on.
  if ((r.headers.get('content-length') ?? '0') !== '0' || r.headers.has('transfer-encoding')) return status(501, 'Not Implemented', true);
  if (r.method !== 'GET' && r.method !== 'HEAD') return status(405, 'Method Not Allowed', close, ['Allow: GET, HEAD']);
  const raw = options.raw?.get(r.target.split('?')[0]!);
  if (raw !== undefined) return { parts: raw.length > 0 ? [raw] : [], close: true };
  const o = backend.lookup(r.target.split('?')[0]!);
  if (o === undefined) return status(404, 'Not Found', close);
  const validators = [`ETag: ${o.etag}`, `Last-Modified: ${o.lastModified}`, 'Accept-Ranges: bytes'];
  const ifRange = r.headers.get('if-range');
  const rangeApplies = ifRange === undefined || options.ignoreIfRange === true || ifRangeMatches(ifRange, o);
  const range = rangeApplies ? parseRange(r.headers.get('range'), o.length) : undefined;
  if (range === 'unsatisfiable') return status(416, 'Range Not Satisfiable', close, [...validators, `Content-Range: bytes */${o.length}`]);
  const body = range ? o.bytes.subarray(range.start, range.end + 1) : o.bytes;
  const fields = range ? [...validators, `Content-Range: bytes ${range.start}-${range.end}/${o.length}`] : validators;
  const code = range ? 206 : 200;
  const reason = range ? 'Partial Content' : 'OK';
  if (options.chunked === true) {
    const head = encoder.encode([`HTTP/1.1 ${code} ${reason}`, ...fields, 'Transfer-Encoding: chunked', ...(close ? ['Connection: close'] : [])].join('\r\n') + '\r\n\r\n');
    return { parts: r.method === 'HEAD' ? [head] : [head, ...chunkedBody(body)], close };
  }
  const head = responseHead(code, reason, body.length, close, fields);
  return { parts: r.method === 'HEAD' || body.length === 0 ? [head] : [head, body], close };
}

/** If-Range (RFC 9110 §13.1.5): a strong ETag equal to the current one, or the exact Last-Modified date. */
function ifRangeMatches(value: string, o: MemoryObject): boolean {
  if (value.startsWith('"')) return !o.etag.startsWith('W/') && value === o.etag;
  return value === o.lastModified;
}

/** A body in chunked transfer coding, 1000-byte chunks, then the last chunk. */
function chunkedBody(body: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += 1000) {
    const piece = body.subarray(i, i + 1000);
    parts.push(encoder.encode(`${piece.length.toString(16)}\r\n`), piece, encoder.encode('\r\n'));
  }
  parts.push(encoder.encode('0\r\n\r\n'));
  return parts;
}

// ---- the small private HTTP/1.1 request parser (see the header comment) ----

interface RequestHead {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** Lower-case names; a repeated field keeps its last value. */
  readonly headers: Map<string, string>;
}

interface Response {
  readonly parts: Uint8Array[];
  readonly close: boolean;
}

function indexOfHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  }
  return -1;
}

function parseRequestHead(text: string): RequestHead | undefined {
  const [line, ...fields] = text.split('\r\n');
  const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(line ?? '');
  if (!m) return undefined;
  const headers = new Map<string, string>();
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon <= 0 || /\s/.test(field.slice(0, colon))) return undefined;
    headers.set(field.slice(0, colon).toLowerCase(), field.slice(colon + 1).trim());
  }
  return { method: m[1]!, target: m[2]!, version: m[3]!, headers };
}

function parseRange(header: string | undefined, length: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) return undefined; // other forms are ignored: the whole object (RFC 9110 allows it)
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= length) return 'unsatisfiable';
  return { start, end: m[2] === '' ? length - 1 : Math.min(Number(m[2]), length - 1) };
}

const encoder = new TextEncoder();

function responseHead(code: number, reason: string, contentLength: number, close: boolean, fields: readonly string[]): Uint8Array {
  const lines = [`HTTP/1.1 ${code} ${reason}`, ...fields, `Content-Length: ${contentLength}`, ...(close ? ['Connection: close'] : [])];
  return encoder.encode(lines.join('\r\n') + '\r\n\r\n');
}

function status(code: number, reason: string, close: boolean, fields: readonly string[] = []): Response {
  return { parts: [responseHead(code, reason, 0, close, fields)], close };
}
