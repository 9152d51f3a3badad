// Takeover for HTTP: from an announced StreamMapping and the client's next missing stream byte,
// plan what the taker sends (the rest of the original response head, then `Range: bytes=N-` with
// `If-Range: <validator>` to its content server), and check the content server's answer. Only a
// 206 with the same validator and a Content-Range starting at exactly N is spliced; anything else
// is a ResumeError with an explicit code, and the client gets no byte of it.
import { BatonError } from '../transport-abstraction/errors.js';
import type { ResumeContext, StreamMapping } from '../transport-abstraction/state-types.js';
import { RemoteProtocolError } from './http-errors.js';
import { DEFAULT_HEAD_LIMITS, HeadReader } from './http-head-reader.js';
import { parseRequestHead, emitRequestHead, type RequestHead } from './http-request.js';
import { bodyFraming, parseResponseHead, strongValidator, type ResponseHead } from './http-response.js';

/** The stable codes of ResumeError: why a takeover could not continue the stream. */
export type ResumeErrorCode =
  | 'BATON_ERR_RESUME_STALE' // the client misses bytes from before this response: the state is older than the client
  | 'BATON_ERR_RESUME_BEYOND' // the client holds bytes past this response: the state is older than the client
  | 'BATON_ERR_RESUME_STATE' // the announced mapping is not a readable HTTP request/response
  | 'BATON_ERR_RESUME_NOT_RESUMABLE' // no strong validator or no known length (chunked, close-delimited, multipart)
  | 'BATON_ERR_RESUME_NOT_PARTIAL' // the content server did not answer 206 (200: If-Range failed, the object changed)
  | 'BATON_ERR_RESUME_VALIDATOR' // 206 with another ETag / Last-Modified: the object changed
  | 'BATON_ERR_RESUME_RANGE' // 206 whose Content-Range does not start at N (or end where the original did)
  | 'BATON_ERR_RESUME_BACKEND'; // the content server's answer was malformed or cut short

