// One client connection served by the wedge (paper §4.1): the stream mapper between the client's
// migratable transport and a connection to the content server. The transport side is the library's
// application loop (src/stream/StreamSender): the session is its StreamSource, a buffer of the
// mapper's client-bound bytes by stream offset, and it reads the client's bytes from the events the
// sender polls. Backpressure both ways: while more than `highWater` client-bound bytes wait for the
// transport (a slow or paused client), the content-server connection is paused; it resumes below
// `lowWater`. Client-to-backend bytes are requests (a few KiB, limited by the mapper).
//
// A taker's session (resume) starts with no mapper: on 'takeover-complete' it makes one with
// factory.resume(mapping, receiver.nextOffset), and its buffer begins at that offset, where the
// StreamSender resumes. Sans-IO: time comes from the hooks, backend calls come from the world.
//
// Holding acknowledgements (README, "Requests acknowledged are never lost"): the session keeps the
// transport's acknowledge limit at `confirmedEnd`, the client stream offset up to which a support
// group member confirmed an announcement that covers the client's bytes (the mapping's request
// and pending requests). A new request's bytes are therefore delivered but not acknowledged until
// a member stored the announcement carrying it; the exported state describes that acknowledged
// point. A taker learns the client offset its imported transport resumes at (`clientAt`, the
// acknowledged point of the state) and drops the client's retransmission of the bytes the mapping
// already holds (below `knownEnd`); bytes beyond are new requests.
//
// The bytes of a request head still arriving are held the same way: the mapping carries them
// (pendingRequests, or a mapping with no request yet before the first one), and whenever client
// bytes beyond the acknowledged point arrive that no announcement in flight covers, the session
// asks for one at once (hooks.held); each confirmation raises the limit and the wedge announces
// again, so a long head is acknowledged in steps of one group round trip and its client's window
// keeps opening. A head that takes longer than the head timeout is answered 408 and closed; a
// connection idle between requests longer than the idle timeout is closed (slow-loris).
//
// The blind resume (transport.ts takeover(…, resumeFrom)): a taker's session with `prefetchFrom`
// (the state's acknowledged point) starts its mapper there before the takeover request is sent
// (the mapping's pending requests held back), and reports the first bytes it has
// (hooks.prefetched) so the wedge sends them with the request: the client's next byte then arrives
// half a round trip after the request instead of one and a half. At 'takeover-complete' the
// prefetched stream is kept when the client's next byte lies within what it produced (all of it
// the announced response, checked by the content server's answer); otherwise it is dropped and the
// mapper resumes at the client's next byte as without a prefetch.
import { TransportError, type BatonError } from '../transport-abstraction/errors.js';
import type { StreamMapping, TransportState } from '../transport-abstraction/state-types.js';
import type { Instant, MigratableTransport, ReceiverState, TransportEvent } from '../transport-abstraction/transport.js';
import { END, NOT_YET, StreamSender, type SourceAnswer, type StreamSource } from '../stream/index.js';
import type { BackendConnection, ContentBackend } from './content.js';
import { ResumeError } from './http-resume.js';
import type { MapperEvent, StreamMapper, StreamMapperFactory } from './mapper.js';
import { connectionKey } from './soft-state-table.js';

/**
 * What the wedge drives for one connection: this file's HTTP Session, or another service's session
 * (WedgeOptions.service; src/wedge/voice-service.ts hosts telephony calls).
 */
export interface ServedSession {
  readonly conn: MigratableTransport;
  /** The table key (client endpoint). */
  readonly key: string;
  takeoverNumber: number;
  readonly done: boolean;
  readonly requests: number;
  readonly sender: { readonly offset: number };
  pump(now: Instant): void;
  stop(): void;
  /** The state to announce (owner, takeover number and the service's mapping set). */
  state(now: Instant): TransportState;
  /** A member confirmed a state placing the client's bytes up to `end`: true if a state announced now would say more. */
  confirmed(now: Instant, end: number): boolean;
  exportConfirmed(now: Instant, state: TransportState): void;
}

