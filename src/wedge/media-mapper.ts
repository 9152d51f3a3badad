// The paced media mapper (issue 10, "Streams that are not files"): HTTP/1.1 exactly as HttpMapper
// maps it, with every resumable body (a 200 or 206 with a length and a strong validator) sent at
// its media bit rate instead of as fast as the client takes it. The rate is either given
// (`--pace RATE`: one rate for every object, e.g. raw or constant-bit-rate streams of one mux
// rate) or read from each object (`--pace ts`: the MPEG-TS mux rate from its first two PCRs,
// mpeg-ts.ts). The mapping ties stream offset to media time: the body's object byte k is due at
// origin + (k - objectStart) * 8 / rate, with origin the instant the sender reached the body's
// first byte (0 in the mapping until then: a taker starts the clock itself); rate and origin travel in the announced StreamMapping (MediaClock, Unix µs), so a taker
// resumes at the client's next byte AND at that byte's instant, and keeps the pace (media-pace.ts:
// what it does when behind). The wedge's session asks paceLimit() before it hands the transport a
// byte.
//
// Reading the rate from the object: the response head and the body's first bytes are held here
// (nothing reaches the client) until two PCRs gave the rate; then they go, paced from that
// instant. No rate (not MPEG-TS, no two PCRs of one PID within 512 KiB, a rate out of range): the
// client gets `502` naming BATON_ERR_MEDIA_RATE instead of the response, and the connection
// closes. A mapping announced while the rate is being read says the response has not begun (a
// taker replays the request and reads the rate itself).
//
// A taker paces by the state, not by its own flag: a resumed body whose mapping carries a media
// clock goes at that clock's rate from that origin whatever this wedge's `--pace` (another rate,
// or none: ClockKeepingMapperFactory serves new responses unpaced, as HttpMapper, and resumes paced
// ones paced). Its own rate applies only to the responses it begins itself.
//
// Clocks: the pool shares Unix time; a mapper runs on its runtime's clock (`now`, monotonic in the
// daemon, virtual in the simulator) and converts with `wallOffsetMs` (Unix ms = now + offset),
// which the daemon measures once at start. Sans-IO: nothing here reads a clock.
import type { MediaClock, StreamMapping } from '../transport-abstraction/state-types.js';
import type { Instant } from '../transport-abstraction/transport.js';
import { errorResponse } from './http-errors.js';
import { HttpMapper, HttpMapperFactory, type HttpMapperOptions } from './http-mapper.js';
import { ResumeError, withResumeContext } from './http-resume.js';
import type { MapperEvent, PaceLimit, StreamMapper, StreamMapperFactory } from './mapper.js';
import { checkRate, MediaPace, MediaRateError, type PaceOptions } from './media-pace.js';
import { PcrProbe } from './mpeg-ts.js';

/** Where the media rate comes from: a given rate (bits per second), or each object's MPEG-TS clock. */
export type MediaRate = number | 'mpeg-ts';

export interface MediaMapperOptions extends HttpMapperOptions {
  /** The rate of the responses this wedge begins; absent: unpaced (a resumed body keeps its announced clock). */
  readonly rate?: MediaRate;
  /** The runtime's clock (Runtime#now). */
  readonly now: () => Instant;
  /** Unix ms minus the runtime's ms (0 in the simulator, whose clock the pool shares). */
  readonly wallOffsetMs?: number;
  readonly pace?: PaceOptions;
  /** Most body bytes read for the MPEG-TS rate; default mpeg-ts.ts' DEFAULT_PROBE_BYTES. */
  readonly probeBytes?: number;
}

/** A response whose rate is being read: its events are held until it is known. */
interface Probe {
  readonly reader: PcrProbe;
  readonly bodyStart: number;
  readonly held: MapperEvent[];
}

const EMPTY = new Uint8Array(0);

