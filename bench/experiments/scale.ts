// Scale (issue 13): one wedge serving N concurrent slow streams on the simulated network, and a
// second wedge of its support group that takes all of them over when the first dies. Per N:
// memory per connection (heap delta, whole simulation: the wedge's sessions and endpoint state,
// and also the simulated clients' endpoints and the network's queues, so an upper bound), CPU per
// announced state (process.cpuUsage around the serving wedge's soft-state timer work in a steady
// window: building the states, encoding, sealing), announcement bytes per second per group member
// (the serving wedge's soft-state datagrams to each member), and the virtual time from the taker's
// death notice (heartbeat verdict) to the last connection's first resumed byte. Time to take over
// is virtual (the machine's load does not change it); memory and CPU are real and indicative.
import type { TransportKind } from '../../src/transport-abstraction/transport.js';
import { LocalUsageError } from '../../src/transport-abstraction/errors.js';
import { TRANSPORT_KINDS } from '../../src/transports.js';
import { get, WedgeWorld, type SimClient } from '../../src/sim/wedge-world.js';
import { sealedKind } from '../../src/wedge/seal.js';
import type { Experiment } from './experiment.js';
import { markdownTable, type ExperimentOutput } from './report.js';

export const DEFAULT_COUNTS = [1, 100, 1000, 10_000];
/** The goal: announcing every 3 s, within 5% of one core; all taken over within 2 s of the notice. */
export const UPDATE_MS = 3000;
export const GOAL_CPU_FRACTION = 0.05;
export const GOAL_TAKEOVER_MS = 2000;
/** Connections opened per virtual second (the SCTP endpoint's INIT-ACK rate toward one address). */
export const OPEN_PER_SECOND = 200;

export interface ScaleOptions {
  readonly counts: readonly number[];
  readonly kind?: TransportKind;
  readonly seed?: number;
  /** Each stream's rate, bytes per virtual second (slow streams). */
  readonly rate?: number;
  /** Periodic announcements measured in the steady window. */
  readonly periods?: number;
  readonly progress?: (message: string) => void;
}

export interface ScaleRow {
  readonly connections: number;
  /** Heap growth per connection once all are streaming, bytes (NaN without --expose-gc). */
  readonly heapPerConnection: number;
  readonly cpuPerStateUs: number;
  /** CPU of announcing all N states every UPDATE_MS, as a fraction of one core. */
  readonly cpuFraction: number;
  /** Periodic announcements' bytes and datagrams per second to each member. */
  readonly bytesPerSecPerMember: number;
  readonly datagramsPerSecPerMember: number;
  /** One-connection announcements out of turn (new request, 'state-changed', takeover won) per second. */
  readonly outOfTurnPerSec: number;
  readonly outOfTurnBytesPerSecPerMember: number;
  /** Their CPU (state, encoding, sealing) as a fraction of one core. */
  readonly outOfTurnCpuFraction: number;
  /** Virtual ms from the taker's death notice to the last connection's first resumed byte. */
  readonly takeoverMs: number;
  /** The taker's CPU in takeOver/sendTakeover (state import, session, request, key pair), ms. */
  readonly takerCpuMs: number;
  /** The whole simulation's CPU from the notice to the last resumed byte (taker, clients, network), ms. */
  readonly takeoverPhaseCpuMs: number;
  readonly takenOver: number;
  /** Connections whose bytes so far are not the object's (must be 0). */
  readonly corrupt: number;
  readonly wallS: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function object(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return bytes;
}

/** The client's body so far is a prefix of `body`. */
function bodyIsPrefix(client: SimClient, body: Uint8Array): boolean {
  const bytes = client.collector.bytes();
  let start = -1;
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i - 3] === 13 && bytes[i - 2] === 10 && bytes[i - 1] === 13 && bytes[i] === 10) {
      start = i + 1;
      break;
    }
  }
  if (start < 0) return false;
  const got = bytes.subarray(start);
  if (got.length > body.length) return false;
  for (let i = 0; i < got.length; i++) if (got[i] !== body[i]) return false;
  return true;
}

