// Figure 3 of the paper (section 4.3): an annotated failover trace collected at the client. A client
// downloads from server A; servers A, B and C sit behind distinct links of about 10, 40 and 200 ms
// round trip, 128 kbit/s each; an erroneous death report for A reaches B and C at once (the monitor
// is 5 ms from every server). B's takeover request arrives first and is accepted; A, still alive,
// keeps sending and its packets are refused; C's request, with the same number, is refused; B
// resumes where the client's in-order bytes end. Each packet the client sends or receives is one
// line in tcpdump's manner (src/sim/tcpdump.ts), for both transports.
import { get, WedgeWorld } from '../../src/sim/wedge-world.js';
import type { LinkConfig } from '../../src/sim/link.js';
import { TcpdumpReader, type PacketLine } from '../../src/sim/tcpdump.js';
import { TRANSPORT_KINDS } from '../../src/transports.js';
import type { TransportKind } from '../../src/transport-abstraction/transport.js';
import type { Experiment } from './experiment.js';
import type { ExperimentOutput } from './report.js';
import { SERVER_NAMES, traceSvg } from './trace-chart.js';

/** Round-trip propagation time of each server's link, ms (the paper's DummyNet pipes). */
export const FIG3_RTT_MS: Readonly<Record<string, number>> = { w1: 10, w2: 40, w3: 200 };
const CLIENT = '10.0.0.1';
const A = '10.0.1.1';

export interface Fig3Options {
  readonly kind: TransportKind;
  readonly seed?: number;
  /** Client bytes received before the death report (default 30,000). */
  readonly reportAfterBytes?: number;
  /** B's data packets shown after the takeover (default 4). */
  readonly resumedPackets?: number;
}

/** One annotated packet of the trace; time in seconds from the death report. */
export interface TraceRow {
  readonly kind: TransportKind;
  readonly time: number;
  readonly line: PacketLine;
  readonly note: string;
}

/** A wedge's log event in the trace window (the annotations between the packets). */
export interface TraceEvent {
  readonly time: number;
  readonly text: string;
}

export interface Fig3Trace {
  readonly kind: TransportKind;
  readonly rows: readonly TraceRow[];
  readonly events: readonly TraceEvent[];
  /** What the run showed: the checks the figure is about. */
  readonly winner: string | undefined;
  readonly refusedOldPackets: number;
  readonly refusedTakeovers: number;
  readonly complete: boolean;
}

const LINK = (rttMs: number): LinkConfig => ({ delayMs: rttMs / 2, rateBps: 128_000, queueBytes: 14 * 1024, overheadBytes: 28 });

export async function runFig3(options: Fig3Options): Promise<Fig3Trace> {
  const { kind, seed = 1, reportAfterBytes = 30_000, resumedPackets = 4 } = options;
  const world = new WedgeWorld({
    kind,
    seed,
    wedges: 3,
    health: 'external',
    updateMs: 3000,
    rtoMin: 1000,
    monitorAddress: '10.0.2.1',
    clientLink: (id) => LINK(FIG3_RTT_MS[id]!),
  });
  const object = new Uint8Array(120_000);
  for (let i = 0; i < object.length; i++) object[i] = (i * 7 + 3) & 0xff;
  await world.startAll(new Map([['/o', object]]));
  const reader = new TcpdumpReader(kind, [CLIENT]);
  world.net.onTrace(reader.listener());
  const client = world.client('w1', [get('/o', true)]);
  if (!world.net.runUntil(() => client.received >= reportAfterBytes, 120_000)) throw new Error(`fig3 ${kind}: the download did not start (${client.received} bytes)`);
  const reportAt = world.net.now;
  world.monitor((m) => m.declareDead('w1'));
  world.net.runUntil(() => client.closed, reportAt + 300_000);

  const accepted = client.takeovers.find((t) => t.accepted);
  const winner = accepted?.peer;
  // The window: two packets before the report, up to B's `resumedPackets`-th data packet after it.
  const lines = reader.lines;
  const firstIn = lines.findIndex((l) => l.time >= reportAt);
  let start = firstIn;
  for (let seen = 0; start > 0 && seen < 2; ) if (lines[--start]!.role === 'data') seen++;
  let end = firstIn;
  for (let seen = 0; end < lines.length && seen < resumedPackets; end++) {
    const l = lines[end]!;
    if (l.from.address === winner && l.role === 'data') seen++;
  }
  // The client's cumulative acknowledgement before each packet: a datum below it holds nothing new.
  let acked: number | undefined;
  const rows: TraceRow[] = [];
  for (let i = 0; i < end; i++) {
    const line = lines[i]!;
    if (i >= start) rows.push({ kind, time: (line.time - reportAt) / 1000, line, note: annotate(line, reportAt, accepted, acked) });
    if (line.direction === 'out' && line.ack !== undefined && line.role !== 'refusal') acked = Math.max(acked ?? 0, line.ack);
  }
  const events = world.log
    .filter((l) => l.time >= reportAt && l.time <= (lines[end - 1]?.time ?? reportAt) && ['member-dead', 'takeover-start', 'takeover-won', 'superseded', 'takeover-lost'].includes(l.event))
    .map((l) => ({ time: (l.time - reportAt) / 1000, text: eventText(l.server, l.event, l.fields) }));
  events.unshift({ time: 0, text: '(erroneous) sA death report sent by the monitor' });
  const bytes = client.collector.bytes();
  const headEnd = Buffer.from(bytes).indexOf('\r\n\r\n') + 4;
  const body = bytes.subarray(headEnd);
  return {
    kind,
    rows,
    events,
    winner: winner === undefined ? undefined : SERVER_NAMES[winner],
    refusedOldPackets: rows.filter((r) => r.line.direction === 'out' && r.line.role === 'refusal' && r.line.to.address === A).length,
    refusedTakeovers: refusalsOfTakeovers(rows, A),
    complete: headEnd > 4 && body.length === object.length && Buffer.compare(body, object) === 0 && client.collector.closed?.error === undefined,
  };
}

