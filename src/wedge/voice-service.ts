// The wedge hosting telephony calls (README "Telephony sessions"): `voiceService()` is a
// WedgeService (wedge.ts) whose every connection is a call, a VoiceCall (voice-session.ts) on the
// server side. `baton serve --service voice` runs it; the wedge's soft-state channel then announces
// every 100 ms, its heartbeat and backoff take a dead member's calls over as they take HTTP
// connections over.
//
// What the server sends: one frame every 20 ms, numbered by media time (frame index since the call
// began at its first server); the first 4 audio bytes of each carry the number of the newest client
// frame this server received (big-endian, 0xffffffff before the first), so a client sees its frames
// echoed. A taker learns the call's origin from the announced mapping (applicationProtocol
// `baton-voice`, `mediaClock.originUnixUs`) and continues the numbering from its own clock.
//
// What the mapping says about the client's frames: `requestStreamOffset` is the client stream
// offset the announced state places (VoiceCall.announce's point), so the wedge's confirmation rule
// (Session.clientEnd) moves the acknowledge limit exactly there (VoiceCall.confirmed). Sans-IO: the
// frame clock is the session hooks' setTimer.
import { LocalUsageError, type BatonError } from '../transport-abstraction/errors.js';
import type { StreamMapping, TransportState } from '../transport-abstraction/state-types.js';
import type { Instant, MigratableTransport } from '../transport-abstraction/transport.js';
import type { ContentBackend } from './content.js';
import type { ServedSession, SessionOptions } from './session.js';
import { connectionKey } from './soft-state-table.js';
import type { VoiceFrame } from './voice-frame.js';
import { VoiceCall } from './voice-session.js';
import type { WedgeService } from './wedge.js';

export const VOICE_PROTOCOL = 'baton-voice';
/** The announcement period a wedge hosting calls runs with (README "Telephony sessions"). */
export const VOICE_ANNOUNCE_MS = 100;

export interface VoiceServiceOptions {
  /** SCTP: PR-SCTP lifetime of a frame, ms (default 150: above the 100 ms announcement period plus a group round trip). */
  readonly lifetimeMs?: number;
  /** Unix ms = runtime now + this (the daemon: Date.now() − performance.now(); the simulator: 0). */
  readonly wallOffsetMs?: number;
  /** Every client frame a server received (tests and logs). */
  readonly onClientFrame?: (ownerId: string, frame: VoiceFrame, delayMs: number) => void;
}

export function voiceService(options: VoiceServiceOptions = {}): WedgeService {
  return {
    messages: { lifetimeMs: options.lifetimeMs ?? 150 },
    session: (so) => new VoiceSession(so, options),
  };
}

/** A wedge hosting calls has no content server (`baton serve --service voice` takes no --backend). */
export const NO_CONTENT_SERVER: ContentBackend = {
  open() {
    throw new LocalUsageError('a wedge hosting calls has no content server');
  },
};

/** The server side of one call in the wedge. */
export class VoiceSession implements ServedSession {
  readonly conn: MigratableTransport;
  readonly key: string;
  readonly call: VoiceCall;
  takeoverNumber: number;
  done = false;
  readonly requests = 0;
  /** Media-time origin of the call on this runtime's clock (a taker's comes from the mapping). */
  private readonly origin: Instant;
  /** A taker serves (sends frames) once its takeover completed. */
  private active: boolean;
  private nextSeq = 0;
  private lastClientSeq = -1;
  private timer: { cancel(): void } | undefined;

  constructor(
    private readonly so: SessionOptions,
    private readonly options: VoiceServiceOptions,
  ) {
    const now = so.hooks.now();
    this.conn = so.conn;
    this.key = connectionKey(so.conn.exportState(now).client);
    this.takeoverNumber = so.takeoverNumber ?? 0;
    this.active = so.taker !== true;
    const unixUs = so.resume?.mediaClock?.originUnixUs;
    this.origin = unixUs !== undefined && unixUs > 0 ? unixUs / 1000 - (options.wallOffsetMs ?? 0) : now;
    this.call = new VoiceCall(so.conn, so.taker === true ? { inboundOffset: so.conn.receivedOffset } : {});
    this.call.onFrame = (frame, delay) => {
      this.lastClientSeq = Math.max(this.lastClientSeq, frame.seq);
      options.onClientFrame?.(so.ownerId, frame, delay);
    };
    this.call.holdAcknowledgements(now);
    if (this.active) this.tick(now);
  }

  get sender(): { readonly offset: number } {
    return { offset: this.conn.streamOffset };
  }

  pump(now: Instant): void {
    for (let ev = this.conn.pollEvent(); ev !== undefined && !this.done; ev = this.conn.pollEvent()) {
      switch (ev.type) {
        case 'data':
          this.call.handleData(now + (this.options.wallOffsetMs ?? 0), ev.bytes);
          break;
        case 'takeover-complete':
          this.active = true;
          this.call.resumeOutbound(ev.receiver.nextOffset);
          this.so.hooks.resumed(this, ev.receiver, now);
          this.tick(now);
          break;
        case 'closed':
          this.finish();
          this.so.hooks.closed(this, ev.error as BatonError | undefined);
          break;
        default:
          break;
      }
    }
  }

  stop(): void {
    this.finish();
  }

  state(now: Instant): TransportState {
    const { state, point } = this.call.announce(now);
    return { ...state, ownerId: this.so.ownerId, takeoverNumber: this.takeoverNumber, stream: this.mapping(point) };
  }

  /** The limit moves to the confirmed point; the state announced next describes it anyway (no announcement at once). */
  confirmed(now: Instant, end: number): boolean {
    if (!this.done) this.call.confirmed(now, end);
    return false;
  }

  /** Calls set no export barrier (frames are whole messages, or fixed-size on TCP-Migrate): nothing is held. */
  exportConfirmed(): void {}

  private mapping(point: number): StreamMapping {
    const frameBits = this.call.frameBytes * 8;
    return {
      applicationProtocol: VOICE_PROTOCOL,
      objectName: '',
      request: new Uint8Array(0),
      responseHeaderLength: 0,
      validator: '',
      objectLength: 0,
      objectStart: 0,
      requestStreamOffset: point,
      mediaClock: { bitsPerSecond: Math.round((frameBits * 1000) / this.call.frameMs), originUnixUs: Math.max(1, Math.round((this.origin + (this.options.wallOffsetMs ?? 0)) * 1000)) },
    };
  }

  /** Send the frame of the current media instant (frames missed while no server was alive are skipped), then arm the next. */
  private tick(now: Instant): void {
    if (this.done || !this.active) return;
    const seq = Math.floor((now - this.origin) / this.call.frameMs);
    if (seq >= this.nextSeq && this.conn.stateName !== 'CLOSED') {
      const payload = new Uint8Array(this.call.payloadBytes);
      new DataView(payload.buffer).setUint32(0, this.lastClientSeq < 0 ? 0xffffffff : this.lastClientSeq >>> 0);
      this.call.sendFrame(now + (this.options.wallOffsetMs ?? 0), seq, payload);
      this.nextSeq = seq + 1;
      this.so.hooks.wake();
    }
    const setTimer = this.so.hooks.setTimer;
    if (setTimer === undefined) return;
    this.timer = setTimer(this.origin + Math.max(this.nextSeq, seq + 1) * this.call.frameMs, () => {
      this.timer = undefined;
      this.tick(this.so.hooks.now());
    });
  }

  private finish(): void {
    this.done = true;
    this.timer?.cancel();
    this.timer = undefined;
  }
}