/** What a session needs from its wedge. */
export interface SessionHooks {
  now(): Instant;
  /** Drain the transport endpoint after calling into it outside an input cycle. */
  wake(): void;
  /** The mapping changed (a request began, a response head was counted): announce now. */
  mapping(session: ServedSession, mapping: StreamMapping): void;
  /** The takeover completed (taker sessions only). */
  resumed(session: ServedSession, receiver: ReceiverState, now: Instant): void;
  /** The mapper ended the stream with an error (a refused resume: ResumeError). */
  failed(session: ServedSession, error: BatonError): void;
  /** The transport connection is over. */
  closed(session: ServedSession, error: BatonError | undefined): void;
  /** A taker's prefetch has its first bytes (or nothing to wait for): send the takeover request with `bytes`. */
  prefetched(session: Session, bytes: Uint8Array): void;
  /** Client-bound bytes the transport accepted (counted as the sender moves on). */
  bytes(n: number): void;
  /** The transport's exportable state changed ('state-changed'): announce now (the export barrier waits for it). */
  stateChanged(session: ServedSession, now: Instant): void;
  /** A runtime timer (Runtime#setTimer), for a paced mapper's next release; without it pacing waits for input. */
  setTimer?(at: Instant, fn: () => void): { cancel(): void };

  /** Client bytes beyond the acknowledged point that no announced state covers yet: announce now. */
  held(session: Session, now: Instant): void;
  /** The session's request deadline (requestDeadline) is now `at`: call timedOut(now) then. */
  deadline(session: Session, at: Instant): void;
}

export interface SessionOptions {
  readonly conn: MigratableTransport;
  readonly factory: StreamMapperFactory;
  readonly backend: ContentBackend;
  readonly hooks: SessionHooks;
  readonly ownerId: string;
  /** The connection's takeover number (0 for a connection the client opened to us). */
  readonly takeoverNumber?: number;
  /** A taker's session: wait for 'takeover-complete', then resume `resume` (the announced mapping; none: no request yet). */
  readonly taker?: boolean;
  readonly resume?: StreamMapping;
  /** A taker's blind resume: start the mapper at this stream offset (the state's streamBytesAcked) before the takeover. */
  readonly prefetchFrom?: number;
  /** Pause the content server above this many client-bound bytes waiting; default 256 KiB. */
  readonly highWater?: number;
  /** Resume it below this; default highWater / 4. */
  readonly lowWater?: number;
  /** A request head begun must be complete within this (from its first byte), else 408; default DEFAULT_HEAD_TIMEOUT_MS. */
  readonly headTimeoutMs?: number;
  /** A connection waiting for a request with no byte of it is closed after this; default DEFAULT_IDLE_TIMEOUT_MS. */
  readonly idleTimeoutMs?: number;
}

/** The most prefetched bytes a taker sends with its takeover request (the transports send at most one span of them). */
export const PREFETCH_SPAN = 65_536;

