// One wedge serving HTTP and telephony calls together (`baton serve --service http,voice`): a
// WedgeService (wedge.ts) that decides what each connection is by what it carries.
//
// The rule, on a new connection's first byte:
//   0x00          a call (voice-service.ts): a voice frame begins with its 32-bit sequence number,
//                 and a call's first frames are numbered from 0 (voice-frame.ts);
//   anything else HTTP (session.ts, through the wedge's mapper factory).
// No HTTP request is misrouted: a request begins with its method, a token of visible ASCII
// characters (RFC 9110 §9.1, §5.6.2), or with the empty lines RFC 9112 §2.2 lets a client send
// before it (CR LF), never with 0x00. (A call whose first frame number were 2^24 or more, 93 hours
// of frames, would go to HTTP and be answered 400.) The SCTP PPID would say it too, but baton's
// clients send PPID 0 (unspecified) for both, as standard clients do: the first byte works for
// both transports and every client.
//
// Until its first byte a connection has a pending session: nothing is sent, its events wait, the
// transport acknowledges nothing (the acknowledge limit stays where the connection began, as both
// sessions start with it); then the chosen session is built and handed the waiting events first.
// A taker knows at once from the announced state: a mapping of `baton-voice` is a call, any other
// (or none: the old server had not seen a byte yet) HTTP.
//
// SCTP: the send mode is the endpoint's (byte stream for HTTP, messages with PR-SCTP for calls),
// fixed before a connection's first byte, so the dispatch runs on TCP-Migrate only; `baton serve`
// refuses `--service http,voice` with SCTP (README "Telephony sessions").
import type { TransportState } from '../transport-abstraction/state-types.js';
import type { Instant, MigratableTransport, TransportEvent } from '../transport-abstraction/transport.js';
import { Session, type ServedSession, type SessionHooks, type SessionOptions } from './session.js';
import { connectionKey } from './soft-state-table.js';
import { VOICE_PROTOCOL } from './voice-service.js';
import type { WedgeService } from './wedge.js';

/** The first byte that makes a connection a call. */
export const CALL_FIRST_BYTE = 0x00;

/** HTTP and `voice` (voice-service.ts' voiceService) on one wedge, dispatched per connection. */
export function httpAndVoiceService(voice: WedgeService): WedgeService {
  return {
    session: (so) => {
      if (so.taker === true) return so.resume?.applicationProtocol === VOICE_PROTOCOL ? voice.session(so) : new Session(so);
      return new PendingSession(so, (options) => voice.session(options));
    },
  };
}

/** A new connection before its first byte: then it becomes a call or an HTTP session (`inner`), which it stands for. */
class PendingSession implements ServedSession {
  readonly conn: MigratableTransport;
  readonly key: string;
  private inner: ServedSession | undefined;
  private readonly waiting: TransportEvent[] = [];
  private number: number;
  private over = false;

  constructor(
    private readonly so: SessionOptions,
    private readonly call: (options: SessionOptions) => ServedSession,
  ) {
    this.conn = so.conn;
    this.key = connectionKey(so.conn.exportState(so.hooks.now()).client);
    this.number = so.takeoverNumber ?? 0;
    so.conn.setAcknowledgeLimit(so.hooks.now(), so.conn.receivedOffset);
  }

  get takeoverNumber(): number {
    return this.inner?.takeoverNumber ?? this.number;
  }

  set takeoverNumber(n: number) {
    if (this.inner !== undefined) this.inner.takeoverNumber = n;
    else this.number = n;
  }

  get done(): boolean {
    return this.inner?.done ?? this.over;
  }

  get requests(): number {
    return this.inner?.requests ?? 0;
  }

  get sender(): { readonly offset: number } {
    return this.inner?.sender ?? { offset: this.conn.streamOffset };
  }

  pump(now: Instant): void {
    if (this.inner === undefined) {
      for (let ev = this.conn.pollEvent(); ev !== undefined && !this.over; ev = this.conn.pollEvent()) {
        this.waiting.push(ev);
        if (ev.type === 'closed') {
          this.over = true;
          this.so.hooks.closed(this, ev.error);
          return;
        }
        if (ev.type === 'data' && ev.bytes.length > 0) {
          this.dispatch(ev.bytes[0] === CALL_FIRST_BYTE);
          break;
        }
      }
    }
    this.inner?.pump(now);
  }

  stop(): void {
    this.over = true;
    this.inner?.stop();
  }

  state(now: Instant): TransportState {
    if (this.inner !== undefined) return this.inner.state(now);
    return { ...this.conn.exportState(now), ownerId: this.so.ownerId, takeoverNumber: this.number };
  }

  confirmed(now: Instant, end: number): boolean {
    return this.inner?.confirmed(now, end) ?? false;
  }

  exportConfirmed(now: Instant, state: TransportState): void {
    this.inner?.exportConfirmed(now, state);
  }

  /** Build the session the first byte chose, on the connection with the waiting events first; the wedge keeps seeing this one. */
  private dispatch(isCall: boolean): void {
    const h = this.so.hooks;
    const self = this as ServedSession;
    const hooks: SessionHooks = {
      ...h,
      mapping: (_s, mapping) => h.mapping(self, mapping),
      resumed: (_s, receiver, now) => h.resumed(self, receiver, now),
      failed: (_s, error) => h.failed(self, error),
      closed: (_s, error) => h.closed(self, error),
      stateChanged: (_s, now) => h.stateChanged(self, now),
      held: (_s, now) => h.held(self as Session, now),
    };
    const options: SessionOptions = { ...this.so, conn: replaying(this.conn, this.waiting), hooks, takeoverNumber: this.number };
    this.inner = isCall ? this.call(options) : new Session(options);
  }
}

/** `conn` whose pollEvent() returns `first` before the connection's own events. */
function replaying(conn: MigratableTransport, first: TransportEvent[]): MigratableTransport {
  const pollEvent = (): TransportEvent | undefined => first.shift() ?? conn.pollEvent();
  return new Proxy(conn, {
    get(target, property) {
      if (property === 'pollEvent') return pollEvent;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
