// The HTTP/1.1 stream mapper (paper §4.1, with persistent connections as §4.1.2 sketches): watches
// the client's bytes for requests, one after another, relays each to the content server, counts the
// response head and records the connection's StreamMapping; relays the body while tracking where
// it ends. A taker's mapper (HttpMapperFactory.resume) first checks the content server's answer to
// its Range request and only then sends the client the rest of the original head and the body.
//
// States (every change goes through transition()):
//   request-head   waiting for the next request head from the client
//   response-head  request sent; waiting for the content server's response head
//   response-body  relaying the body
//   resume-head    taker: waiting for the answer to `Range`/`If-Range`
//   closed         a 'close' event was issued; nothing more happens
import type { BatonError } from '../transport-abstraction/errors.js';
import type { StreamMapping } from '../transport-abstraction/state-types.js';
import { BodyTracker } from './http-body.js';
import { errorResponse, RemoteProtocolError } from './http-errors.js';
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from './http-head-reader.js';
import { emitRequestHead, RequestHeadParser, type RequestHead } from './http-request.js';
import { bodyFraming, ResponseHeadParser, strongValidator, type ResponseHead } from './http-response.js';
import { checkResumeResponse, planResume, resumeContextOf, ResumeError, withResumeContext, type ResumePlan } from './http-resume.js';
import type { MapperEvent, StreamMapper, StreamMapperFactory } from './mapper.js';

/** The application_protocol of HTTP mappings. */
export const HTTP_PROTOCOL = 'http/1.1';

/** Options of the HTTP mapper. */
export interface HttpMapperOptions {
  /** Head limits for requests and responses; default DEFAULT_HEAD_LIMITS. */
  readonly limits?: HeadLimits;
  /** Most client bytes buffered behind an unfinished response (pipelined requests); default 64 KiB. */
  readonly maxPending?: number;
  /** Called on every state change, for tracing. */
  readonly trace?: (from: HttpMapperState, to: HttpMapperState, why: string) => void;
}

/** The HTTP mapper's states (see the file comment). */
export type HttpMapperState = 'request-head' | 'response-head' | 'response-body' | 'resume-head' | 'closed';

const EMPTY = new Uint8Array(0);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return new Uint8Array(b);
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** One response's mapping, kept until the client acknowledged its last byte. */
interface ResponseRecord {
  mapping: StreamMapping;
  /** Client stream offset just after its request. */
  readonly requestEnd: number;
  /** Server stream offset just after its last byte; Infinity while it is being relayed. */
  end: number;
}

/**
 * The request as the content server gets it. An HTTP/1.1 request that says `Connection: close`
 * goes without that field, so the content server keeps the connection open after its response and
 * the wedge can hand it back to its backend pool (ContentBackend release()): a client that opens a
 * connection per request no longer costs a TCP connection to the content server each time. The
 * client's connection still closes after the response (persistence toward the client follows the
 * client's own request), and the mapping records the client's request as it was.
 */
export function backendRequest(head: RequestHead): Uint8Array {
  if (head.keepAlive || head.version !== '1.1') return head.raw;
  const headers = head.headers.filter((h) => h.name.toLowerCase() !== 'connection');
  try {
    return emitRequestHead(head.method, head.target, headers, head.version);
  } catch {
    return head.raw; // a field the emitter refuses: relayed as the client sent it, never reused
  }
}

/** HTTP/1.1 StreamMapper; see the file comment. */
export class HttpMapper implements StreamMapper {
  readonly protocol = HTTP_PROTOCOL;
  private stateName: HttpMapperState = 'request-head';
  private readonly events: MapperEvent[] = [];
  private readonly limits: HeadLimits;
  private readonly maxPending: number;
  /** Client bytes not yet consumed (behind an unfinished response), and their stream offset. */
  private pending: Uint8Array = EMPTY;
  private clientOffset = 0;
  /** Server->client stream bytes handed out in 'to-client' events so far. */
  private serverOffset = 0;
  private requestParser: RequestHeadParser;
  private responseParser: ResponseHeadParser | undefined;
  private body: BodyTracker | undefined;
  private request: RequestHead | undefined;
  private response: ResponseHead | undefined;
  /** Responses the client may not hold entirely yet, oldest first; the last is the current one. */
  private readonly records: ResponseRecord[] = [];
  /** Every client byte from stream offset logStart on (the requests of the kept records and after). */
  private log: Uint8Array = EMPTY;
  private logStart = 0;
  private plan: Extract<ResumePlan, { kind: 'range' }> | undefined;
  private clientEnded = false;

  constructor(private readonly options: HttpMapperOptions = {}) {
    this.limits = options.limits ?? DEFAULT_HEAD_LIMITS;
    this.maxPending = options.maxPending ?? 64 * 1024;
    this.requestParser = new RequestHeadParser(this.limits);
  }