export async function runScaleRow(n: number, options: Omit<ScaleOptions, 'counts'> = {}): Promise<ScaleRow> {
  const started = performance.now();
  const say = (m: string) => options.progress?.(`N=${n}: ${m} (${((performance.now() - started) / 1000).toFixed(1)} s wall)`);
  const rate = options.rate ?? 1000;
  const periods = options.periods ?? 3;
  const body = object(rate * 600, n);
  const world = new WedgeWorld({ kind: options.kind ?? 'sctp', seed: options.seed ?? 1, wedges: 2, rate, updateMs: UPDATE_MS });
  await world.startAll(new Map([['/slow', body]]));
  const serving = world.wedge('w1');
  const heap0 = heap();
  const clients: SimClient[] = [];
  // Connections open OPEN_PER_SECOND a virtual second: all simulated clients share one address, and
  // an SCTP endpoint answers at most 200 INITs a second from one address (src/sctp/init-rate.ts);
  // faster, the rest wait for their INIT's retransmission (1 s, 2 s, 4 s, ...).
  const perStep = OPEN_PER_SECOND / 10;
  for (let i = 0; i < n; i++) {
    clients.push(world.client('w1', [get('/slow')]));
    if (i % perStep === perStep - 1) world.net.run(world.net.now + 100);
  }
  // Predicates run after every simulated event: walk a cursor, not all N clients each time.
  let streamingSoFar = 0;
  const streaming = () => {
    while (streamingSoFar < n && clients[streamingSoFar]!.received > 0) streamingSoFar++;
    return streamingSoFar === n;
  };
  if (!world.net.runUntil(streaming, world.net.now + 60_000)) throw new Error(`N=${n}: only ${clients.filter((c) => c.received > 0).length} streams started`);
  say(`all ${n} streaming at t=${(world.net.now / 1000).toFixed(1)} s`);
  const heapPerConnection = gc ? (heap() - heap0) / n : NaN;

  // Steady window: the serving wedge's periodic announcements (its channel's timer), with CPU and
  // datagrams counted; and apart, its out-of-turn announcements of one connection (Wedge.announce:
  // a new request, a transport 'state-changed' such as a stream's short chunk, a takeover won).
  world.net.run(world.net.now + UPDATE_MS); // past the announcements of new requests
  const channel = serving.channel;
  const periodic = { cpuUs: 0, ticks: 0, datagrams: 0, bytes: 0 };
  const outOfTurn = { cpuUs: 0, states: 0, datagrams: 0, bytes: 0 };
  const destinations = new Set<string>();
  const handleTimeout = channel.handleTimeout.bind(channel);
  const pollTransmit = channel.pollTransmit.bind(channel);
  type Datagram = NonNullable<ReturnType<typeof pollTransmit>>;
  const count = (t: Datagram, into: { datagrams: number; bytes: number }) => {
    if (sealedKind(t.payload) !== 'announcement') return;
    destinations.add(`${t.destination.address}:${t.destination.port}`);
    into.datagrams++;
    into.bytes += t.payload.length;
  };
  // The timer's datagrams are drained inside the measurement and handed out from here.
  const pending: Datagram[] = [];
  channel.handleTimeout = (now) => {
    const at = process.cpuUsage();
    handleTimeout(now);
    let t;
    const queued: Datagram[] = [];
    while ((t = pollTransmit(now)) !== undefined) queued.push(t);
    const used = process.cpuUsage(at);
    periodic.cpuUs += used.user + used.system;
    const announcing = queued.filter((q) => sealedKind(q.payload) === 'announcement');
    if (announcing.length > 0) periodic.ticks++;
    for (const q of announcing) count(q, periodic);
    for (const q of queued) pending.push(q);
  };
  channel.pollTransmit = (now) => {
    if (pending.length > 0) return pending.shift();
    const t = pollTransmit(now);
    if (t !== undefined) count(t, outOfTurn);
    return t;
  };
  const wedge = serving as unknown as { announce(now: number, session: unknown): void };
  const announceOne = wedge.announce;
  wedge.announce = function (this: unknown, now: number, session: unknown) {
    const at = process.cpuUsage();
    announceOne.call(this, now, session);
    const used = process.cpuUsage(at);
    outOfTurn.cpuUs += used.user + used.system;
    outOfTurn.states++;
  };
  const windowStart = world.net.now;
  world.net.run(windowStart + periods * UPDATE_MS);
  const windowS = (world.net.now - windowStart) / 1000;
  const members = Math.max(1, destinations.size);
  channel.handleTimeout = handleTimeout;
  channel.pollTransmit = (now) => pending.shift() ?? pollTransmit(now);
  wedge.announce = announceOne;
  const states = periodic.ticks * n;
  const cpuPerStateUs = periodic.cpuUs / Math.max(1, states);
  say(`${periodic.ticks} announcements of ${n} states: ${(periodic.cpuUs / 1000).toFixed(1)} ms CPU, ${periodic.datagrams} datagrams, ${periodic.bytes} bytes; ${outOfTurn.states} out of turn: ${(outOfTurn.cpuUs / 1000).toFixed(1)} ms CPU, ${outOfTurn.datagrams} datagrams`);

  // Death: the serving wedge's host dies; the taker's heartbeat verdict is the death notice.
  world.net.kill('w1');
  // The taker's own CPU to start the takeovers: Wedge.takeOver (import the state, the session, the
  // request with its new key pair) and sendTakeover, nested calls counted once. Its input work
  // (the clients' answers) is not in it: the whole simulation's CPU in the phase bounds that.
  const taker = world.wedge('w2') as unknown as Record<'takeOver' | 'sendTakeover', (...args: unknown[]) => void>;
  const takerCpu = { us: 0, depth: 0 };
  const originals = { takeOver: taker.takeOver, sendTakeover: taker.sendTakeover };
  for (const name of ['takeOver', 'sendTakeover'] as const) {
    const inner = originals[name];
    taker[name] = function (this: unknown, ...args: unknown[]) {
      const at = takerCpu.depth++ === 0 ? process.cpuUsage() : undefined;
      try {
        inner.apply(this, args);
      } finally {
        takerCpu.depth--;
        if (at !== undefined) {
          const used = process.cpuUsage(at);
          takerCpu.us += used.user + used.system;
        }
      }
    };
  }
  // A cursor over the log, not world.events (a filter of the whole log after every simulated event).
  let logged = world.log.length;
  let notice = NaN;
  const noticed = () => {
    for (; logged < world.log.length && Number.isNaN(notice); logged++) {
      const l = world.log[logged]!;
      if (l.event === 'member-dead' && l.server === 'w2') notice = l.time;
    }
    return !Number.isNaN(notice);
  };
  if (!world.net.runUntil(noticed, world.net.now + 10 * UPDATE_MS)) throw new Error(`N=${n}: no death notice`);
  say(`death notice at t=${(notice / 1000).toFixed(1)} s`);
  const resumedAfter = (c: SimClient) => c.deliveries.find((at) => at > notice);
  let resumed = 0;
  const lastDelivery = (c: SimClient) => c.deliveries[c.deliveries.length - 1];
  const allResumed = () => {
    while (resumed < n && (lastDelivery(clients[resumed]!) ?? 0) > notice) resumed++;
    return resumed === n;
  };
  const phase = process.cpuUsage();
  world.net.runUntil(allResumed, notice + 60_000);
  const phaseUsed = process.cpuUsage(phase);
  taker.takeOver = originals.takeOver;
  taker.sendTakeover = originals.sendTakeover;
  if (resumed < n) {
    // Not all resumed: what the taker did (for the report), by event and takeover-lost reason.
    const counts = new Map<string, number>();
    for (const l of world.log) {
      if (l.server !== 'w2' || l.time < notice) continue;
      const what = l.event === 'takeover-lost' ? `takeover-lost:${String(l.fields.reason)}` : l.event;
      counts.set(what, (counts.get(what) ?? 0) + 1);
    }
    say(`not all resumed by t=${(world.net.now / 1000).toFixed(1)} s: the taker logged ${JSON.stringify(Object.fromEntries(counts))}; clients that accepted a takeover: ${clients.filter((c) => c.takenOver.length > 0).length}, refused one: ${clients.filter((c) => c.takeovers.some((x) => !x.accepted)).length}`);
  }
  const firsts = clients.map(resumedAfter);
  const takenOver = clients.filter((c, i) => firsts[i] !== undefined && c.takenOver.length > 0).length;
  const takeoverMs = takenOver === n ? Math.max(...firsts.map((f) => f!)) - notice : NaN;
  world.net.run(world.net.now + 2000);
  const corrupt = clients.filter((c) => !bodyIsPrefix(c, body)).length;
  const wallS = (performance.now() - started) / 1000;
  say(`${takenOver}/${n} taken over, the last ${takeoverMs.toFixed(0)} ms after the notice; ${corrupt} with wrong bytes; taker CPU ${(takerCpu.us / 1000).toFixed(0)} ms to start them, simulation ${((phaseUsed.user + phaseUsed.system) / 1000).toFixed(0)} ms`);
  return {
    connections: n,
    heapPerConnection,
    cpuPerStateUs,
    cpuFraction: (cpuPerStateUs * n) / (UPDATE_MS * 1000),
    bytesPerSecPerMember: periodic.bytes / members / windowS,
    datagramsPerSecPerMember: periodic.datagrams / members / windowS,
    outOfTurnPerSec: outOfTurn.states / windowS,
    outOfTurnBytesPerSecPerMember: outOfTurn.bytes / members / windowS,
    outOfTurnCpuFraction: outOfTurn.cpuUs / (windowS * 1e6),
    takeoverMs,
    takerCpuMs: takerCpu.us / 1000,
    takeoverPhaseCpuMs: (phaseUsed.user + phaseUsed.system) / 1000,
    takenOver,
    corrupt,
    wallS,
  };
}