/** Why a takeover cannot continue the stream; the connection is ended with this cause. */
export class ResumeError extends BatonError {
  declare readonly code: ResumeErrorCode;
  constructor(code: ResumeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** What a taker does for one client. */
export type ResumePlan =
  /** The response had not begun: send the original request again and serve it afresh. */
  | { readonly kind: 'replay'; readonly request: RequestHead; readonly backendRequest: Uint8Array }
  /** Nothing of this response is missing (or only head bytes of a body-less response). */
  | { readonly kind: 'complete'; readonly request: RequestHead; readonly response: ResponseHead; readonly headRemainder: Uint8Array }
  /** Ask for object bytes [first, last] and relay them after the head remainder. */
  | {
      readonly kind: 'range';
      readonly request: RequestHead;
      readonly response: ResponseHead;
      readonly headRemainder: Uint8Array;
      readonly first: number;
      readonly last: number;
      readonly backendRequest: Uint8Array;
    };

/** Request fields a taker does not repeat: its own Range/If-Range replace them, conditions were met already. */
const DROPPED_ON_RESUME = new Set(['range', 'if-range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'expect']);

/** A mapping's ResumeContext, with the defaults of a state that has none (a response at stream offset 0, not begun). */
export function resumeContextOf(mapping: StreamMapping): ResumeContext {
  const c = mapping.resumeContext;
  return { responseStreamOffset: c?.responseStreamOffset ?? 0, responseHead: c?.responseHead ?? new Uint8Array(0), pendingRequests: c?.pendingRequests ?? new Uint8Array(0) };
}

/** A copy of `mapping` with parts of its ResumeContext replaced. */
export function withResumeContext(mapping: StreamMapping, patch: Partial<ResumeContext>): StreamMapping {
  return { ...mapping, resumeContext: { ...resumeContextOf(mapping), ...patch } };
}

/** Parses the head bytes stored in a mapping (request or response). */
function storedHead(bytes: Uint8Array): { lines: readonly string[]; raw: Uint8Array } | undefined {
  const r = new HeadReader(DEFAULT_HEAD_LIMITS, false).push(bytes);
  if (r.kind !== 'head' || r.rest.length !== 0) return undefined;
  return r;
}

/** Plans the takeover of `mapping` for a client whose next missing server->client byte is `nextOffset`. */
export function planResume(mapping: StreamMapping, nextOffset: number): ResumePlan | ResumeError {
  const req = storedHead(mapping.request);
  const request = req && parseRequestHead(req.lines, req.raw);
  if (!request || request instanceof RemoteProtocolError) return new ResumeError('BATON_ERR_RESUME_STATE', 'the mapping holds no valid request');
  const { responseStreamOffset: start, responseHead: headBytes } = resumeContextOf(mapping);
  if (nextOffset < start) return new ResumeError('BATON_ERR_RESUME_STALE', `client misses byte ${nextOffset}, before this response (${start})`);
  if (headBytes.length === 0) {
    if (nextOffset !== start) return new ResumeError('BATON_ERR_RESUME_BEYOND', `client holds bytes up to ${nextOffset} of a response the state never saw`);
    return { kind: 'replay', request, backendRequest: request.raw };
  }
  const res = storedHead(headBytes);
  const response = res && parseResponseHead(res.lines, res.raw);
  if (!response || response instanceof RemoteProtocolError) return new ResumeError('BATON_ERR_RESUME_STATE', 'the mapping holds no valid response head');
  const bodyStart = start + headBytes.length;
  const framing = bodyFraming(response, request.method);
  const bodyLength = framing === 'none' ? 0 : mapping.objectLength;
  if (framing === 'chunked' || framing === 'close') {
    return new ResumeError('BATON_ERR_RESUME_NOT_RESUMABLE', `a ${framing}-framed response has no known length and cannot be resumed`);
  }
  if (nextOffset > bodyStart + bodyLength) {
    return new ResumeError('BATON_ERR_RESUME_BEYOND', `client holds bytes up to ${nextOffset}, past this response's end ${bodyStart + bodyLength}`);
  }
  const headRemainder = Uint8Array.prototype.slice.call(headBytes, Math.min(nextOffset - start, headBytes.length));
  if (nextOffset === bodyStart + bodyLength || framing === 'none') return { kind: 'complete', request, response, headRemainder };
  if (framing !== 'length' || mapping.validator === '') {
    return new ResumeError('BATON_ERR_RESUME_NOT_RESUMABLE', `a ${framing}-framed response without a strong validator cannot be resumed`);
  }
  const first = mapping.objectStart + Math.max(0, nextOffset - bodyStart);
  const last = mapping.objectStart + mapping.objectLength - 1;
  const open = response.status === 200; // the whole object: "bytes=N-" ends where the object ends
  const headers = request.headers.filter((h) => !DROPPED_ON_RESUME.has(h.name.toLowerCase()));
  headers.push({ name: 'Range', value: `bytes=${first}-${open ? '' : last}` }, { name: 'If-Range', value: mapping.validator });
  const backendRequest = emitRequestHead(request.method, request.target, headers, request.version);
  return { kind: 'range', request, response, headRemainder, first, last, backendRequest };
}

/** Checks the content server's answer to a 'range' plan; undefined when its body may be spliced. */
export function checkResumeResponse(plan: Extract<ResumePlan, { kind: 'range' }>, mapping: StreamMapping, head: ResponseHead): ResumeError | undefined {
  if (head.status !== 206) {
    return new ResumeError('BATON_ERR_RESUME_NOT_PARTIAL', `content server answered ${head.status}, not 206: the object changed or has no ranges`);
  }
  const validator = strongValidator(head);
  if (validator !== mapping.validator) {
    return new ResumeError('BATON_ERR_RESUME_VALIDATOR', `validator ${JSON.stringify(validator)} is not the announced ${JSON.stringify(mapping.validator)}`);
  }
  const range = head.contentRange;
  if (range === undefined || range.first !== plan.first || range.last !== plan.last) {
    const got = range ? `${range.first}-${range.last}` : 'none';
    return new ResumeError('BATON_ERR_RESUME_RANGE', `Content-Range ${got}, expected ${plan.first}-${plan.last}`);
  }
  if (bodyFraming(head, plan.request.method) !== 'length' || head.contentLength !== plan.last - plan.first + 1) {
    return new ResumeError('BATON_ERR_RESUME_RANGE', `Content-Length ${String(head.contentLength)} does not match the range`);
  }
  return undefined;
}