/** HttpMapper with paced bodies; see the file comment. */
export class MediaMapper implements StreamMapper {
  readonly protocol: string;
  private readonly inner: HttpMapper;
  /** Paced bodies by stream offset, oldest first; kept until the client acknowledged them. */
  private readonly paces: MediaPace[] = [];
  /** Events ready for the session. */
  private readonly ready: MapperEvent[] = [];
  private probe: Probe | undefined;
  /** The rate could not be read: the 502 went out; the inner mapper's events are dropped. */
  private refused = false;
  /** Server->client stream offset after the 'to-client' events taken from the inner mapper. */
  private streamAt = 0;

  constructor(
    private readonly options: MediaMapperOptions,
    resume?: { readonly mapping: StreamMapping; readonly nextOffset: number },
  ) {
    this.inner = new HttpMapper(options);
    this.protocol = this.inner.protocol;
    if (resume === undefined) return;
    this.streamAt = resume.nextOffset;
    const clock = resume.mapping.mediaClock;
    if (clock !== undefined) {
      const bad = checkRate(clock.bitsPerSecond, 'the announced media rate');
      if (bad) {
        // Not one byte goes out unpaced or at a made-up rate: the takeover is refused.
        this.refused = true;
        this.ready.push({ type: 'close', error: new ResumeError('BATON_ERR_RESUME_STATE', bad.message, { cause: bad }) });
        return;
      }
      const m = resume.mapping;
      const bodyStart = m.responseHeaderLength;
      const origin = clock.originUnixUs === 0 ? undefined : clock.originUnixUs / 1000 - (options.wallOffsetMs ?? 0);
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
    if (this.ready.length === 0) this.take();
    return this.ready.shift();
  }

  mapping(acked?: number): StreamMapping | undefined {
    if (acked !== undefined) while (this.paces.length > 0 && this.paces[0]!.end <= acked) this.paces.shift();
    const m = this.inner.mapping(acked);
    if (m === undefined) return undefined;
    // Being read (or refused): nothing of this response went to the client; a taker replays the request.
    const start = m.resumeContext?.responseStreamOffset ?? 0;
    if ((this.probe !== undefined || this.refused) && m.responseHeaderLength === (this.probe?.bodyStart ?? m.responseHeaderLength)) {
      return { ...withResumeContext(m, { responseHead: EMPTY }), responseHeaderLength: start, validator: '' };
    }
    return this.withClock(m);
  }

  paceLimit(now: Instant, offset: number, buffered: number): PaceLimit {
    const p = this.pace(offset);
    if (p === undefined) return { limit: Infinity };
    if (offset < p.bodyStart) return { limit: p.bodyStart }; // head bytes (and earlier unpaced bodies) go at once
    return p.limit(now, offset, buffered);
  }

  /** Moves the inner mapper's events to `ready`, starting clocks at response heads, holding a probed response. */
  private take(): void {
    const incoming: MapperEvent[] = [];
    for (let ev = this.inner.pollEvent(); ev !== undefined; ev = this.inner.pollEvent()) incoming.push(ev);
    for (let i = 0; i < incoming.length && !this.refused; i++) {
      const ev = incoming[i]!;
      if (this.probe !== undefined) {
        this.probeEvent(this.probe, ev);
        continue;
      }
      if (ev.type === 'to-client') {
        this.streamAt += ev.bytes.length;
        const next = incoming[i + 1];
        // A response head is followed at once by the mapping that counted it: read the rate first.
        if (this.options.rate === 'mpeg-ts' && next?.type === 'mapping' && paced(next.mapping) && next.mapping.responseHeaderLength === this.streamAt && this.clockOf(next.mapping) === undefined) {
          this.probe = { reader: new PcrProbe(this.options.probeBytes), bodyStart: this.streamAt, held: [ev] };
          continue;
        }
      } else if (ev.type === 'mapping' && typeof this.options.rate === 'number' && paced(ev.mapping) && this.clockOf(ev.mapping) === undefined) {
        this.startClock(this.options.rate, ev.mapping);
      }
      this.ready.push(ev.type === 'mapping' ? { type: 'mapping', mapping: this.withClock(ev.mapping) } : ev);
    }
  }

  private probeEvent(probe: Probe, ev: MapperEvent): void {
    probe.held.push(ev);
    let found: number | MediaRateError | undefined;
    if (ev.type === 'to-client') {
      this.streamAt += ev.bytes.length;
      found = probe.reader.push(ev.bytes);
    } else if (ev.type === 'response-end' || ev.type === 'close') {
      found = probe.reader.end();
    }
    if (found === undefined) return;
    this.probe = undefined;
    if (found instanceof MediaRateError) {
      // Nothing of the response went out: the client gets the cause instead; the session closes the content server.
      this.refused = true;
      this.ready.push({ type: 'to-client', bytes: errorResponse({ status: 502, code: found.code }) }, { type: 'close', error: found });
      return;
    }
    const mapping = probe.held.find((e): e is Extract<MapperEvent, { type: 'mapping' }> => e.type === 'mapping')!.mapping;
    this.startClock(found, mapping);
    for (const e of probe.held) this.ready.push(e.type === 'mapping' ? { type: 'mapping', mapping: this.withClock(e.mapping) } : e);
  }

  /** The body of `m` goes at `bitsPerSecond`, its clock started when the sender reaches it. */
  private startClock(bitsPerSecond: number, m: StreamMapping): void {
    const bodyStart = m.responseHeaderLength;
    this.paces.push(new MediaPace(bitsPerSecond, bodyStart, bodyStart + m.objectLength, undefined, { offset: bodyStart, now: this.options.now() }, this.options.pace));
  }

  private clockOf(m: StreamMapping): MediaPace | undefined {
    return this.paces.find((p) => p.bodyStart === m.responseHeaderLength && (m.resumeContext?.responseHead.length ?? 0) > 0);
  }

  private withClock(m: StreamMapping): StreamMapping {
    const p = this.clockOf(m);
    if (p === undefined) return m;
    const origin = p.origin === undefined ? 0 : Math.max(1, Math.round((p.origin + (this.options.wallOffsetMs ?? 0)) * 1000));
    const mediaClock: MediaClock = { bitsPerSecond: p.bitsPerSecond, originUnixUs: origin };
    return { ...m, mediaClock };
  }
}

/** A mapping of a counted head whose body can be paced (and resumed): a length and a strong validator. */
function paced(m: StreamMapping): boolean {
  return m.validator !== '' && m.objectLength > 0 && (m.resumeContext?.responseHead.length ?? 0) > 0;
}

/** Makes MediaMappers (`baton serve --pace RATE|ts`). */
export class MediaMapperFactory implements StreamMapperFactory {
  readonly protocol = 'http/1.1';
  constructor(private readonly options: MediaMapperOptions & { readonly rate: MediaRate }) {
    if (options.rate === 'mpeg-ts') return;
    const bad = checkRate(options.rate, 'the media rate');
    if (bad) throw bad;
  }

  create(): MediaMapper {
    return new MediaMapper(this.options);
  }

  resume(mapping: StreamMapping, nextOffset: number): MediaMapper {
    return new MediaMapper(this.options, { mapping, nextOffset });
  }
}

/**
 * A wedge without `--pace`: new connections are plain HTTP (HttpMapper, nothing paced); a connection
 * taken over whose state carries a media clock gets a MediaMapper without a rate of its own, paced
 * by that clock (and its later responses unpaced).
 */
export class ClockKeepingMapperFactory implements StreamMapperFactory {
  readonly protocol = 'http/1.1';
  private readonly http: HttpMapperFactory;
  constructor(private readonly options: Omit<MediaMapperOptions, 'rate'>) {
    this.http = new HttpMapperFactory(options);
  }

  create(): HttpMapper {
    return this.http.create();
  }

  resume(mapping: StreamMapping, nextOffset: number): StreamMapper {
    if (mapping.mediaClock === undefined) return this.http.resume(mapping, nextOffset);
    return new MediaMapper(this.options, { mapping, nextOffset });
  }
}