function annotate(line: PacketLine, reportAt: number, accepted: { time: number; peer: string } | undefined, acked: number | undefined): string {
  const peer = line.direction === 'in' ? line.from.address : line.to.address;
  const name = SERVER_NAMES[peer] ?? peer;
  const after = accepted !== undefined && line.time >= accepted.time;
  const isWinner = peer === accepted?.peer;
  if (line.direction === 'in') {
    switch (line.role) {
      case 'takeover':
        return `${name}'s takeover request (number ${line.requestNumber ?? '?'})`;
      case 'data':
        if (peer !== A && line.dataEnd !== undefined && acked !== undefined && line.dataEnd <= acked) return `data from ${name} the client holds already (a probe or a late retransmission)`;
        if (peer === A) return after ? 'sA, still alive, sends on: refused' : line.time < reportAt ? 'data from sA' : 'data from sA (the report is out)';
        return `resumed data from ${name}`;
      case 'ack':
        return isWinner ? `${name} acknowledges: the takeover is complete` : `ack from ${name}`;
      default:
        return `from ${name}`;
    }
  }
  switch (line.role) {
    case 'takeover-answer':
      return `the client accepts ${name}${line.ack !== undefined ? `: it holds everything before ${line.ack}` : ''}`;
    case 'refusal':
      return peer === A ? 'the client refuses sA (the connection has moved)' : `the client refuses ${name} (number already used)`;
    case 'ack':
      return `the client acknowledges ${name}`;
    default:
      return `to ${name}`;
  }
}

function eventText(server: string, event: string, fields: Record<string, unknown>): string {
  const name = { w1: 'sA', w2: 'sB', w3: 'sC' }[server] ?? server;
  switch (event) {
    case 'member-dead':
      return `${name} hears sA is dead`;
    case 'takeover-start':
      return `${name} sends its takeover request (number ${String(fields.number)})`;
    case 'takeover-won':
      return `${name} has won: the client's next byte is stream offset ${String(fields.nextOffset)}`;
    case 'superseded':
      return `sA learns it was superseded (${fields.by === 'transport' ? 'refused by the client' : `announcement from ${String(fields.by)}`}) and stops`;
    case 'takeover-lost':
      return `${name} has lost (${String(fields.reason)})`;
    default:
      return `${name} ${event}`;
  }
}

/** One trace as the paper prints it: time, addresses, the packet, with the events between. */
/**
 * The refusals that answer a takeover request (the last packet in from that server was one): a
 * loser's blind resume behind its refused request earns refusals of its own, which are no second
 * refused request.
 */