export async function runScale(options: ScaleOptions): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const n of options.counts) rows.push(await runScaleRow(n, options));
  return rows;
}

const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

export function scaleOutput(rows: readonly ScaleRow[], setup: string): ExperimentOutput {
  const failed = rows.filter((r) => r.takenOver !== r.connections || r.corrupt > 0);
  const largest = rows[rows.length - 1];
  const goal = largest
    ? `At N=${largest.connections}: announcing every ${UPDATE_MS / 1000} s costs ${fixed(100 * largest.cpuFraction, 2)}% of one core (goal ≤ ${100 * GOAL_CPU_FRACTION}%), all taken over ${fixed(largest.takeoverMs, 0)} ms after the death notice (goal ≤ ${GOAL_TAKEOVER_MS} ms).`
    : '';
  return {
    title: 'Scale: one wedge, N concurrent slow streams',
    columns: ['connections', 'heap_bytes_per_connection', 'cpu_us_per_state', 'cpu_pct_of_core', 'announce_bytes_per_s_per_member', 'announce_datagrams_per_s_per_member', 'out_of_turn_per_s', 'out_of_turn_bytes_per_s_per_member', 'out_of_turn_cpu_pct_of_core', 'takeover_all_ms', 'taker_cpu_ms', 'takeover_phase_cpu_ms', 'taken_over', 'wrong_bytes', 'wall_s'],
    rows: rows.map((r) => [
      r.connections,
      fixed(r.heapPerConnection, 0),
      fixed(r.cpuPerStateUs, 2),
      fixed(100 * r.cpuFraction, 3),
      fixed(r.bytesPerSecPerMember, 0),
      fixed(r.datagramsPerSecPerMember, 2),
      fixed(r.outOfTurnPerSec, 1),
      fixed(r.outOfTurnBytesPerSecPerMember, 0),
      fixed(100 * r.outOfTurnCpuFraction, 3),
      fixed(r.takeoverMs, 1),
      fixed(r.takerCpuMs, 0),
      fixed(r.takeoverPhaseCpuMs, 0),
      r.takenOver,
      r.corrupt,
      fixed(r.wallS, 1),
    ]),
    chart: {
      kind: 'bar',
      title: `Scale (${setup})`,
      categories: rows.map((r) => String(r.connections)),
      series: [
        { name: 'announcement CPU, % of one core', values: rows.map((r) => 100 * r.cpuFraction) },
        { name: 'announcement bytes/s per member', values: rows.map((r) => r.bytesPerSecPerMember) },
        { name: 'ms from death notice to the last first resumed byte', values: rows.map((r) => (Number.isFinite(r.takeoverMs) ? r.takeoverMs : 0)) },
      ],
    },
    notes: [
      `Setup: ${setup}.`,
      gc ? 'Heap per connection: heapUsed after two global.gc() (node --expose-gc), all streaming, minus before the first connection, over N; it counts the whole simulation (the simulated client endpoint and the network too), so it is an upper bound for the wedge.' : 'Heap per connection: not measured (run node with --expose-gc).',
      'CPU: process.cpuUsage around the serving wedge\'s soft-state timer work (states built, encoded, sealed) in a steady window, over states announced; real CPU on a loaded machine, indicative only. Out of turn: its one-connection announcements in the same window (a new request, a transport \'state-changed\' such as a burst\'s short last chunk, which the export barrier holds until a member confirms it), their rate, bytes per member and CPU as a share of one core.',
      'Takeover time is virtual time (the machine\'s CPU does not delay it); taker CPU: the taker\'s Wedge.takeOver and sendTakeover (state import, session, takeover request, its key pair); phase CPU: the whole simulation (taker, clients, network) from the notice to the last resumed byte, an upper bound of the taker\'s.',
      '',
      goal,
      '',
      markdownTable(['N', 'wall s'], rows.map((r) => [r.connections, fixed(r.wallS, 1)])),
    ].join('\n'),
    ...(failed.length ? { failure: failed.map((r) => `N=${r.connections}: ${r.takenOver} taken over, ${r.corrupt} with wrong bytes`).join('; ') } : {}),
  };
}