/** Default head timeout: a request head begun must be complete within 30 s (nginx's client_header_timeout is 60 s). */
export const DEFAULT_HEAD_TIMEOUT_MS = 30_000;
/** Default idle timeout: a connection with no request under way and no byte of the next one is closed after 60 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export class Session {
  readonly conn: MigratableTransport;
  /** The table key (client endpoint), known once the connection has a state. */
  readonly key: string;
  readonly sender: StreamSender;
  takeoverNumber: number;
  mapper: StreamMapper | undefined;
  /** Requests seen on this connection. */
  requests = 0;
  /** Set once the session stopped serving (closed, superseded, refused). */
  done = false;
  private backendConn: BackendConnection | undefined;
  private backendPaused = false;
  /** The backend connection's last response ended and it may carry another (released, not closed, when the session lets it go). */
  private backendIdle = false;
  private readonly out: Uint8Array[] = [];
  /** Stream offset of out[0]'s first byte, and of the byte after the last buffered one. */
  private outStart = 0;
  private outEnd = 0;
  private endAfterDrain = false;
  /** Stream offset up to which bytes the transport took were counted (hooks.bytes). */
  private countedTo = 0;
  private readyListener: () => void = () => {};
  private readonly options: SessionOptions;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly headTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  /** Client->server stream offset of the next client byte the transport delivers. */
  private clientAt = 0;
  /** Client bytes below this are already in the mapper (a taker's mapping): dropped as retransmissions. */
  private knownEnd = 0;
  /** The acknowledge limit in force: client bytes a member confirmed an announcement for. */
  private confirmedEnd = 0;
  /** A taker's client bytes that arrived before its mapper exists. */
  private readonly early: Uint8Array[] = [];
  /**
   * Requests no member confirmed yet: their client end, and where their response begins. No byte
   * of such a response goes to the client (a taker from the older state could not resume it).
   */
  private readonly unconfirmed: Array<{ clientEnd: number; responseAt: number }> = [];
  /** Client bytes dropped as retransmissions of what the mapping held (a taker's). */
  retransmittedBytes = 0;
  /** The transport's export generation of each state this session made (state()). */
  private readonly generations = new WeakMap<TransportState, number>();
  /** A paced mapper's next release (mapper.paceLimit), and when it fires. */
  private paceTimer: { cancel(): void } | undefined;
  private paceAt: Instant | undefined;

  /** The highest client end of a state this session made: an announcement in flight may cover up to it. */
  private announcedEnd = 0;
  /** The acknowledge limit was cleared (the mapper closed): nothing is held any more. */
  private unlimited = false;
  /** What the mapper waits for ('idle' / 'partial'), and when the wait times out. */
  private waitKind: 'idle' | 'partial' | undefined;
  /** The wait for a request times out at this instant (undefined: no wait under way). */
  requestDeadline: Instant | undefined;
  /** The prefetch's start (a taker before 'takeover-complete'), whether it was reported, and a 'close' it met. */
  private prefetchFrom: number | undefined;
  private prefetchReported = false;
  private prefetchArmed = false;
  private prefetchClose: Extract<MapperEvent, { type: 'close' }> | undefined;

  constructor(options: SessionOptions) {
    this.options = options;
    this.conn = options.conn;
    this.takeoverNumber = options.takeoverNumber ?? 0;
    this.highWater = options.highWater ?? 256 * 1024;
    this.headTimeoutMs = options.headTimeoutMs ?? DEFAULT_HEAD_TIMEOUT_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.lowWater = options.lowWater ?? this.highWater / 4;
    const hooks = options.hooks;
    const source: StreamSource = {
      read: (offset, max) => this.read(offset, max),
      onReady: (ready) => (this.readyListener = ready),
    };
    this.key = connectionKey(options.conn.exportState(hooks.now()).client);
    this.sender = new StreamSender({
      conn: options.conn,
      source,
      now: hooks.now,
      wake: hooks.wake,
      resume: options.taker === true,
      onResume: (receiver, now) => this.startResume(receiver, now),
      onEvent: (ev, now) => this.transportEvent(ev, now),
      onStateChanged: (now) => {
        if (!this.done) hooks.stateChanged(this, now);
      },
    });
    if (options.taker !== true) {
      this.mapper = options.factory.create();
      this.outStart = this.outEnd = this.countedTo = options.conn.streamOffset;
    } else {
      // The imported transport resumes at the state's acknowledged point; the mapping holds the
      // client's bytes up to knownEnd, which the group has (the state came from an announcement).
      this.clientAt = options.conn.receivedOffset;
      this.knownEnd = options.resume === undefined ? this.clientAt : clientEnd(options.resume);
      this.confirmedEnd = Math.max(this.clientAt, this.knownEnd);
      if (options.prefetchFrom !== undefined && options.resume !== undefined) {
        this.prefetchFrom = options.prefetchFrom;
        this.outStart = this.outEnd = this.countedTo = options.prefetchFrom;
        this.mapper = options.factory.resume(withoutPending(options.resume), options.prefetchFrom);
      }
    }
    options.conn.setAcknowledgeLimit(hooks.now(), this.confirmedEnd);
    // Nothing reaches the client that the group's latest confirmed state could not place.
    options.conn.setExportBarrier(hooks.now(), true);
    this.updateWait(hooks.now());
  }

  /** Start a taker's prefetch (after the wedge registered the session): hooks.prefetched follows, perhaps at once. */
  startPrefetch(now: Instant): void {
    if (this.prefetchFrom !== undefined) this.drain(now);
    else this.reportPrefetch();
  }

  /** Report the prefetch now with what it has (the wedge stops waiting for the content server). */
  reportPrefetch(): void {
    if (this.prefetchReported || this.done) return;
    this.prefetchReported = true;
    this.options.hooks.prefetched(this, this.prefetchFrom === undefined ? new Uint8Array(0) : this.prefetchBytes());
  }

  /** The stream offset a taker's prefetch starts at (the blind bytes' first), while it runs. */
  get prefetchAt(): number | undefined {
    return this.prefetchFrom;
  }

  /**
   * The prefetch has bytes: report them once what the content server hands over in the same turn
   * is in too (its first read is seldom the whole span: a timer at `now` fires after it), at once
   * when the span is full or nothing more can come.
   */
  private reportPrefetchSoon(): void {
    const setTimer = this.options.hooks.setTimer;
    if (this.prefetchReported || this.prefetchArmed) return;
    if (setTimer === undefined || this.outEnd - this.prefetchFrom! >= PREFETCH_SPAN || this.prefetchClose !== undefined || this.backendConn === undefined) return this.reportPrefetch();
    this.prefetchArmed = true;
    setTimer(this.options.hooks.now(), () => this.reportPrefetch());
  }

  /** True while a taker's prefetch runs (before 'takeover-complete'). */
  get prefetching(): boolean {
    return this.prefetchFrom !== undefined;
  }

  /** The client stream offset up to which `state` (one of ours) lets a taker rebuild the requests. */
  static clientEnd(state: TransportState): number {
    return state.stream === undefined ? 0 : clientEnd(state.stream);
  }

  /**
   * A member confirmed an announcement that covered the client's bytes up to `end`, or no member
   * is alive to confirm one: acknowledge them (the limit moves there; it never goes back).
   */
  confirmed(now: Instant, end: number): boolean {
    if (this.done || end <= this.confirmedEnd) return false;
    this.confirmedEnd = end;
    this.conn.setAcknowledgeLimit(now, end);
    while (this.unconfirmed.length > 0 && this.unconfirmed[0]!.clientEnd <= end) this.unconfirmed.shift();
    this.readyListener();
    return true;
  }

  /**
   * A member stored `state` (one this session's state() made), or no member is alive to store
   * one: release what the transport's export barrier held for it.
   */
  exportConfirmed(now: Instant, state: TransportState): void {
    const generation = this.generations.get(state);
    if (this.done || generation === undefined) return;
    this.conn.confirmExport(now, generation);
    this.options.hooks.wake();
  }

  /** The acknowledge limit in force (client stream offset). */
  get acknowledgeLimit(): number {
    return this.confirmedEnd;
  }

  /** Handle the transport's events and feed it (call from the endpoint's afterInput). */
  pump(now: Instant): void {
    if (!this.done) this.sender.pump(now);
  }

  /** The state to announce: the transport's, with this wedge as owner and the mapper's mapping. */
  state(now: Instant): TransportState {
    const s = this.conn.exportState(now);
    const generation = this.conn.exportGeneration;
    const stream = this.mapper?.mapping(s.streamBytesAcked) ?? this.options.resume;
    const state: TransportState = { ...s, ownerId: this.options.ownerId, takeoverNumber: this.takeoverNumber, ...(stream ? { stream } : {}) };
    this.generations.set(state, generation);
    if (stream !== undefined) this.announcedEnd = Math.max(this.announcedEnd, clientEnd(stream));
    return state;
  }

  /** The request deadline passed: the mapper answers the wait (HTTP: 408, or a close when idle). */
  timedOut(now: Instant): void {
    if (this.done || this.requestDeadline === undefined || now < this.requestDeadline) return;
    this.requestDeadline = undefined;
    this.waitKind = undefined;
    this.mapper?.requestTimedOut?.();
    this.drain(now);
  }

  /** Client-bound bytes waiting for the transport. */
  get backlog(): number {
    return this.outEnd - this.sender.offset;
  }

  /** Stop serving without a byte to the client (superseded, or a lost takeover): local only. */
  stop(): void {
    if (this.done) return;
    this.done = true;
    this.cancelPace();
    this.closeBackend();
    this.out.length = 0;
  }

  // ---- the transport side ----

  private transportEvent(ev: TransportEvent, now: Instant): void {
    if (this.done) return;
    switch (ev.type) {
      case 'data':
        this.clientBytes(ev.bytes);
        this.drain(now);
        // Bytes held beyond the limit that no announcement in flight covers (a head still arriving,
        // pipelined bytes): announce them now, or the client's window never opens past them.
        if (!this.done && !this.unlimited && this.mapper !== undefined && this.clientAt > this.confirmedEnd && this.announcedEnd <= this.confirmedEnd) this.options.hooks.held(this, now);
        return;
      case 'end':
        this.mapper?.handleClientEnd();
        this.drain(now);
        return;
      case 'closed':
        this.done = true;
        this.cancelPace();
        this.closeBackend();
        this.options.hooks.closed(this, ev.error);
        return;
      case 'restarted':
        // The client restarted the association (RFC 9260 §5.2.4): its new stream knows nothing of
        // the requests and responses mapped here. Never splice bytes into it: end the connection;
        // the client's next INIT finds no association and is accepted as a new one.
        this.abort(now, new TransportError('BATON_ERR_ABORTED', 'the client restarted the association; the wedge serves a restarted client as a new connection'));
        return;
      default:
        return;
    }
  }

  /** Feed the mapper the client's bytes beyond what it holds already (a taker gets them again). */
  private clientBytes(bytes: Uint8Array): void {
    if (this.mapper === undefined || this.prefetchFrom !== undefined) {
      this.early.push(bytes);
      return;
    }
    const at = this.clientAt;
    this.clientAt += bytes.length;
    const skip = Math.min(bytes.length, Math.max(0, this.knownEnd - at));
    this.retransmittedBytes += skip;
    if (skip < bytes.length) this.mapper.handleClientBytes(skip === 0 ? bytes : bytes.subarray(skip));
  }

  private startResume(receiver: ReceiverState, now: Instant): void {
    if (this.prefetchFrom !== undefined && this.keepPrefetch(receiver, now)) return;
    this.outStart = this.outEnd = this.countedTo = receiver.nextOffset;
    this.options.hooks.resumed(this, receiver, now);
    const mapping = this.options.resume;
    if (mapping === undefined && receiver.nextOffset > 0) {
      // The state predates the first request (this member missed the announcements that carried
      // it), yet the client holds response bytes: its requests are acknowledged, never sent again,
      // so a fresh mapper would wait for them forever. Refuse, as the mapper refuses a state older
      // than the client by a whole response.
      this.abort(now, new ResumeError('BATON_ERR_RESUME_BEYOND', `client holds bytes up to ${receiver.nextOffset} of a response the state never saw`));
      return;
    }
    this.mapper = mapping === undefined ? this.options.factory.create() : this.options.factory.resume(mapping, receiver.nextOffset);
    for (const b of this.early.splice(0)) this.clientBytes(b);
    this.drain(now);
  }

  /**
   * 'takeover-complete' after a prefetch: keep it when the client's next byte lies within what it
   * produced (then feed it the held-back pending requests and the client's bytes so far), or drop
   * it (false: resume as without one).
   */
  private keepPrefetch(receiver: ReceiverState, now: Instant): boolean {
    const from = this.prefetchFrom!;
    this.prefetchFrom = undefined;
    const next = receiver.nextOffset;
    const failed = this.prefetchClose?.error !== undefined;
    if (failed || next < from || next > this.outEnd) {
      this.closeBackend();
      this.mapper = undefined;
      this.out.length = 0;
      this.prefetchClose = undefined;
      return false;
    }
    this.countedTo = next;
    this.options.hooks.resumed(this, receiver, now);
    const pending = this.options.resume?.resumeContext?.pendingRequests;
    if (pending !== undefined && pending.length > 0) this.mapper!.handleClientBytes(pending);
    const close = this.prefetchClose;
    this.prefetchClose = undefined;
    if (close !== undefined) this.closed(now, close);
    for (const b of this.early.splice(0)) this.clientBytes(b);
    this.drain(now);
    return true;
  }

  /** The prefetched bytes to send with the takeover request (at most 64 KiB; the transports send one window of them). */
  private prefetchBytes(): Uint8Array {
    const n = Math.min(this.outEnd - this.outStart, PREFETCH_SPAN);
    const bytes = new Uint8Array(n);
    let at = 0;
    for (const b of this.out) {
      if (at >= n) break;
      const take = b.subarray(0, n - at);
      bytes.set(take, at);
      at += take.length;
    }
    return bytes;
  }

  private read(offset: number, max: number): SourceAnswer {
    if (this.done) return NOT_YET;
    // The sender asks at the offset after what the transport accepted: count that progress.
    if (offset > this.countedTo) {
      this.options.hooks.bytes(offset - this.countedTo);
      this.countedTo = offset;
    }
    while (this.out.length > 0 && this.outStart + this.out[0]!.length <= offset) this.outStart += this.out.shift()!.length;
    if (this.backendPaused && this.outEnd - offset < this.lowWater) {
      this.backendPaused = false;
      this.backendConn?.resume();
    }
    const first = this.out[0];
    if (first === undefined || offset >= this.outEnd) return this.endAfterDrain ? END : NOT_YET;
    let gate = this.unconfirmed[0]?.responseAt ?? Infinity;
    if (offset >= gate) return NOT_YET;
    const pace = this.mapper?.paceLimit?.(this.options.hooks.now(), offset, this.conn.bufferedAmount);
    if (pace !== undefined && pace.limit < gate) {
      gate = pace.limit;
      if (offset >= gate) {
        if (pace.next !== undefined) this.armPace(pace.next);
        return NOT_YET;
      }
    }
    return first.subarray(offset - this.outStart, Math.min(gate, offset + max) - this.outStart);
  }

  /** Ask the sender to read again at `at` (a paced mapper's next release). */
  private armPace(at: Instant): void {
    const setTimer = this.options.hooks.setTimer;
    if (setTimer === undefined || (this.paceAt !== undefined && this.paceAt <= at)) return;
    this.paceTimer?.cancel();
    this.paceAt = at;
    this.paceTimer = setTimer(at, () => {
      this.paceTimer = this.paceAt = undefined;
      this.readyListener();
    });
  }

  private cancelPace(): void {
    this.paceTimer?.cancel();
    this.paceTimer = this.paceAt = undefined;
  }

  // ---- the mapper and the content server ----

  /** Carry out the mapper's events, then let the sender feed the transport. */
  private drain(now: Instant): void {
    const mapper = this.mapper;
    if (mapper === undefined || this.done) return;
    for (let ev = mapper.pollEvent(); ev !== undefined && !this.done; ev = mapper.pollEvent()) {
      switch (ev.type) {
        case 'to-backend':
          this.backend().write(ev.bytes);
          this.backendIdle = false;
          break;
        case 'to-client':
          this.out.push(ev.bytes);
          this.outEnd += ev.bytes.length;
          break;
        case 'mapping':
          if (ev.mapping.resumeContext?.responseHead.length === 0) {
            this.requests++;
            const end = clientEnd(ev.mapping);
            if (end > this.confirmedEnd) this.unconfirmed.push({ clientEnd: end, responseAt: ev.mapping.resumeContext.responseStreamOffset });
          }
          this.options.hooks.mapping(this, ev.mapping);
          break;
        case 'response-end':
          if (!ev.reuse) this.closeBackend();
          else this.backendIdle = true;
          break;
        case 'close':
          this.closeBackend();
          if (this.prefetchFrom !== undefined) {
            this.prefetchClose = ev; // acted on at 'takeover-complete' if the prefetch is kept
            break;
          }
          if (this.closed(now, ev)) return;
          break;
      }
    }
    if (this.prefetchFrom !== undefined && (this.outEnd > this.prefetchFrom || this.prefetchClose !== undefined || this.backendConn === undefined)) this.reportPrefetchSoon();
    if (this.done) return;
    if (!this.backendPaused && this.backendConn !== undefined && this.outEnd - (this.prefetchFrom ?? this.sender.offset) > this.highWater) {
      this.backendPaused = true;
      this.backendConn.pause();
    }
    this.updateWait(now);
    this.readyListener();
  }

  /** The mapper's 'close': true when the connection was aborted (nothing more to do). */
  private closed(now: Instant, ev: Extract<MapperEvent, { type: 'close' }>): boolean {
    // No more requests are answered: nothing held is worth a failover, and a close waits for the limit.
    this.conn.setAcknowledgeLimit(now, undefined);
    this.unlimited = true;
    if (ev.error !== undefined && ev.answered !== true && (ev.error.code.startsWith('BATON_ERR_RESUME') || ev.error.code === 'BATON_ERR_HTTP_BACKEND')) {
      // A refused resume: not one byte of the answer goes out; the client learns the cause.
      // A content server that failed mid-response: abort, so a cut-off body never looks whole.
      // (One that failed before its head was answered with a 502, which is delivered first.)
      this.abort(now, ev.error);
      return true;
    }
    this.endAfterDrain = true; // a clean end, or an HTTP error response then the end
    return false;
  }

  /** Start, keep or end the clock of a wait for the client's next request (head and idle timeouts). */
  private updateWait(now: Instant): void {
    const kind = this.done ? undefined : this.mapper?.waitingForRequest?.();
    if (kind === this.waitKind) return;
    this.waitKind = kind;
    this.requestDeadline = kind === undefined ? undefined : now + (kind === 'partial' ? this.headTimeoutMs : this.idleTimeoutMs);
    if (this.requestDeadline !== undefined) this.options.hooks.deadline(this, this.requestDeadline);
  }

  /** End the connection with ABORT / RST: a refused resume (reported as failed) or a failed content server. */
  private abort(now: Instant, error: BatonError): void {
    this.done = true;
    this.cancelPace();
    this.out.length = 0;
    if (error.code.startsWith('BATON_ERR_RESUME')) this.options.hooks.failed(this, error);
    this.conn.abort(now, error.code);
    this.options.hooks.wake();
    this.options.hooks.closed(this, error);
  }

  private backend(): BackendConnection {
    if (this.backendConn !== undefined) return this.backendConn;
    const opened: { conn?: BackendConnection } = {};
    const current = (): boolean => !this.done && this.backendConn === opened.conn;
    opened.conn = this.options.backend.open({
      data: (bytes) => {
        if (!current()) return;
        this.mapper!.handleBackendBytes(bytes);
        this.drain(this.options.hooks.now());
      },
      end: () => {
        if (!current()) return;
        this.backendConn = undefined;
        this.backendIdle = false;
        this.mapper!.handleBackendEnd();
        this.drain(this.options.hooks.now());
      },
      error: () => {
        if (!current()) return;
        this.backendConn = undefined;
        this.backendIdle = false;
        this.mapper!.handleBackendEnd();
        this.drain(this.options.hooks.now());
      },
    });
    this.backendConn = opened.conn;
    this.backendPaused = false;
    return opened.conn;
  }

  private closeBackend(): void {
    const b = this.backendConn;
    const idle = this.backendIdle;
    this.backendConn = undefined;
    this.backendPaused = false;
    this.backendIdle = false;
    if (idle && b?.release !== undefined) b.release();
    else b?.close();
  }
}

/** Client stream offset just after the request and the pending requests a mapping holds. */
function clientEnd(m: StreamMapping): number {
  return m.requestStreamOffset + m.request.length + (m.resumeContext?.pendingRequests.length ?? 0);
}

/** The mapping without its pending requests (a prefetch serves the announced response only; they follow at takeover-complete). */
function withoutPending(m: StreamMapping): StreamMapping {
  return m.resumeContext === undefined ? m : { ...m, resumeContext: { ...m.resumeContext, pendingRequests: new Uint8Array(0) } };
}