function refusalsOfTakeovers(rows: readonly TraceRow[], oldServer: string): number {
  const lastIn = new Map<string, string>();
  let n = 0;
  for (const r of rows) {
    if (r.line.direction === 'in') lastIn.set(r.line.from.address, r.line.role);
    else if (r.line.role === 'refusal' && r.line.to.address !== oldServer && lastIn.get(r.line.to.address) === 'takeover') n++;
  }
  return n;
}

export function traceText(trace: Fig3Trace): string {
  const out: string[] = [];
  const events = [...trace.events];
  const addr = (a: { address: string; port: number }) => `${SERVER_NAMES[a.address] ?? a.address}.${a.port}`;
  for (const row of trace.rows) {
    while (events.length > 0 && events[0]!.time <= row.time) out.push(`   ---- ${events.shift()!.text} ----`);
    out.push(`${row.time.toFixed(5).padStart(9)} ${addr(row.line.from)} > ${addr(row.line.to)}: ${row.line.text}`);
  }
  for (const e of events) out.push(`   ---- ${e.text} ----`);
  return out.join('\n');
}

export function fig3Output(traces: readonly Fig3Trace[]): ExperimentOutput {
  const rows = traces.flatMap((t) => t.rows);
  const wrong = traces.filter((t) => t.winner !== 'sB' || t.refusedOldPackets === 0 || t.refusedTakeovers === 0 || !t.complete);
  return {
    title: 'Figure 3: an annotated failover trace at the client',
    columns: ['transport', 'time_s', 'direction', 'from', 'to', 'role', 'data_start', 'data_end', 'ack', 'note', 'packet'],
    rows: rows.map((r) => [
      r.kind,
      r.time.toFixed(5),
      r.line.direction,
      SERVER_NAMES[r.line.from.address] ?? r.line.from.address,
      SERVER_NAMES[r.line.to.address] ?? r.line.to.address,
      r.line.role,
      r.line.dataStart ?? '',
      r.line.dataEnd ?? '',
      r.line.ack ?? '',
      r.note,
      r.line.text,
    ]),
    chart: { kind: 'line', title: 'Figure 3', xLabel: 'time (s)', yLabel: 'sequence', series: [] },
    svg: traceSvg(traces),
    notes: [
      'Links: sA 10 ms, sB 40 ms, sC 200 ms round trip, 128 kbit/s, 14 KB queues, 28 bytes of IP/UDP overhead per packet; the',
      'monitor is 5 ms from every server. Times are seconds from the death report; TCP sequence numbers are relative to',
      "each side's SYN (bytes), SCTP TSNs relative to each side's initial TSN (chunks).",
      '',
      ...traces.flatMap((t) => [
        `### ${t.kind === 'tcp' ? 'TCP-Migrate' : 'SCTP'}`,
        '',
        '```',
        traceText(t),
        '```',
        '',
        `Winner ${t.winner ?? 'none'}; sA's packets refused after the takeover: ${t.refusedOldPackets}; takeover requests refused: ${t.refusedTakeovers}; object ${t.complete ? 'whole' : 'NOT whole'}.`,
        '',
      ]),
    ].join('\n'),
    ...(wrong.length ? { failure: `the trace does not show the failover: ${wrong.map((t) => `${t.kind} (winner ${t.winner ?? 'none'}, sA refused ${t.refusedOldPackets}, requests refused ${t.refusedTakeovers}, object ${t.complete ? 'whole' : 'not whole'})`).join('; ')}` } : {}),
  };
}

export const fig3Experiment: Experiment = {
  name: 'fig3',
  summary: "the annotated failover trace at the client (paper's Figure 3), both transports",
  description: [
    "The paper's Figure 3 (section 4.3) on the simulated network: a client downloads from sA; sA, sB and sC are behind",
    'links of 10, 40 and 200 ms round trip at 128 kbit/s; an erroneous death report for sA reaches sB and sC at once.',
    'Prints every packet the client sends and receives around the takeover, tcpdump-style, with the events between:',
    "sB's request accepted, sA's later packets refused, sC's request refused, sB resuming. Both transports.",
    'Writes fig3.csv (one row per packet), fig3.md (the traces) and fig3.svg (sequence over time per server). --seeds N runs seed N.',
  ].join(' '),
  defaultSeeds: 1,
  options: [],
  async run(context) {
    const traces: Fig3Trace[] = [];
    for (const kind of TRANSPORT_KINDS) {
      traces.push(await runFig3({ kind, seed: context.seeds }));
      context.progress(`${kind}: done`);
    }
    return fig3Output(traces);
  },
};
