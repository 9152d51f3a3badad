// The embedded content server: a small HTTP/1.1 origin (node:http) for `baton demo` and for tests
// that need a backend without nginx. It serves what the wedge relies on from nginx, and no more:
//
//   GET/HEAD /object-<N>.bin   a generated object of N bytes (deterministic, never held in memory)
//   GET/HEAD /test.bin         the named test object (generated, `testObjectBytes` long)
//   GET/HEAD <path>            an object put() there (bytes, or a generated object of another seed)
//
// Every answer carries a strong ETag and Last-Modified that depend only on the object's content,
// so replicas on different wedges agree on the validator (If-Range works across servers), plus
// Content-Length and Accept-Ranges. A single range (`bytes=N-`, `bytes=N-M`, `bytes=-K`) gives
// 206 with Content-Range, or 416 when unsatisfiable; If-Range with another validator gives the whole
// object (200). Other paths 404, other methods 405. Connections are kept alive. An optional rate
// (bytes/s per response) makes a demo download last long enough to kill a server mid-stream;
// put() replaces an object mid-run (new ETag) for the "object changed mid-stream" case.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, pipeline } from 'node:stream';

/** The named test object's path. */
export const TEST_OBJECT_PATH = '/test.bin';

/** The path of the generated object of `length` bytes. */
export function generatedObjectPath(length: number): string {
  return `/object-${length}.bin`;
}