export const scaleExperiment: Experiment = {
  name: 'scale',
  summary: 'one wedge serving N concurrent slow streams: memory, announcement CPU and bytes, time to take all over',
  description: [
    'On the simulated network, wedge w1 serves N clients each streaming one object at --rate bytes/s; w2 is its support',
    `group. After all stream, w1's periodic announcements (every ${UPDATE_MS / 1000} s) are measured for CPU and bytes; then w1`,
    "dies and w2's heartbeat verdict starts the takeover of every connection. Per N in --counts: heap per connection",
    '(with node --expose-gc), CPU per announced state, announcement bytes/s per member, and virtual ms from the death',
    "notice to the last connection's first resumed byte. Writes scale.csv, scale.md and scale.svg; exits non-zero if a",
    'connection was not taken over or its bytes were wrong.',
  ].join(' '),
  defaultSeeds: 1,
  options: [
    { name: 'counts', flag: '--counts <list>', description: 'numbers of concurrent streams, comma-separated', default: DEFAULT_COUNTS.join(',') },
    { name: 'rate', flag: '--rate <n>', description: 'bytes per second of each stream', default: '1000' },
    { name: 'transport', flag: '--transport <kind>', description: `transport (${TRANSPORT_KINDS.join(', ')})`, default: 'sctp' },
  ],
  async run(context) {
    const counts = (context.options.counts ?? '').split(',').map((s) => Number(s.trim()));
    if (counts.length === 0 || counts.some((c) => !Number.isInteger(c) || c < 1)) throw new LocalUsageError(`--counts must be whole numbers ≥ 1, not "${context.options.counts}"`);
    const rate = Number(context.options.rate);
    if (!Number.isInteger(rate) || rate < 1) throw new LocalUsageError(`--rate must be a whole number ≥ 1`);
    const kind = context.options.transport as TransportKind;
    if (!TRANSPORT_KINDS.includes(kind)) throw new LocalUsageError(`--transport must be one of ${TRANSPORT_KINDS.join(', ')}`);
    const rows = await runScale({ counts, rate, kind, progress: context.progress });
    return scaleOutput(rows, `${kind}, streams of ${rate} bytes/s, announcements every ${UPDATE_MS / 1000} s, one support-group member`);
  },
};
