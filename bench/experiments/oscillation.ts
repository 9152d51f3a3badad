// One download of the paper's §5.1 "server stability" experiment on the simulated network: a
// client fetches one object over a migratable transport while the external monitor moves its
// connection between two wedges every `periodMs` (each move a real takeover: import of the
// announced state, takeover request, the client's acceptance, an HTTP Range request to the
// taker's content server). What it costs is read from the client's side (when the last byte
// arrived) and from a trace of every packet the client sent and received.
import { get, WedgeWorld } from '../../src/sim/wedge-world.js';
import type { LinkConfig } from '../../src/sim/link.js';
import { TcpdumpReader } from '../../src/sim/tcpdump.js';
import { SeededRandom } from '../../src/transport-abstraction/random.js';
import type { ResumeMode, TransportKind } from '../../src/transport-abstraction/transport.js';

/** The paper's links (§5.1): 40 ms round trip, 128 kbit/s, a 14 KB bottleneck queue, each way. */
export const PAPER_LINK: LinkConfig = { delayMs: 20, rateBps: 128_000, queueBytes: 14 * 1024, overheadBytes: 28 };

/** The paper's single-server download time (Figure 5's caption), seconds. */
export const PAPER_SINGLE_SERVER_S = 61.96;

/**
 * The object: what the paper's link carried in 61.96 s. 128 kbit/s is 16,000 bytes/s of IP packets;
 * the paper's TCP put 1460 payload bytes in each 1500-byte packet, so 61.96 s carried
 * 61.96 × 16,000 × 1460/1500 = 964,924 bytes of object (slow start's first second ignored).
 */
export const PAPER_OBJECT_BYTES = Math.round(PAPER_SINGLE_SERVER_S * 16_000 * (1460 / 1500));

export interface OscillationRun {
  readonly kind: TransportKind;
  readonly mode: ResumeMode;
  /** Time between moves, ms; undefined: the connection stays on its first server. */
  readonly periodMs: number | undefined;
  readonly seed: number;
  readonly objectBytes?: number;
  readonly link?: LinkConfig;
  /** Minimum RTO of the servers and the client, ms (default 1000, the transports' own default). */
  readonly rtoMin?: number;
  /** Give up after this much virtual time, ms (default 20 minutes). */
  readonly limitMs?: number;
}

export interface OscillationResult {
  /** From the client's connect to the last byte of the response, seconds. */
  readonly downloadS: number;
  /** The object arrived whole and byte-identical, and the connection did not end in an error. */
  readonly complete: boolean;
  /** Takeovers won (moves that happened). */
  readonly moves: number;
  /** Data packets the client took from its server, and how many of them held nothing new (already received). */
  readonly dataPackets: number;
  readonly duplicatePackets: number;
  /** Data packets from a server the connection had moved away from (the client refuses them). */
  readonly refusedPackets: number;
  /** Mean time from a move command to the first new byte at the client, ms. */
  readonly meanStallMs: number;
}

/** Runs one download; deterministic for its arguments. */
export async function runOscillation(run: OscillationRun): Promise<OscillationResult> {
  const link = run.link ?? PAPER_LINK;
  const objectBytes = run.objectBytes ?? PAPER_OBJECT_BYTES;
  const world = new WedgeWorld({
    kind: run.kind,
    seed: run.seed,
    wedges: 2,
    health: 'external',
    updateMs: 3000,
    rtoMin: run.rtoMin ?? 1000,
    resumeMode: run.mode,
    monitorAddress: '10.0.2.1',
    clientLink: () => link,
  });
  const object = new Uint8Array(objectBytes);
  for (let i = 0; i < object.length; i++) object[i] = (i * 31 + (i >>> 8)) & 0xff;
  await world.startAll(new Map([['/o', object]]));
  const reader = new TcpdumpReader(run.kind, ['10.0.0.1']);
  world.net.onTrace(reader.listener());
  const started = world.net.now;
  const client = world.client('w1', [get('/o', true)]);
  const udpPort = client.attachment.addresses[0]!.port;
  const moves: number[] = [];
  let at = 'w1';
  if (run.periodMs !== undefined) {
    const period = run.periodMs;
    // The seed sets the phase: the first move comes a random fraction of a period after the
    // connect, so seeds meet the transfer at different moments (slow start, loss recovery).
    const phase = new SeededRandom(run.seed).float() * period;
    const move = (): void => {
      // No move once the whole object is in (or the connection is over): the download is done.
      if (client.closed || client.received >= objectBytes) return;
      at = at === 'w1' ? 'w2' : 'w1';
      moves.push(world.net.now);
      world.monitor((m) => m.move({ address: '10.0.0.1', port: 0, udpPort }, at));
      world.net.after(period, move);
    };
    world.net.schedule(started + period + phase, move);
  }
  world.net.runUntil(() => client.closed, started + (run.limitMs ?? 20 * 60_000));
  const bytes = client.collector.bytes();
  const headEnd = Buffer.from(bytes).indexOf('\r\n\r\n') + 4;
  const body = bytes.subarray(headEnd);
  const complete = headEnd > 4 && body.length === object.length && Buffer.compare(body, object) === 0 && client.collector.closed?.error === undefined;
  let dataPackets = 0;
  let duplicatePackets = 0;
  let refusedPackets = 0;
  const seen = new RangeSet();
  const accepted = client.takeovers.filter((t) => t.accepted);
  let peer = world.serverAddress('w1').address;
  for (const line of reader.lines) {
    while (accepted.length > 0 && accepted[0]!.time <= line.time) peer = accepted.shift()!.peer;
    if (line.direction !== 'in' || line.role !== 'data' || line.dataStart === undefined || line.dataEnd === undefined) continue;
    if (line.from.address !== peer) {
      refusedPackets++;
      continue;
    }
    dataPackets++;
    // SCTP lines count TSNs and TCP lines bytes: a packet is a duplicate when it held nothing new.
    if (seen.covers(line.dataStart, line.dataEnd)) duplicatePackets++;
    seen.add(line.dataStart, line.dataEnd);
  }
  const stalls = moves
    .map((m) => client.deliveries.find((d) => d > m))
    .filter((d): d is number => d !== undefined)
    .map((d, i) => d - moves[i]!);
  return {
    downloadS: ((client.collector.lastDataAt ?? world.net.now) - started) / 1000,
    complete,
    moves: world.events('takeover-won').length,
    dataPackets,
    duplicatePackets,
    refusedPackets,
    meanStallMs: stalls.length ? stalls.reduce((a, b) => a + b, 0) / stalls.length : 0,
  };
}

/** Disjoint half-open ranges [start, end), kept sorted and merged. */
class RangeSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  covers(start: number, end: number): boolean {
    for (let i = 0; i < this.starts.length; i++) if (this.starts[i]! <= start && end <= this.ends[i]!) return true;
    return false;
  }

  add(start: number, end: number): void {
    let s = start;
    let e = end;
    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < this.starts.length; i++) {
      const a = this.starts[i]!;
      const b = this.ends[i]!;
      if (b < s || a > e) {
        starts.push(a);
        ends.push(b);
      } else {
        s = Math.min(s, a);
        e = Math.max(e, b);
      }
    }
    const at = starts.findIndex((a) => a > s);
    const i = at < 0 ? starts.length : at;
    starts.splice(i, 0, s);
    ends.splice(i, 0, e);
    this.starts.splice(0, this.starts.length, ...starts);
    this.ends.splice(0, this.ends.length, ...ends);
  }
}
