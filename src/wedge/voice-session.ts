// A telephony session (README "Telephony sessions"): one end of a bidirectional call of 20 ms
// frames (voice-frame.ts) over a MigratableTransport, client or server, sans-IO.
//
// SCTP: message mode, one frame per unordered (or, `ordered`, ordered) message, PR-SCTP timed reliability (a frame not
// acknowledged within `lifetimeMs` of its first transmission is abandoned, src/sctp/pr-sctp.ts).
// TCP-Migrate: fixed-size frames back to back on the reliable byte stream.
//
// What survives a takeover, and how (the server side's part is `announce` / `confirmed`):
//  - Client → server, TCP-Migrate: the server announces a state whose receive point is the frame
//    boundary R it has received up to, and acknowledges the client's bytes only up to the R of a
//    state a support-group member confirmed (setAcknowledgeLimit). A taker resumes at that R:
//    everything before it reached the old server, everything after it the client still holds and
//    sends again to the taker. No frame is lost; the frames the old server received after its last
//    announcement reached a member (one announcement period at most) reach the taker as well.
//  - Client → server, SCTP: the same rule in the contract's order (limit := received point, then
//    export); with PR-SCTP a frame the taker lacks is abandoned by the client (FORWARD-TSN) once
//    its lifetime is over, and frames the old server acknowledged beyond the taker's state are
//    skipped by a FORWARD-TSN at once (pr-sctp.ts afterSack), so the call never stalls.
//  - Server → client: frames are numbered by media time (seq = frame index since the call began),
//    so a taker continues the numbering from the clock; the receiving end drops a seq it has seen
//    (`duplicates`), so no frame is played twice. SCTP: the taker resumes after the highest TSN the
//    client holds and skips the old server's lost frames by FORWARD-TSN; TCP-Migrate: the taker
//    pads the stream to the next frame boundary (the cut frame fails its check: `corrupt`).
//  - Frames that arrive later than `playoutMs` after they were sent are counted `late` (a jitter
//    buffer would drop them); delays are recorded for every frame that arrives.
import type { TransportState } from '../transport-abstraction/state-types.js';
import type { Instant, MigratableTransport } from '../transport-abstraction/transport.js';
import { DEFAULT_PAYLOAD, FrameReader, decodeFrame, encodeFrame, frameSize, type VoiceFrame } from './voice-frame.js';

export interface VoiceCallOptions {
  /** Audio bytes per frame (default 160). */
  readonly payloadBytes?: number;
  /** Frame period in ms (default 20). */
  readonly frameMs?: number;
  /** A frame older than this on arrival is late (default 150 ms, ITU-T G.114's comfortable one-way bound). */
  readonly playoutMs?: number;
  /**
   * SCTP: do not hand the transport a frame while this many ms of frames are still unacknowledged
   * (the frame is dropped at the sender instead: audio for a dead server is useless). Default 200;
   * undefined on TCP-Migrate, which is reliable: every frame written is delivered.
   */
  readonly sendBoundMs?: number;
  /** Where the transport's streams stand (a taker: receive point of the imported state, send point after the takeover). */
  readonly inboundOffset?: number;
  /**
   * SCTP: send each frame as an ordered message (stream 0) instead of an unordered one. Ordered
   * delivery continues across a takeover (the state carries the SSNs: src/sctp/pr-sctp.ts
   * messageResume); a lost frame then holds the ones behind it until it is resent or abandoned.
   */
  readonly ordered?: boolean;
}

export interface VoiceStats {
  sent: number;
  droppedAtSender: number;
  received: number;
  duplicates: number;
  corrupt: number;
  late: number;
  /** New frames that arrived after a later one (never on an ordered stream). */
  outOfOrder: number;
}

export class VoiceCall {
  readonly stats: VoiceStats = { sent: 0, droppedAtSender: 0, received: 0, duplicates: 0, corrupt: 0, late: 0, outOfOrder: 0 };
  /** Called for every new frame with its one-way delay (receiver's now − sender's sentAt). */
  onFrame: ((frame: VoiceFrame, delayMs: number, now: Instant) => void) | undefined;
  readonly payloadBytes: number;
  readonly frameMs: number;
  readonly playoutMs: number;
  private readonly size: number;
  private reader: FrameReader;
  private readonly seen = new Set<number>();
  private highestSeen = -1;
  private readonly sendBound: number | undefined;
  private readonly unordered: boolean;
  /** Server side: the acknowledge limit in force. */
  private limit = 0;