  /** The current state. */
  get state(): HttpMapperState {
    return this.stateName;
  }

  /** Server->client stream bytes emitted so far (the transport's stream offset, when fed in order). */
  get streamOffset(): number {
    return this.serverOffset;
  }

  /**
   * The mapping to announce. With `acked` (the client's acknowledged server->client stream offset,
   * TransportState.stream_bytes_acked) it is the oldest response the client does not hold entirely,
   * so a taker can finish it; the requests after it travel in resumeContext.pendingRequests. Records the client
   * acknowledged entirely are forgotten. Without `acked`, the newest response.
   */
  mapping(acked?: number): StreamMapping | undefined {
    if (acked !== undefined) {
      while (this.records.length > 1 && this.records[0]!.end <= acked) this.records.shift();
      const keepFrom = this.records[0]?.mapping.requestStreamOffset ?? this.logStart;
      if (keepFrom > this.logStart) {
        this.log = this.log.subarray(keepFrom - this.logStart);
        this.logStart = keepFrom;
      }
    }
    const r = acked === undefined ? this.records.at(-1) : (this.records.find((x) => x.end > acked) ?? this.records.at(-1));
    if (r === undefined) return this.log.length === 0 ? undefined : this.headSoFar();
    return withResumeContext(r.mapping, { pendingRequests: new Uint8Array(this.log.subarray(r.requestEnd - this.logStart)) });
  }

  /**
   * Before the first request is complete: a mapping with no request (empty `request`) whose
   * pendingRequests are the client's bytes so far, so that the wedge can acknowledge the bytes of a
   * long head as its group stores them and a taker continues reading the head where it stands.
   */
  private headSoFar(): StreamMapping {
    return {
      applicationProtocol: HTTP_PROTOCOL,
      objectName: '',
      request: EMPTY,
      responseHeaderLength: this.serverOffset,
      validator: '',
      objectLength: 0,
      objectStart: 0,
      requestStreamOffset: this.logStart,
      resumeContext: { responseStreamOffset: this.serverOffset, responseHead: EMPTY, pendingRequests: new Uint8Array(this.log) },
    };
  }

  /** Waiting for the client's next request head: 'idle' (no byte of it yet) or 'partial'. */
  waitingForRequest(): 'idle' | 'partial' | undefined {
    if (this.stateName !== 'request-head') return undefined;
    return this.pending.length === 0 ? 'idle' : 'partial';
  }

  /** The wait for a request head timed out: 408 for a head begun, a plain close for an idle connection. */
  requestTimedOut(): void {
    const waiting = this.waitingForRequest();
    if (waiting === 'partial') this.refuse(new RemoteProtocolError('BATON_ERR_HTTP_TIMEOUT', 'the request head was not complete within the head timeout'), true);
    else if (waiting === 'idle') this.finish('idle timeout');
  }

  private get current(): StreamMapping | undefined {
    return this.records.at(-1)?.mapping;
  }

  private set current(m: StreamMapping) {
    this.records.at(-1)!.mapping = m;
  }

  /** The next event (see MapperEvent), or undefined. */
  pollEvent(): MapperEvent | undefined {
    return this.events.shift();
  }

  /** In-order bytes from the client: parsed at once between responses, queued behind one. */
  handleClientBytes(bytes: Uint8Array): void {
    if (this.stateName === 'closed' || bytes.length === 0) return;
    this.log = concat(this.log, bytes);
    if (this.stateName === 'request-head') {
      this.readRequest(bytes);
      return;
    }
    this.pending = concat(this.pending, bytes);
    if (this.pending.length > this.maxPending) {
      this.refuse(new RemoteProtocolError('BATON_ERR_HTTP_TOO_LARGE', `more than ${this.maxPending} bytes of pipelined requests`), false);
    }
  }

  /** The client sends no more: close once the current response is done. */
  handleClientEnd(): void {
    this.clientEnded = true;
    if (this.stateName === 'request-head') this.finish('client closed between requests');
  }

  /** In-order bytes from the content server. */
  handleBackendBytes(bytes: Uint8Array): void {
    switch (this.stateName) {
      case 'response-head':
      case 'resume-head': {
        const r = this.responseParser!.push(bytes);
        if (r.kind === 'more') return;
        if (r.kind === 'error') return this.backendFailed(r.error);
        if (this.stateName === 'resume-head') this.resumeHead(r.head, r.rest);
        else this.responseHead(r.head, r.rest);
        return;
      }
      case 'response-body':
        this.relayBody(bytes);
        return;
      default:
        return; // bytes after the body's end, or after close: not part of any response
    }
  }