/** Byte `i` of the generated object with `seed`: a 32-bit mix of its index, so no short period. */
function generatedByte(i: number, seed: number): number {
  let x = (i ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return (x ^ (x >>> 16)) & 0xff;
}

/** Bytes [start, end) of the generated object with `seed` (the same for any object length). */
export function generatedBytes(start: number, end: number, seed = 0): Uint8Array {
  const out = new Uint8Array(Math.max(0, end - start));
  for (let i = 0; i < out.length; i++) out[i] = generatedByte(start + i, seed);
  return out;
}

/** sha256 (hex) of the whole generated object of `length` bytes, for checking a download. */
export function generatedSha256(length: number, seed = 0): string {
  const hash = createHash('sha256');
  for (let at = 0; at < length; at += 1 << 20) hash.update(generatedBytes(at, Math.min(length, at + (1 << 20)), seed));
  return hash.digest('hex');
}

/** What put() takes: literal bytes, or a generated object (content from `seed`, `length` long). */
export type ObjectContent = Uint8Array | { readonly length: number; readonly seed: number };

/** An object as served. */
export interface ObjectInfo {
  readonly path: string;
  readonly length: number;
  /** Strong ETag, with its quotes. */
  readonly etag: string;
  /** HTTP date. */
  readonly lastModified: string;
}

interface StoredObject extends ObjectInfo {
  readonly bytes: Uint8Array | undefined;
  readonly seed: number;
}

export interface ContentServerOptions {
  /** Default 127.0.0.1. */
  readonly address?: string;
  /** Default 0 (a free port). */
  readonly port?: number;
  /** Length of /test.bin; default 16 MiB. */
  readonly testObjectBytes?: number;
  /** Largest /object-<N>.bin served; default 4 GiB - 1. */
  readonly maxGeneratedBytes?: number;
  /** Pace every response body at this many bytes per second; default unlimited. */
  readonly rateBytesPerSec?: number;
  /** Objects to serve besides the generated ones. */
  readonly objects?: Readonly<Record<string, ObjectContent>>;
}

/** Fixed validator date of the generated objects: the same on every replica and every run. */
const GENERATED_DATE = new Date(Date.UTC(2001, 2, 26, 12, 0, 0));
const CHUNK = 64 * 1024;

function parseRange(header: string | undefined, length: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  // Several ranges, another unit, or garbage: RFC 9110 lets a server ignore Range and send 200.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, length - suffix), end: length - 1 };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return undefined; // invalid: ignored
  if (start >= length) return 'unsatisfiable';
  const end = m[2] === '' ? length - 1 : Number(m[2]);
  return { start, end: Math.min(end, length - 1) };
}

export class ContentServer {
  /** Bytes per second per response body; undefined = as fast as the client reads. Changeable. */
  rateBytesPerSec: number | undefined;
  /** Requests answered (any status) and connections accepted, for tests. */
  readonly stats = { requests: 0, connections: 0 };
  private readonly objects = new Map<string, StoredObject>();
  private readonly testObjectBytes: number;
  private readonly maxGeneratedBytes: number;
  private lastPutSecond = 0;

  private constructor(
    private readonly server: http.Server,
    options: ContentServerOptions,
  ) {
    this.rateBytesPerSec = options.rateBytesPerSec;
    this.testObjectBytes = options.testObjectBytes ?? 16 << 20;
    this.maxGeneratedBytes = options.maxGeneratedBytes ?? 2 ** 32 - 1;
    for (const [path, content] of Object.entries(options.objects ?? {})) this.put(path, content);
    server.on('request', (req, res) => this.answer(req, res));
    server.on('connection', () => this.stats.connections++);
  }

  /** Start listening; resolves once bound (port 0 picks a free port). */
  static start(options: ContentServerOptions = {}): Promise<ContentServer> {
    const server = http.createServer({ keepAlive: true, requireHostHeader: false });
    server.keepAliveTimeout = 60_000;
    const content = new ContentServer(server, options);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.address ?? '127.0.0.1', port: options.port ?? 0 }, () => {
        server.off('error', reject);
        resolve(content);
      });
    });
  }

  get address(): string {
    return (this.server.address() as AddressInfo).address;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://ADDRESS:PORT`, what the daemon's --backend takes. */
  get url(): string {
    return `http://${this.address.includes(':') ? `[${this.address}]` : this.address}:${this.port}`;
  }

  /**
   * Serve `content` at `path`, replacing what was there (also a generated object). Bytes get an
   * ETag from their hash and Last-Modified now (strictly after the previous put's); a generated
   * object keeps the fixed date and an ETag from its length and seed.
   */
  put(path: string, content: ObjectContent): ObjectInfo {
    if (!path.startsWith('/')) throw new RangeError(`an object path starts with /: "${path}"`);
    let stored: StoredObject;
    if (content instanceof Uint8Array) {
      const second = Math.max(Math.floor(Date.now() / 1000), this.lastPutSecond + 1);
      this.lastPutSecond = second;
      const digest = createHash('sha256').update(content).digest('hex').slice(0, 20);
      stored = { path, length: content.length, etag: `"${digest}-${content.length.toString(16)}"`, lastModified: new Date(second * 1000).toUTCString(), bytes: content, seed: 0 };
    } else {
      stored = { path, length: content.length, etag: `"gen-${content.seed.toString(16)}-${content.length.toString(16)}"`, lastModified: GENERATED_DATE.toUTCString(), bytes: undefined, seed: content.seed };
    }
    this.objects.set(path, stored);
    return this.info(path)!;
  }

  /** What `path` serves now, or undefined for a 404. */
  info(path: string): ObjectInfo | undefined {
    const o = this.lookup(path);
    return o && { path: o.path, length: o.length, etag: o.etag, lastModified: o.lastModified };
  }

  /** Stop listening and drop every connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private lookup(path: string): StoredObject | undefined {
    const put = this.objects.get(path);
    if (put) return put;
    if (path === TEST_OBJECT_PATH) return this.generated(path, this.testObjectBytes);
    const m = /^\/object-(\d{1,10})\.bin$/.exec(path);
    if (m && Number(m[1]) <= this.maxGeneratedBytes) return this.generated(path, Number(m[1]));
    return undefined;
  }

  private generated(path: string, length: number): StoredObject {
    return { path, length, etag: `"gen-0-${length.toString(16)}"`, lastModified: GENERATED_DATE.toUTCString(), bytes: undefined, seed: 0 };
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.stats.requests++;
    req.resume(); // a request body, if any, is not ours to read
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 }).end();
      return;
    }
    const o = this.lookup(path);
    if (o === undefined) {
      const text = `no object at ${path}\n`;
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) }).end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    const common = { ETag: o.etag, 'Last-Modified': o.lastModified, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
    const ifRange = req.headers['if-range'];
    const rangeApplies = ifRange === undefined || ifRange === o.etag || ifRange === o.lastModified;
    const range = rangeApplies ? parseRange(req.headers.range, o.length) : undefined;
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...common, 'Content-Range': `bytes */${o.length}`, 'Content-Length': 0 }).end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? o.length - 1;
    const length = end - start + 1;
    if (range) res.writeHead(206, { ...common, 'Content-Range': `bytes ${start}-${end}/${o.length}`, 'Content-Length': length });
    else res.writeHead(200, { ...common, 'Content-Length': o.length });
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    // pipeline: backpressure from the client's socket, and the generator stops if the client goes.
    pipeline(Readable.from(this.body(o, start, end + 1)), res, () => {});
  }

  private async *body(o: StoredObject, start: number, end: number): AsyncGenerator<Uint8Array> {
    // Pacing: each chunk is due size/rate after the previous one (or now, after a stall), so a
    // rate changed mid-response applies from the next chunk.
    let due = Date.now();
    for (let at = start; at < end; ) {
      const rate = this.rateBytesPerSec;
      const size = Math.min(end - at, rate === undefined ? CHUNK : Math.max(1, Math.min(CHUNK, Math.floor(rate / 20))));
      if (rate !== undefined) {
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        due = Math.max(due, Date.now()) + (size / rate) * 1000;
      }
      yield o.bytes ? o.bytes.subarray(at, at + size) : generatedBytes(at, at + size, o.seed);
      at += size;
    }
  }
}
