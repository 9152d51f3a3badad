// `baton experiment failover`, the virtual-time half of issue 13's failover experiment: from the
// death notice to the first resumed byte at the client, per RTT of the winning path, both
// transports, with the duplicate copies the takeover cost counted.
//
// The world (src/sim/, virtual clock, seeded): a client, the serving server A (10 ms RTT,
// 2 Mbit/s, a 14 KB queue) and the taker B (RTT under test, no rate limit: only the round trip
// is measured, not serialization). A streams a file; at KILL_AT_MS its state is exported (the
// freshest a support group can hold: announced at the moment of death) and host A is killed;
// the death notice reaches B NOTICE_AFTER_MS later (A's last packets have landed by then), and B
// imports the state and takes over at once, handing the transport the stream bytes from the
// state's acknowledged point (the blind resume, see takeover() in transport.ts). Measured at the
// client: the first byte its application receives after the notice, the bytes of the stream it
// held at the notice, and every DATA copy the network delivered to it (per TCP byte, per SCTP
// TSN), so "duplicates" are copies of what it already held and "max copies" is the worst byte.
//
// The paired bench/experiments/kill-to-resume.ts (real processes, SIGKILL → first resumed byte
// with the heartbeat monitor) is another file.
import { createHash } from 'node:crypto';
import { SimNetwork } from '../../src/sim/network.js';
import { makeFile } from '../../src/sim/object.js';
import { get, WedgeWorld } from '../../src/sim/wedge-world.js';
import { createEndpoint, DEFAULT_UDP_PORT } from '../../src/transports.js';
import type { MigratableTransport, TransportKind } from '../../src/transport-abstraction/transport.js';
import type { TransportState } from '../../src/transport-abstraction/state-types.js';
import { memorySource, StreamCollector, StreamSender } from '../../src/stream/index.js';
import { parseSegment } from '../../src/tcp-migrate/wire.js';
import { parsePacket } from '../../src/sctp/wire/parse.js';
import { integerOption, type Experiment, type ExperimentContext } from './experiment.js';
import { killToResume } from './kill-to-resume.js';
import type { ExperimentOutput } from './report.js';

export const KILL_AT_MS = 400;
export const NOTICE_AFTER_MS = 60;
/** The wedge variant: w1 dies this long after the client's connect, mid-stream. */
export const WEDGE_KILL_AT_MS = 1_500;
/** The goal of issue 12: death notice → first resumed byte within one RTT of the winning path + 2 ms. */
export const GOAL_SLACK_MS = 2;
export const DEFAULT_RTTS = [10, 40, 100, 200] as const;

const HOSTS = { client: '10.0.0.1', a: '10.0.0.2', b: '10.0.0.3' } as const;

export interface FailoverOptions {
  readonly kind: TransportKind;
  /** Round-trip time of the client ↔ taker path (ms). */
  readonly rttMs: number;
  readonly seed?: number;
  readonly fileLength?: number;
  /** Hand the taker the stream bytes from the state's point with the takeover (default true). */
  readonly blindResume?: boolean;
  /** The taker's path MTU (default: the endpoints' default): another chunk size than the old owner's. */
  readonly takerMtu?: number;
  /** Send the blind bytes from this far past the state's point (resumeAt; a prediction that overshoots the client leaves a hole). */
  readonly blindAhead?: number;
}

export interface FailoverResult {
  readonly kind: TransportKind;
  readonly rttMs: number;
  /** What took over: the library with the state exported at the death, or the wedge with the state as announced. */
  readonly variant?: string;
  /** Death notice → first byte delivered to the client's application (ms). */
  readonly resumeMs: number;
  /** The same in RTTs of the taker's path. */
  readonly resumeRtts: number;
  /** Stream bytes the client held at the notice, and how far that was past the state's point. */
  readonly heldAtNotice: number;
  readonly stateLag: number;
  /** Copies delivered after the notice of data the client already held (TCP: bytes, SCTP: DATA chunks). */
  readonly duplicates: number;
  readonly duplicateUnit: 'bytes' | 'chunks';
  /** The most copies of any one byte (TCP) / TSN (SCTP) the client was delivered over the run. */
  readonly maxCopies: number;
  /** The client got the whole file, intact. */
  readonly intact: boolean;
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}


