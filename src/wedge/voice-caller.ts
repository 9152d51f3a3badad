// The client end of a call to a wedge hosting calls (`baton call`, README "Telephony sessions"), on
// the runtime seam (the simulator or real UDP): connects, sends a 20 ms frame (voice-frame.ts)
// every 20 ms for `frames` frames, and counts what came back: server frame delays (one way, Unix
// clock on both ends: `wallOffsetMs`), server frames missing between the first and the last it
// received, duplicates, cut frames, takeovers accepted, and the client frames the servers echoed.
import type { UdpAddress } from '../transport-abstraction/address.js';
import type { RandomSource } from '../transport-abstraction/random.js';
import type { Attachment, Runtime, RuntimeTimer } from '../transport-abstraction/runtime.js';
import type { Instant, MigratableTransport, TransportEndpoint, TransportKind } from '../transport-abstraction/transport.js';
import { createEndpoint } from '../transports.js';
import { VoiceCall } from './voice-session.js';

export interface VoiceCallerOptions {
  readonly runtime: Runtime;
  readonly kind: TransportKind;
  /** The local address to bind (port 0: any). */
  readonly local: UdpAddress;
  readonly server: UdpAddress;
  readonly random: RandomSource;
  /** Frames to send (the call lasts frames × 20 ms). */
  readonly frames: number;
  /** SCTP: PR-SCTP lifetime of a frame, ms (default 150). */
  readonly lifetimeMs?: number;
  readonly rtoMin?: number;
  /** Unix ms = runtime now + this (0 in the simulator). */
  readonly wallOffsetMs?: number;
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles (NaN for no values). */
export function percentiles(values: readonly number[]): Percentiles {
  const v = [...values].sort((x, y) => x - y);
  const at = (q: number) => (v.length === 0 ? NaN : v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)]!);
  return { count: v.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: v.length === 0 ? NaN : v[v.length - 1]! };
}

export interface CallReport {
  readonly sent: number;
  readonly droppedAtSender: number;
  readonly received: number;
  /** Server frames missing between the first and the last number received. */
  readonly lost: number;
  readonly duplicates: number;
  readonly corrupt: number;
  readonly late: number;
  readonly takeovers: number;
  /** Highest client frame number a server echoed (-1: none). */
  readonly echoed: number;
  /** One-way delay of server frames, ms. */
  readonly delay: Percentiles;
  /** How the connection ended before the call's end ('' while open). */
  readonly closed: string;
}

export class VoiceCaller {
  readonly conn: MigratableTransport;
  readonly call: VoiceCall;
  readonly delays: number[] = [];
  takeovers = 0;
  closed = '';
  /** Runtime instant of the newest server frame received (-Infinity: none). */
  lastFrameAt = -Infinity;
  private firstSeq = Infinity;
  private lastSeq = -1;
  private echoed = -1;
  private k = 0;
  private start: Instant | undefined;
  private timer: RuntimeTimer | undefined;
  private finishedListener: (() => void) | undefined;
  /** Resolves once every frame was sent (or the connection closed). */
  readonly finished: Promise<void>;

  private constructor(
    private readonly options: VoiceCallerOptions,
    private readonly attachment: Attachment<TransportEndpoint>,
  ) {
    const rt = options.runtime;
    this.conn = attachment.core.connect(rt.now(), options.server);
    this.call = new VoiceCall(this.conn);
    this.call.onFrame = (frame, delay) => {
      this.lastFrameAt = options.runtime.now();
      this.delays.push(delay);
      this.firstSeq = Math.min(this.firstSeq, frame.seq);
      this.lastSeq = Math.max(this.lastSeq, frame.seq);
      const echo = new DataView(frame.payload.buffer, frame.payload.byteOffset, 4).getUint32(0);
      if (echo !== 0xffffffff) this.echoed = Math.max(this.echoed, echo);
    };
    this.finished = new Promise((resolve) => (this.finishedListener = resolve));
  }

  static async start(options: VoiceCallerOptions): Promise<VoiceCaller> {
    const holder: { caller?: VoiceCaller } = {};
    const attachment = await options.runtime.attach(
      [options.local],
      (bound) => createEndpoint(options.kind, { addresses: bound, random: options.random, messages: { lifetimeMs: options.lifetimeMs ?? 150 }, ...(options.rtoMin !== undefined ? { rtoMin: options.rtoMin } : {}) }),
      (now) => holder.caller?.input(now),
    );
    holder.caller = new VoiceCaller(options, attachment);
    attachment.wake();
    return holder.caller;
  }

  /** The handshake completed (the call began). */
  get connected(): boolean {
    return this.start !== undefined;
  }

  /** Every frame was sent, or the connection closed. */
  get over(): boolean {
    return this.closed !== '' || this.k >= this.options.frames;
  }

  report(): CallReport {
    const s = this.call.stats;
    return {
      sent: s.sent,
      droppedAtSender: s.droppedAtSender,
      received: s.received,
      lost: this.lastSeq < 0 ? 0 : this.lastSeq - this.firstSeq + 1 - s.received,
      duplicates: s.duplicates,
      corrupt: s.corrupt,
      late: s.late,
      takeovers: this.takeovers,
      echoed: this.echoed,
      delay: percentiles(this.delays),
      closed: this.closed,
    };
  }

  async close(): Promise<void> {
    this.timer?.cancel();
    await this.attachment.close();
  }

  private get wall(): number {
    return this.options.wallOffsetMs ?? 0;
  }

  private input(now: Instant): void {
    for (let e = this.conn.pollEvent(); e !== undefined; e = this.conn.pollEvent()) {
      if (e.type === 'data') this.call.handleData(now + this.wall, e.bytes);
      else if (e.type === 'taken-over') this.takeovers++;
      else if (e.type === 'connected' && this.start === undefined) {
        this.start = now;
        this.tick();
      } else if (e.type === 'closed') {
        this.closed = e.error?.code ?? 'closed';
        this.timer?.cancel();
        this.finishedListener?.();
      }
    }
  }

  private tick(): void {
    const rt = this.options.runtime;
    if (this.closed !== '' || this.start === undefined) return;
    if (this.k >= this.options.frames) {
      this.finishedListener?.();
      return;
    }
    this.call.sendFrame(rt.now() + this.wall, this.k++);
    this.attachment.wake();
    this.timer = rt.setTimer(this.start + this.k * this.call.frameMs, () => this.tick());
  }
}