  /** The content server closed: the end of a close-delimited body, an error otherwise. */
  handleBackendEnd(): void {
    if (this.stateName === 'response-body') {
      const r = this.body!.end();
      if ('error' in r) return this.backendFailed(r.error);
      this.endOfResponse(false);
    } else if (this.stateName === 'response-head' || this.stateName === 'resume-head') {
      this.backendFailed(new RemoteProtocolError('BATON_ERR_HTTP_BACKEND', 'the content server closed before a response head'));
    }
  }

  // ---- taker side ----

  /** @internal Used by HttpMapperFactory.resume: start from an announced mapping. */
  startResume(mapping: StreamMapping, nextOffset: number): void {
    this.serverOffset = nextOffset;
    if (mapping.request.length === 0) return this.resumeHeadSoFar(mapping, nextOffset);
    const plan = planResume(mapping, nextOffset);
    if (plan instanceof ResumeError) return this.close(plan);
    this.request = plan.request;
    this.clientOffset = mapping.requestStreamOffset + plan.request.raw.length;
    this.pending = new Uint8Array(resumeContextOf(mapping).pendingRequests);
    this.log = concat(plan.request.raw, this.pending);
    this.logStart = mapping.requestStreamOffset;
    if (plan.kind !== 'replay') this.records.push({ mapping: withResumeContext(mapping, { pendingRequests: EMPTY }), requestEnd: this.clientOffset, end: Infinity });
    switch (plan.kind) {
      case 'replay':
        this.startRequest(plan.request, mapping.requestStreamOffset, 'replay: the response had not begun');
        return;
      case 'complete':
        this.response = plan.response;
        this.toClient(plan.headRemainder);
        this.endOfResponse(true);
        return;
      case 'range':
        this.plan = plan;
        this.response = plan.response;
        this.responseParser = new ResponseHeadParser(this.limits);
        this.events.push({ type: 'to-backend', bytes: plan.backendRequest });
        this.transition('resume-head', `Range bytes=${plan.first}-${plan.last}`);
        return;
    }
  }

  /** A state announced before the first request was complete (headSoFar): read on from its bytes. */
  private resumeHeadSoFar(mapping: StreamMapping, nextOffset: number): void {
    const { responseStreamOffset, pendingRequests } = resumeContextOf(mapping);
    if (nextOffset !== responseStreamOffset) return this.close(new ResumeError('BATON_ERR_RESUME_BEYOND', `client holds bytes up to ${nextOffset} of a response the state never saw`));
    this.clientOffset = this.logStart = mapping.requestStreamOffset;
    this.log = new Uint8Array(pendingRequests);
    if (this.log.length > 0) this.readRequest(this.log);
  }

  private resumeHead(head: ResponseHead, rest: Uint8Array): void {
    const plan = this.plan!;
    const refused = checkResumeResponse(plan, this.current!, head);
    if (refused) return this.close(refused);
    this.toClient(plan.headRemainder);
    this.body = new BodyTracker('length', plan.last - plan.first + 1);
    this.backendReuse = head.keepAlive;
    this.transition('response-body', 'content server confirmed the range');
    this.relayBody(rest);
  }

  // ---- serving side ----

  /** Feeds the request parser; `pending` keeps every client byte not yet part of a parsed head. */
  private readRequest(bytes: Uint8Array): void {
    this.pending = concat(this.pending, bytes);
    const r = this.requestParser.push(bytes);
    if (r.kind === 'more') return;
    if (r.kind === 'error') return this.refuse(r.error, true);
    this.clientOffset += r.skipped;
    this.pending = new Uint8Array(r.rest);
    this.startRequest(r.head, this.clientOffset, 'request head parsed');
  }

  private startRequest(head: RequestHead, offset: number, why: string): void {
    this.request = head;
    this.response = undefined;
    this.clientOffset = offset + head.raw.length;
    const mapping: StreamMapping = {
      applicationProtocol: HTTP_PROTOCOL,
      objectName: head.path,
      request: head.raw,
      responseHeaderLength: this.serverOffset,
      validator: '',
      objectLength: 0,
      objectStart: 0,
      requestStreamOffset: offset,
      resumeContext: { responseStreamOffset: this.serverOffset, responseHead: EMPTY, pendingRequests: EMPTY },
    };
    this.records.push({ mapping, requestEnd: this.clientOffset, end: Infinity });
    this.events.push({ type: 'to-backend', bytes: backendRequest(head) });
    this.responseParser = new ResponseHeadParser(this.limits);
    this.transition('response-head', why);
    this.events.push({ type: 'mapping', mapping: this.mapping()! });
  }

  private backendReuse = false;