/** Counts every DATA copy delivered to the client: per wire sequence number (TCP) or per TSN (SCTP). */
class CopyCounter {
  readonly copies = new Map<number, number>();
  duplicatesAfter = 0;
  counting = false;

  constructor(readonly kind: TransportKind) {}

  deliver(payload: Uint8Array): void {
    if (this.kind === 'tcp') {
      const p = parseSegment(payload);
      // A Migrate SYN's payload is its re-keying key, not stream bytes.
      if (!p.ok || p.segment.payload.length === 0 || (p.segment.flags & 0x02) !== 0) return;
      for (let i = 0; i < p.segment.payload.length; i++) this.add((p.segment.seq + i) >>> 0, 1);
      return;
    }
    const p = parsePacket(payload, { verifyChecksum: false });
    if (!p.ok) return;
    for (const c of p.packet.chunks) if (c.type === 0 && 'tsn' in c) this.add(c.tsn >>> 0, 1);
  }

  private add(key: number, n: number): void {
    const before = this.copies.get(key) ?? 0;
    this.copies.set(key, before + n);
    if (this.counting && before > 0) this.duplicatesAfter += n;
  }

  get maxCopies(): number {
    let m = 0;
    for (const v of this.copies.values()) m = Math.max(m, v);
    return m;
  }
}

/** One failover in virtual time; see the file comment. */
export function measureFailover(options: FailoverOptions): FailoverResult {
  const { kind, rttMs } = options;
  const seed = options.seed ?? 1;
  const file = makeFile(options.fileLength ?? 400_000, seed);
  const net = new SimNetwork({ seed });
  const port = DEFAULT_UDP_PORT[kind];
  net.addHost('client', [HOSTS.client]);
  net.addHost('a', [HOSTS.a]);
  net.addHost('b', [HOSTS.b]);
  net.link('client', 'a', { delayMs: 5, rateBps: 2_000_000, queueBytes: 14_000 });
  net.link('client', 'b', { delayMs: rttMs / 2 });
  const addr = (ip: string) => ({ address: ip, port });
  const a = createEndpoint(kind, { addresses: [addr(HOSTS.a)], listen: true, random: net.random, rtoMin: 1000 });
  const b = createEndpoint(kind, { addresses: [addr(HOSTS.b)], random: net.random, rtoMin: 1000, ...(options.takerMtu ? { mtu: options.takerMtu } : {}) });
  const clientEp = createEndpoint(kind, { addresses: [addr(HOSTS.client)], random: net.random, rtoMin: 1000 });
  let aSender: StreamSender | undefined;
  let bSender: StreamSender | undefined;
  net.attach(a, [addr(HOSTS.a)], (now) => {
    if (aSender === undefined) {
      const conn = a.pollAccept();
      if (conn !== undefined) aSender = new StreamSender({ conn, source: memorySource(file), now: () => net.now });
    }
    aSender?.pump(now);
  });
  net.attach(b, [addr(HOSTS.b)], (now) => bSender?.pump(now));
  const conn = clientEp.connect(net.now, addr(HOSTS.a));
  const collector = new StreamCollector({ conn });
  net.attach(clientEp, [addr(HOSTS.client)], (now) => collector.pump(now));
  const copies = new CopyCounter(kind);
  net.onTrace((e) => {
    if (e.kind === 'deliver' && e.to.address === HOSTS.client) copies.deliver(e.payload);
  });
  net.wake(clientEp);

  let state: TransportState | undefined;
  net.schedule(KILL_AT_MS, () => {
    state = aSender!.conn.exportState(net.now);
    net.kill('a');
  });
  const noticeAt = KILL_AT_MS + NOTICE_AFTER_MS;
  let heldAtNotice = 0;
  let firstAfter: number | undefined;
  net.schedule(noticeAt, () => {
    heldAtNotice = collector.received;
    copies.counting = true;
    const taker: MigratableTransport = b.importState(net.now, state!);
    bSender = new StreamSender({ conn: taker, source: memorySource(file), now: () => net.now, resume: true });
    const from = state!.streamBytesAcked + (options.blindAhead ?? 0);
    const blind = options.blindResume === false ? undefined : file.subarray(from, Math.min(file.length, from + 65_536));
    taker.takeover(net.now, state!.takeoverNumber + 1, 'gap-fill', blind, from);
    net.wake(b);
  });
  net.runUntil(() => {
    if (firstAfter === undefined && net.now >= noticeAt && collector.received > heldAtNotice) firstAfter = net.now;
    return collector.closed !== undefined;
  }, 120_000);
  const intact = collector.closed !== undefined && collector.closed.error === undefined && sha(collector.bytes()) === sha(file);
  const resumeMs = (firstAfter ?? Infinity) - noticeAt;
  return {
    kind,
    rttMs,
    resumeMs,
    resumeRtts: resumeMs / rttMs,
    heldAtNotice,
    stateLag: heldAtNotice - (state?.streamBytesAcked ?? 0),
    duplicates: copies.duplicatesAfter,
    duplicateUnit: kind === 'tcp' ? 'bytes' : 'chunks',
    maxCopies: copies.maxCopies,
    intact,
  };
}

