// The paced media mapper (issue 10, "Streams that are not files"): HTTP/1.1 exactly as HttpMapper
// maps it, with every resumable body (a 200 or 206 with a length and a strong validator) sent at
// its media bit rate instead of as fast as the client takes it. The rate is `--pace`'s (one for
// every object the wedge serves: a raw or constant-bit-rate stream such as MPEG-TS at its mux
// rate). The mapping ties stream offset to media time: the body's object byte k is due at
// origin + (k - objectStart) * 8 / rate, with origin the instant its response head was counted;
// rate and origin travel in the announced StreamMapping (MediaClock, Unix µs), so a taker resumes
// at the client's next byte AND at that byte's instant, and keeps the pace (media-pace.ts: what it
// does when behind). The wedge's session asks paceLimit() before it hands the transport a byte.
//
// Clocks: the pool shares Unix time; a mapper runs on its runtime's clock (`now`, monotonic in the
// daemon, virtual in the simulator) and converts with `wallOffsetMs` (Unix ms = now + offset),
// which the daemon measures once at start. Sans-IO: nothing here reads a clock.
import type { MediaClock, StreamMapping } from '../transport-abstraction/state-types.js';
import type { Instant } from '../transport-abstraction/transport.js';
import { HttpMapper, type HttpMapperOptions } from './http-mapper.js';
import { ResumeError } from './http-resume.js';
import type { MapperEvent, PaceLimit, StreamMapper, StreamMapperFactory } from './mapper.js';
import { checkRate, MediaPace, type PaceOptions } from './media-pace.js';

export interface MediaMapperOptions extends HttpMapperOptions {
  /** The media bit rate of every paced body (checked: media-pace.ts' checkRate). */
  readonly bitsPerSecond: number;
  /** The runtime's clock (Runtime#now). */
  readonly now: () => Instant;
  /** Unix ms minus the runtime's ms (0 in the simulator, whose clock the pool shares). */
  readonly wallOffsetMs?: number;
  readonly pace?: PaceOptions;
}

/** HttpMapper with paced bodies; see the file comment. */
export class MediaMapper implements StreamMapper {
  readonly protocol: string;
  private readonly inner: HttpMapper;
  /** Paced bodies by stream offset, oldest first; kept until the client acknowledged them. */
  private readonly paces: MediaPace[] = [];
  private readonly queued: MapperEvent[] = [];

  constructor(
    private readonly options: MediaMapperOptions,
    resume?: { readonly mapping: StreamMapping; readonly nextOffset: number },
  ) {
    this.inner = new HttpMapper(options);
    this.protocol = this.inner.protocol;
    if (resume === undefined) return;
    const clock = resume.mapping.mediaClock;
    if (clock !== undefined) {
      const bad = checkRate(clock.bitsPerSecond, 'the announced media rate');
      if (bad) {
        // Not one byte goes out unpaced or at a made-up rate: the takeover is refused.
        this.queued.push({ type: 'close', error: new ResumeError('BATON_ERR_RESUME_STATE', bad.message, { cause: bad }) });
        return;
      }
      const m = resume.mapping;
      const bodyStart = m.responseHeaderLength;
      const origin = clock.originUnixUs / 1000 - (options.wallOffsetMs ?? 0);
      this.paces.push(new MediaPace(clock.bitsPerSecond, bodyStart, bodyStart + m.objectLength, origin, { offset: resume.nextOffset, now: options.now() }, options.pace));
    }
    this.inner.startResume(resume.mapping, resume.nextOffset);
  }

  /** The clock of the paced body at `offset` or after it, if any. */
  pace(offset: number): MediaPace | undefined {
    return this.paces.find((p) => p.end > offset);
  }

  handleClientBytes(bytes: Uint8Array): void {
    this.inner.handleClientBytes(bytes);
  }

  handleClientEnd(): void {
    this.inner.handleClientEnd();
  }

  handleBackendBytes(bytes: Uint8Array): void {
    this.inner.handleBackendBytes(bytes);
  }

  handleBackendEnd(): void {
    this.inner.handleBackendEnd();
  }

  pollEvent(): MapperEvent | undefined {
    const queued = this.queued.shift();
    if (queued !== undefined) return queued;
    const ev = this.inner.pollEvent();
    if (ev?.type !== 'mapping') return ev;
    // A counted head of a resumable body starts that body's clock, before its first byte is relayed.
    const m = ev.mapping;
    if (m.validator !== '' && m.objectLength > 0 && (m.resumeContext?.responseHead.length ?? 0) > 0 && this.clockOf(m) === undefined) {
      const now = this.options.now();
      const bodyStart = m.responseHeaderLength;
      this.paces.push(new MediaPace(this.options.bitsPerSecond, bodyStart, bodyStart + m.objectLength, now, { offset: bodyStart, now }, this.options.pace));
    }
    return { type: 'mapping', mapping: this.withClock(m) };
  }

  mapping(acked?: number): StreamMapping | undefined {
    if (acked !== undefined) while (this.paces.length > 0 && this.paces[0]!.end <= acked) this.paces.shift();
    const m = this.inner.mapping(acked);
    return m && this.withClock(m);
  }

  paceLimit(now: Instant, offset: number, buffered: number): PaceLimit {
    const p = this.pace(offset);
    if (p === undefined) return { limit: Infinity };
    if (offset < p.bodyStart) return { limit: p.bodyStart }; // head bytes (and earlier unpaced bodies) go at once
    return p.limit(now, offset, buffered);
  }

  private clockOf(m: StreamMapping): MediaPace | undefined {
    return this.paces.find((p) => p.bodyStart === m.responseHeaderLength && (m.resumeContext?.responseHead.length ?? 0) > 0);
  }

  private withClock(m: StreamMapping): StreamMapping {
    const p = this.clockOf(m);
    if (p === undefined) return m;
    const mediaClock: MediaClock = { bitsPerSecond: p.bitsPerSecond, originUnixUs: Math.max(0, Math.round((p.origin + (this.options.wallOffsetMs ?? 0)) * 1000)) };
    return { ...m, mediaClock };
  }
}

/** Makes MediaMappers (`baton serve --pace RATE`). */
export class MediaMapperFactory implements StreamMapperFactory {
  readonly protocol = 'http/1.1';
  constructor(private readonly options: MediaMapperOptions) {
    const bad = checkRate(options.bitsPerSecond, 'the media rate');
    if (bad) throw bad;
  }

  create(): MediaMapper {
    return new MediaMapper(this.options);
  }

  resume(mapping: StreamMapping, nextOffset: number): MediaMapper {
    return new MediaMapper(this.options, { mapping, nextOffset });
  }
}