  private responseHead(head: ResponseHead, rest: Uint8Array): void {
    if (head.status < 200) {
      if (head.status === 101) return this.backendFailed(new RemoteProtocolError('BATON_ERR_HTTP_BACKEND', 'protocol upgrades are not supported'));
      this.toClient(head.raw); // an interim response (100, 103) goes through; the final one follows
      this.current = withResumeContext({ ...this.current!, responseHeaderLength: this.serverOffset }, { responseStreamOffset: this.serverOffset });
      this.responseParser = new ResponseHeadParser(this.limits);
      if (rest.length > 0) this.handleBackendBytes(rest);
      return;
    }
    const framing = bodyFraming(head, this.request!.method);
    let objectStart = 0;
    let objectLength = head.contentLength ?? 0;
    let validator = framing === 'length' || framing === 'none' ? strongValidator(head) : '';
    if (head.status === 206 && head.contentRange) {
      objectStart = head.contentRange.first;
      objectLength = head.contentRange.last - head.contentRange.first + 1;
      if (head.contentLength !== objectLength) validator = '';
    } else if (head.status !== 200) {
      validator = ''; // an error page or a multipart 206 is relayed but never resumed
    }
    if (framing === 'none') objectLength = 0;
    this.response = head;
    this.backendReuse = head.keepAlive && framing !== 'close';
    this.current = {
      ...withResumeContext(this.current!, { responseStreamOffset: this.serverOffset, responseHead: head.raw }),
      responseHeaderLength: this.serverOffset + head.raw.length,
      validator,
      objectLength,
      objectStart,
    };
    this.toClient(head.raw);
    this.body = new BodyTracker(framing, head.contentLength ?? 0);
    this.transition('response-body', `${head.status}, ${framing} framing`);
    this.events.push({ type: 'mapping', mapping: this.mapping()! });
    if (this.body.done) this.endOfResponse(true);
    else this.relayBody(rest);
  }

  private relayBody(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const r = this.body!.push(bytes);
    if ('error' in r) return this.backendFailed(r.error);
    // Body bytes go out as the backend gave them, not copied: a backend's chunks are the sink's to
    // keep (BackendSink.data), and an 8 MB body no longer costs 8 MB of copies and their garbage.
    this.toClient(bytes.subarray(0, r.used), false);
    if (r.done) this.endOfResponse(true);
  }

  private endOfResponse(backendOk: boolean): void {
    this.events.push({ type: 'response-end', reuse: backendOk && this.backendReuse });
    this.records.at(-1)!.end = this.serverOffset;
    this.body = undefined;
    this.plan = undefined;
    const persist = this.request!.keepAlive && this.response !== undefined && this.response.keepAlive && bodyFraming(this.response, this.request!.method) !== 'close';
    if (!persist) return this.finish('not a persistent connection');
    this.requestParser = new RequestHeadParser(this.limits);
    this.transition('request-head', 'response complete');
    const pending = this.pending;
    this.pending = EMPTY;
    if (pending.length > 0) this.readRequest(pending);
    else if (this.clientEnded) this.finish('client closed between requests');
  }

  // ---- endings ----

  private toClient(bytes: Uint8Array, copy = true): void {
    if (bytes.length === 0) return;
    this.serverOffset += bytes.length;
    this.events.push({ type: 'to-client', bytes: copy ? new Uint8Array(bytes) : bytes });
  }

  /** The client's request is refused: the error response goes out when no response has begun. */
  private refuse(error: RemoteProtocolError, answer: boolean): void {
    if (answer) this.toClient(errorResponse(error));
    this.close(error);
  }

  private backendFailed(error: RemoteProtocolError): void {
    const taking = this.stateName === 'resume-head';
    const answered = this.stateName === 'response-head';
    if (answered) this.toClient(errorResponse(error));
    this.close(taking ? new ResumeError('BATON_ERR_RESUME_BACKEND', error.message, { cause: error }) : error, answered);
  }

  private finish(why: string): void {
    this.transition('closed', why);
    this.events.push({ type: 'close' });
  }

  private close(error: BatonError, answered = false): void {
    if (this.stateName === 'closed') return;
    this.transition('closed', error.code);
    this.events.push(answered ? { type: 'close', error, answered } : { type: 'close', error });
  }

  private transition(to: HttpMapperState, why: string): void {
    const from = this.stateName;
    this.stateName = to;
    this.options.trace?.(from, to, why);
  }
}

/** Makes HTTP mappers for new and taken-over connections. */
export class HttpMapperFactory implements StreamMapperFactory {
  readonly protocol = HTTP_PROTOCOL;
  constructor(private readonly options: HttpMapperOptions = {}) {}

  /** A mapper for a new client connection. */
  create(): HttpMapper {
    return new HttpMapper(this.options);
  }

  /** A mapper that takes an announced connection over at the client's `nextOffset`. */
  resume(mapping: StreamMapping, nextOffset: number): HttpMapper {
    const m = new HttpMapper(this.options);
    m.startResume(mapping, nextOffset);
    return m;
  }
}