export function failoverOutput(results: readonly FailoverResult[], setup: string): ExperimentOutput {
  // The latency goal is the library's (the state exported at the death) and the wedge's where it
  // sends blind; every run must deliver the file intact with no byte more than twice.
  const failed = results.filter((r) => !r.intact || r.maxCopies > 2 || ((r.variant ?? LIBRARY) === LIBRARY && r.resumeMs > r.rttMs + GOAL_SLACK_MS));
  return {
    title: 'Takeover latency: death notice → first resumed byte at the client (virtual time)',
    columns: ['transport', 'rtt_ms', 'resume_ms', 'resume_rtts', 'state_lag_bytes', 'duplicates', 'duplicate_unit', 'max_copies', 'intact', 'variant', 'goal_met'],
    rows: results.map((r) => [r.kind, r.rttMs, round(r.resumeMs), round(r.resumeRtts), r.stateLag, r.duplicates, r.duplicateUnit, r.maxCopies, r.intact ? 'yes' : 'no', r.variant ?? LIBRARY, r.resumeMs <= r.rttMs + GOAL_SLACK_MS ? 'yes' : 'no']),
    chart: {
      kind: 'line',
      title: 'Death notice → first resumed byte (ms) against the taker path RTT',
      xLabel: 'RTT of the winning path (ms)',
      yLabel: 'ms',
      series: [
        ...[...new Set(results.map((r) => `${r.kind} ${r.variant ?? LIBRARY}`))].map((name) => ({ name, points: results.filter((r) => `${r.kind} ${r.variant ?? LIBRARY}` === name).map((r) => [r.rttMs, r.resumeMs] as const) })),
        { name: `goal (1 RTT + ${GOAL_SLACK_MS} ms)`, points: [...new Set(results.map((r) => r.rttMs))].map((x) => [x, x + GOAL_SLACK_MS] as const) },
      ],
    },
    notes: setup,
    ...(failed.length > 0 ? { failure: `goal missed (≤ 1 RTT + ${GOAL_SLACK_MS} ms, ≤ 1 duplicate copy, intact file) by ${failed.map((r) => `${r.kind}@${r.rttMs}ms`).join(', ')}` } : {}),
  };
}

const LIBRARY = 'library';

/** The wedge runs of the experiment: the update period, and the blind resume on (the default) or off. */
export const WEDGE_VARIANTS = [
  { updateMs: 1000, blindResume: false },
  { updateMs: 1000, blindResume: true },
  { updateMs: 100, blindResume: false },
  { updateMs: 100, blindResume: true },
] as const;