  constructor(
    readonly conn: MigratableTransport,
    options: VoiceCallOptions = {},
  ) {
    this.payloadBytes = options.payloadBytes ?? DEFAULT_PAYLOAD;
    this.frameMs = options.frameMs ?? 20;
    this.playoutMs = options.playoutMs ?? 150;
    this.size = frameSize(this.payloadBytes);
    this.reader = new FrameReader(this.size, options.inboundOffset ?? 0);
    const boundMs = options.sendBoundMs ?? (conn.kind === 'sctp' ? 200 : undefined);
    this.sendBound = boundMs === undefined ? undefined : Math.ceil(boundMs / this.frameMs) * this.size;
    this.unordered = options.ordered !== true;
  }

  /** Bytes of one frame on the wire (before transport headers). */
  get frameBytes(): number {
    return this.size;
  }

  /** Send frame `seq` now (its payload a fixed pattern: the benchmark has no audio). */
  sendFrame(now: Instant, seq: number, payload?: Uint8Array): boolean {
    if (this.sendBound !== undefined && this.conn.bufferedAmount + this.size > this.sendBound) {
      this.stats.droppedAtSender++;
      return false;
    }
    const frame = encodeFrame({ seq, sentAt: now, payload: payload ?? new Uint8Array(this.payloadBytes).fill(seq & 0xff) });
    const n = this.conn.kind === 'sctp' ? this.conn.send(frame, { stream: 0, unordered: this.unordered }) : this.conn.send(frame);
    if (n !== frame.length) {
      // SCTP message mode takes a message whole or not at all; TCP-Migrate's 4 MiB buffer is far
      // from full at 8.8 kB/s, so a partial write means the call is hopeless: count it.
      this.stats.droppedAtSender++;
      return false;
    }
    this.stats.sent++;
    return true;
  }

  /** A 'data' event of the transport. */
  handleData(now: Instant, bytes: Uint8Array): void {
    const frames = this.conn.kind === 'sctp' ? [bytes] : this.reader.push(bytes);
    for (const raw of frames) {
      const f = decodeFrame(raw, this.payloadBytes);
      if (f === undefined) {
        this.stats.corrupt++;
        continue;
      }
      if (this.seen.has(f.seq) || f.seq + 4096 <= this.highestSeen) {
        this.stats.duplicates++;
        continue;
      }
      this.seen.add(f.seq);
      if (f.seq < this.highestSeen) this.stats.outOfOrder++;
      if (f.seq > this.highestSeen) {
        this.highestSeen = f.seq;
        if (this.seen.size > 8192) for (const s of this.seen) if (s + 4096 <= this.highestSeen) this.seen.delete(s);
      }
      this.stats.received++;
      const delay = now - f.sentAt;
      if (delay > this.playoutMs) this.stats.late++;
      this.onFrame?.(f, delay, now);
    }
  }

  // ------------------------------------------------------------------ server side: the group's state

  /**
   * Server side, right after accept() or importState(): acknowledge nothing beyond the state a
   * support-group member holds (see the file comment).
   */
  holdAcknowledgements(now: Instant): void {
    this.limit = this.conn.receivedOffset;
    this.conn.setAcknowledgeLimit(now, this.limit);
  }

  /**
   * The state to announce to the support group now, and the client stream offset it places
   * (pass it to confirmed() when a member stored the state).
   */
  announce(now: Instant): { state: TransportState; point: number } {
    const received = this.conn.receivedOffset;
    if (this.conn.kind === 'sctp') {
      // The contract's order: the limit at the received point, then the state that describes it.
      this.limit = received;
      this.conn.setAcknowledgeLimit(now, received);
      return { state: this.conn.exportState(now), point: received };
    }
    // TCP-Migrate: sequence numbers are stream offsets. The state says the receive point is the
    // last whole frame received (R) although the acknowledgement stays where a member confirmed:
    // a taker acknowledges R at once (everything before it reached this server) and the client
    // sends it the rest again.
    const point = received - (received % this.size);
    const state = this.conn.exportState(now);
    const tcp = state.tcp;
    if (tcp !== undefined && point > this.limit) {
      const ahead = point - Math.min(this.limit, received);
      state.tcp = { ...tcp, rcvNxt: (tcp.rcvNxt + ahead) >>> 0 };
    }
    return { state, point };
  }

  /** A support-group member stored the state announce() returned with `point`. */
  confirmed(now: Instant, point: number): void {
    if (point <= this.limit) return;
    this.limit = point;
    this.conn.setAcknowledgeLimit(now, point);
  }

  /**
   * Taker, after 'takeover-complete' on TCP-Migrate: the client holds the server→client stream up
   * to `nextOffset`, perhaps inside a frame. Pad to the next frame boundary (the cut frame fails its
   * check at the client) so that the frames that follow are whole.
   */
  resumeOutbound(nextOffset: number): void {
    if (this.conn.kind !== 'tcp') return;
    const pad = (this.size - (nextOffset % this.size)) % this.size;
    if (pad > 0) this.conn.send(new Uint8Array(pad));
  }
}