export function wedgeVariant(v: { updateMs: number; blindResume: boolean }): string {
  return `wedge, update ${v.updateMs} ms${v.blindResume ? '' : ', --no-blind-resume'}`;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export const failoverExperiment: Experiment = {
  name: 'failover',
  summary: 'death notice → first resumed byte at the client per RTT, both transports (virtual time)',
  description:
    'On the simulated network, server A streams a file to the client and dies; B (the winning path, at each RTT of --rtts) imports A\'s state at the death notice and takes over, sending the bytes from the state\'s point with its takeover request. Reports the time from the notice to the first byte the client\'s application receives, in ms and in RTTs, and the duplicate copies delivered.',
  defaultSeeds: 1,
  options: [
    { name: 'rtts', flag: '--rtts <list>', description: 'comma-separated RTTs of the taker path in ms', default: DEFAULT_RTTS.join(',') },
    {
      name: 'realRounds',
      flag: '--real-rounds <count>',
      description: 'also SIGKILL a real `baton serve` wedge N times per transport (3 wedges on 127.0.0.2-4, heartbeat monitor, update 1 s, dead after 3) and report kill → first resumed byte (0: skip)',
      default: '0',
    },
  ],
  async run(context: ExperimentContext) {
    const rtts = (context.options['rtts'] ?? DEFAULT_RTTS.join(',')).split(',').map((s) => Number(s.trim()));
    if (rtts.some((x) => !Number.isFinite(x) || x <= 0)) throw new Error(`--rtts must list positive numbers, not "${context.options['rtts']}"`);
    const results: FailoverResult[] = [];
    for (const kind of ['sctp', 'tcp'] as const) {
      for (const rttMs of rtts) {
        for (let seed = 1; seed <= context.seeds; seed++) {
          context.progress(`${kind} at ${rttMs} ms RTT, seed ${seed}`);
          results.push(measureFailover({ kind, rttMs, seed }));
        }
      }
    }
    for (const kind of ['sctp', 'tcp'] as const) {
      for (const v of WEDGE_VARIANTS) {
        for (const rttMs of rtts) {
          for (let seed = 1; seed <= context.seeds; seed++) {
            context.progress(`${kind} through the wedge (${wedgeVariant(v)}) at ${rttMs} ms RTT, seed ${seed}`);
            results.push(await measureWedgeFailover({ kind, rttMs, seed, ...v }));
          }
        }
      }
    }
    const realRounds = integerOption(context, 'realRounds', 0);
    let real = '';
    if (realRounds > 0) {
      const rows: Awaited<ReturnType<typeof killToResume>> = [];
      for (const transport of ['sctp', 'tcp'] as const) rows.push(...(await killToResume({ transport, rounds: realRounds, progress: context.progress })));
      real =
        '\n\nReal processes on loopback (bench/experiments/kill-to-resume.ts: three `baton serve` wedges, the heartbeat monitor with update 1 s and dead-after 3, a paced download, the serving wedge SIGKILLed), SIGKILL → the client\'s first resumed byte:\n\n| transport | round | kill → resume (ms) | client stall (ms) | winner |\n| --- | --- | --- | --- | --- |\n' +
        rows.map((r) => `| ${r.transport} | ${r.round} | ${Math.round(r.killToResumeMs)} | ${Math.round(r.stallMs)} | ${r.winner} |`).join('\n');
    }
    return failoverOutput(
      results,
      real.length === 0 ? setupText : setupText + real,
    );
  },
};

const setupText = `Virtual time on src/sim/: A at 10 ms RTT (2 Mbit/s, 14 KB queue) dies at ${KILL_AT_MS} ms with its state exported at that moment; the death notice reaches B ${NOTICE_AFTER_MS} ms later. The wedge rows: two \`baton serve\` wedges (src/sim/wedge-world.ts), w1 on the same link as A serving a 1 MB file dies at ${WEDGE_KILL_AT_MS} ms, mid-stream; the monitor's death report reaches w2 ${NOTICE_AFTER_MS} ms later; w2 takes over with the state as w1 last announced it (every update period), content server 1 ms. \`goal_met\`: ≤ 1 RTT + ${GOAL_SLACK_MS} ms. \`resume_ms\`: notice → first byte delivered to the client's application. \`state_lag_bytes\`: how far the client was past the state's acknowledged point. \`duplicates\`: copies delivered after the notice of data the client already held. Made by \`baton experiment failover\`.`;

// ---- The same through the wedge (`baton serve`): the state as its support group holds it ----


export interface WedgeFailoverOptions {
  readonly kind: TransportKind;
  readonly rttMs: number;
  readonly seed?: number;
  /** WedgeOptions.blindResume (default: the wedge's default, on). */
  readonly blindResume?: boolean;
  /** The wedges' update period (default 1000 ms). */
  readonly updateMs?: number;
  readonly fileLength?: number;
  /** When w1 dies, ms after the client's connect (default WEDGE_KILL_AT_MS). */
  readonly killAtMs?: number;
}

/**
 * One failover through two wedges (src/sim/wedge-world.ts): w1 (10 ms RTT, 2 Mbit/s, 14 KB queue)
 * serves a download mid-stream when its host dies at WEDGE_KILL_AT_MS; the monitor's death report
 * reaches w2 NOTICE_AFTER_MS later; w2 (RTT under test, no rate limit) takes over with the state
 * as w1 last announced it (every update period), not one exported at the death. Measured at the
 * client as measureFailover does.
 */
export async function measureWedgeFailover(options: WedgeFailoverOptions): Promise<FailoverResult> {
  const { kind, rttMs } = options;
  const seed = options.seed ?? 1;
  const file = makeFile(options.fileLength ?? 1_000_000, seed);
  const world = new WedgeWorld({
    kind,
    seed,
    wedges: 2,
    health: 'external',
    monitorAddress: '10.0.2.1',
    updateMs: options.updateMs ?? 1000,
    ...(options.blindResume !== undefined ? { blindResume: options.blindResume } : {}),
    clientLink: (id) => (id === 'w1' ? { delayMs: 5, rateBps: 2_000_000, queueBytes: 14_000 } : { delayMs: rttMs / 2 }),
  });
  await world.startAll(new Map([['/f', file]]));
  const copies = new CopyCounter(kind);
  world.net.onTrace((e) => {
    if (e.kind === 'deliver' && e.to.address === '10.0.0.1') copies.deliver(e.payload);
  });
  const client = world.client('w1', [get('/f', true)]);
  const start = world.net.now;
  world.net.runUntil(() => false, start + (options.killAtMs ?? WEDGE_KILL_AT_MS));
  world.net.kill('w1');
  world.net.runUntil(() => false, world.net.now + NOTICE_AFTER_MS - 5); // the monitor is 5 ms from w2
  world.monitor((m) => m.declareDead('w1'));
  let heldAtNotice = 0;
  let announced = 0;
  let noticeAt: number | undefined;
  world.net.runUntil(() => {
    if (noticeAt === undefined && world.events('member-dead', 'w2').length > 0) {
      noticeAt = world.net.now;
      heldAtNotice = client.received;
      announced = world.wedge('w2').channel.table.ownedBy('w1')[0]?.state.streamBytesAcked ?? 0;
      copies.counting = true;
    }
    return client.closed;
  }, world.net.now + 120_000);
  const started = world.events('takeover-start', 'w2')[0];
  const first = client.deliveries.find((at) => noticeAt !== undefined && at >= noticeAt && at > (started?.time ?? Infinity)) ?? Infinity;
  const bytes = client.collector.bytes();
  const headEnd = Buffer.from(bytes).indexOf('\r\n\r\n') + 4;
  const intact = client.collector.closed?.error === undefined && headEnd > 4 && sha(bytes.subarray(headEnd)) === sha(file);
  const resumeMs = first - (noticeAt ?? Infinity);
  return {
    kind,
    rttMs,
    variant: wedgeVariant({ updateMs: options.updateMs ?? 1000, blindResume: options.blindResume ?? true }),
    resumeMs,
    resumeRtts: resumeMs / rttMs,
    heldAtNotice,
    stateLag: heldAtNotice - announced,
    duplicates: copies.duplicatesAfter,
    duplicateUnit: kind === 'tcp' ? 'bytes' : 'chunks',
    maxCopies: copies.maxCopies,
    intact,
  };
}
