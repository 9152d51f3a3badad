// `baton experiment voice` (README "Telephony sessions"): frame delay percentiles of a telephony
// call before, during and after a takeover, on both transports, in virtual time.
//
// One call on the simulated network: a client, the serving server A and its support-group member
// B, `delayMs` one way on each client link. Both ends send a 20 ms frame (160 bytes of audio,
// src/wedge/voice-frame.ts) every 20 ms, client → server frames numbered by the client, server →
// client frames by media time. A announces the call's state (VoiceCall.announce) every
// `announceMs` to B, which stores it `groupDelayMs` later; A hears the confirmation another
// `groupDelayMs` later (VoiceCall.confirmed). At `killAtMs` A dies; `detectMs` later (the death
// notice and the backoff, here a parameter: with the wedge's heartbeat it is k·UPDATE_SEC, seconds)
// B imports the last state it stored and takes the call over. Delays are one way, frame sent to
// frame delivered to the application, by the phase in which the frame was sent: before the kill,
// during (from the kill to 1 s after the takeover completed), after.
import { SimNetwork } from '../../src/sim/network.js';
import type { TransportState } from '../../src/transport-abstraction/state-types.js';
import { nextTakeoverNumber, type MigratableTransport, type TransportKind } from '../../src/transport-abstraction/transport.js';
import { LocalUsageError } from '../../src/transport-abstraction/errors.js';
import { createEndpoint, DEFAULT_UDP_PORT, TRANSPORT_KINDS } from '../../src/transports.js';
import { VoiceCall, type VoiceStats } from '../../src/wedge/voice-session.js';
import { percentiles, type Percentiles } from '../../src/wedge/voice-caller.js';

export { percentiles, type Percentiles };
import type { SctpAssociation } from '../../src/sctp/association.js';
import type { Experiment } from './experiment.js';
import { markdownTable, type ExperimentOutput } from './report.js';

const IP = { client: '10.0.0.1', a: '10.0.0.2', b: '10.0.0.3' } as const;

export interface VoiceRunOptions {
  readonly kind: TransportKind;
  readonly seed?: number;
  readonly callMs?: number;
  readonly killAtMs?: number;
  readonly detectMs?: number;
  readonly announceMs?: number;
  readonly groupDelayMs?: number;
  readonly delayMs?: number;
  /** SCTP: PR-SCTP lifetime of a frame, ms. */
  readonly lifetimeMs?: number;
  /** Packet loss on the client links. */
  readonly loss?: number;
  /** The servers hold acknowledgements at the announced point (VoiceCall.holdAcknowledgements; default true). */
  readonly holdAcks?: boolean;
  /** SCTP: the client announces PR-SCTP (default true). */
  readonly clientPr?: boolean;
  /** Loss on A → client in the 200 ms before the kill (holes the taker must skip). */
  readonly lossBeforeKill?: number;
  /** SCTP: frames as ordered messages (VoiceCallOptions.ordered). */
  readonly ordered?: boolean;
}


export type Phase = 'before' | 'during' | 'after';
export const PHASES: readonly Phase[] = ['before', 'during', 'after'];

export interface VoiceRunResult {
  readonly kind: TransportKind;
  readonly seed: number;
  /** Virtual ms of the kill and of the takeover's completion (NaN if it did not complete). */
  readonly killAt: number;
  readonly resumedAt: number;
  readonly upstream: Record<Phase, Percentiles>;
  readonly downstream: Record<Phase, Percentiles>;
  /** Client frames: sent, delivered at A only, at B only, at both, at neither. */
  readonly upstreamFrames: { sent: number; atA: number; atB: number; atBoth: number; lost: number; lostBeforeKill: number };
  /** Server → client frames per phase: sent (by A or B) and delivered. */
  readonly downstreamSent: Record<Phase, number>;
  readonly client: VoiceStats;
  readonly serverA: VoiceStats;
  readonly serverB: VoiceStats;
  /** Client side SCTP PR-SCTP counters (0 on TCP). */
  readonly abandoned: number;
  readonly forwardTsnSent: number;
  /** FORWARD-TSN chunks the taker sent (SCTP: the old server's holes it skipped). */
  readonly takerForwardTsnSent: number;
  /** How each connection ended, if it did ('' while open). */
  readonly clientClosed: string;
  readonly takerClosed: string;
  /** Client frames delivered to the application more than once (per server). */
  readonly deliveredTwice: number;
}

export function runVoiceCall(o: VoiceRunOptions): VoiceRunResult {
  const kind = o.kind;
  const callMs = o.callMs ?? 6000;
  const killAt = o.killAtMs ?? 2000;
  const detectMs = o.detectMs ?? 500;
  const announceMs = o.announceMs ?? 100;
  const groupDelay = o.groupDelayMs ?? 1;
  const delayMs = o.delayMs ?? 10;
  const frameMs = 20;
  const net = new SimNetwork({ seed: o.seed ?? 1 });
  net.addHost('client', [IP.client]);
  net.addHost('a', [IP.a]);
  net.addHost('b', [IP.b]);
  const link = { delayMs, ...(o.loss ? { loss: o.loss } : {}) };
  net.link('client', 'a', link);
  net.link('client', 'b', link);
  const port = DEFAULT_UDP_PORT[kind];
  const messages = { lifetimeMs: o.lifetimeMs ?? 150 };
  const hold = o.holdAcks ?? true;
  const endpoint = (ip: string, listen: boolean) =>
    createEndpoint(kind, {
      addresses: [{ address: ip, port }],
      listen,
      random: net.deriveRandom(ip),
      rtoMin: 200,
      messages: ip === IP.client && o.clientPr === false ? { partialReliability: false } : messages,
    });
  const clientEp = endpoint(IP.client, false);
  const aEp = endpoint(IP.a, true);
  const bEp = endpoint(IP.b, false);

  const t0 = 100; // the call starts once the handshake is done
  const phaseOf = (sentAt: number): Phase => (sentAt < killAt ? 'before' : Number.isNaN(resumedAt) || sentAt < resumedAt + 1000 ? 'during' : 'after');
  const upDelays: Record<Phase, number[]> = { before: [], during: [], after: [] };
  const downDelays: Record<Phase, number[]> = { before: [], during: [], after: [] };
  const downstreamSent: Record<Phase, number> = { before: 0, during: 0, after: 0 };
  const atA = new Set<number>();
  const atB = new Set<number>();
  let deliveredTwice = 0;
  let resumedAt = NaN;
  let clientClosed = '';
  let takerClosed = '';

  const clientConn = clientEp.connect(net.now, { address: IP.a, port });
  const clientCall = new VoiceCall(clientConn, { ordered: o.ordered === true });
  clientCall.onFrame = (f, delay) => downDelays[phaseOf(f.sentAt)].push(delay);
  net.attach(clientEp, [{ address: IP.client, port }], (now) => {
    for (let e = clientConn.pollEvent(); e; e = clientConn.pollEvent()) {
      if (e.type === 'data') clientCall.handleData(now, e.bytes);
      else if (e.type === 'closed') clientClosed = e.error?.code ?? 'clean';
    }
  });

  let aConn: MigratableTransport | undefined;
  let aCall: VoiceCall | undefined;
  let stored: { state: TransportState; point: number } | undefined;
  const upstreamSink = (seen: Set<number>) => (f: { seq: number; sentAt: number }, delay: number) => {
    if (seen.has(f.seq)) deliveredTwice++;
    seen.add(f.seq);
    upDelays[phaseOf(f.sentAt)].push(delay);
  };
  net.attach(aEp, [{ address: IP.a, port }], (now) => {
    if (aConn === undefined) {
      aConn = aEp.pollAccept();
      if (aConn === undefined) return;
      aCall = new VoiceCall(aConn, { ordered: o.ordered === true });
      aCall.onFrame = upstreamSink(atA);
      if (hold) aCall.holdAcknowledgements(now);
    }
    for (let e = aConn.pollEvent(); e; e = aConn.pollEvent()) if (e.type === 'data') aCall!.handleData(now, e.bytes);
  });

  let bConn: MigratableTransport | undefined;
  let bCall: VoiceCall | undefined;
  const bResumed = () => !Number.isNaN(resumedAt);

  // Announcements: A's (and after the takeover B's own, to a third member: confirmed the same way).
  const announce = (host: 'a' | 'b') => {
    const call = host === 'a' ? aCall : bCall;
    if (call === undefined || !net.isAlive(host) || (host === 'b' && !bResumed())) return;
    // Without the hold: a plain export, acknowledgements as the transport likes.
    const a = hold ? call.announce(net.now) : { state: call.conn.exportState(net.now), point: call.conn.receivedOffset };
    net.after(groupDelay, () => {
      if (host === 'a') stored = a; // B stores it (it left A before A died)
      net.after(groupDelay, () => {
        if (hold && net.isAlive(host)) call.confirmed(net.now, a.point);
      });
    });
  };
  for (let t = t0; t < t0 + callMs; t += announceMs) {
    net.schedule(t, () => {
      announce('a');
      announce('b');
    });
  }

  // Frames, both ways, every 20 ms.
  const frames = Math.floor(callMs / frameMs);
  for (let k = 0; k < frames; k++) {
    const at = t0 + k * frameMs;
    net.schedule(at, () => {
      if (clientClosed === '' && clientConn.stateName !== 'CLOSED') {
        clientCall.sendFrame(net.now, k);
        net.wake(clientEp);
      }
      const server = net.isAlive('a') && aCall !== undefined ? { call: aCall, ep: aEp } : bResumed() && bCall !== undefined ? { call: bCall, ep: bEp } : undefined;
      if (server !== undefined && server.call.conn.stateName !== 'CLOSED') {
        if (server.call.sendFrame(net.now, k)) downstreamSent[phaseOf(net.now)]++;
        net.wake(server.ep);
      }
    });
  }

  if (o.lossBeforeKill !== undefined) {
    net.schedule(killAt - 200, () => net.link('client', 'a', { ab: link, ba: { ...link, loss: o.lossBeforeKill } }));
  }
  net.schedule(killAt, () => net.kill('a'));
  net.schedule(killAt + detectMs, () => {
    if (stored === undefined) return;
    const state = stored.state;
    const conn = bEp.importState(net.now, state);
    bConn = conn;
    bCall = new VoiceCall(conn, { inboundOffset: conn.receivedOffset, ordered: o.ordered === true });
    bCall.onFrame = upstreamSink(atB);
    if (hold) bCall.holdAcknowledgements(net.now);
    net.attach(bEp, [{ address: IP.b, port }], (now) => {
      for (let e = conn.pollEvent(); e; e = conn.pollEvent()) {
        if (e.type === 'data') bCall!.handleData(now, e.bytes);
        else if (e.type === 'takeover-complete') {
          resumedAt = now;
          bCall!.resumeOutbound(e.receiver.nextOffset);
        } else if (e.type === 'closed') takerClosed = e.error?.code ?? 'clean';
      }
    });
    conn.takeover(net.now, nextTakeoverNumber(state.takeoverNumber));
    net.wake(bEp);
  });

  net.run(t0 + callMs + 3000);

  const sent = clientCall.stats.sent;
  let both = 0;
  let lost = 0;
  let lostBeforeKill = 0;
  for (let k = 0; k < frames; k++) {
    const a = atA.has(k);
    const b = atB.has(k);
    if (a && b) both++;
    if (!a && !b) {
      lost++;
      if (t0 + k * frameMs < killAt - 500) lostBeforeKill++;
    }
  }
  const sctp = kind === 'sctp' ? (clientConn as SctpAssociation) : undefined;
  return {
    kind,
    seed: o.seed ?? 1,
    killAt,
    resumedAt,
    upstream: { before: percentiles(upDelays.before), during: percentiles(upDelays.during), after: percentiles(upDelays.after) },
    downstream: { before: percentiles(downDelays.before), during: percentiles(downDelays.during), after: percentiles(downDelays.after) },
    upstreamFrames: { sent, atA: atA.size, atB: atB.size, atBoth: both, lost, lostBeforeKill },
    downstreamSent,
    client: clientCall.stats,
    serverA: aCall?.stats ?? clientCall.stats,
    serverB: bCall?.stats ?? { sent: 0, droppedAtSender: 0, received: 0, duplicates: 0, corrupt: 0, late: 0, outOfOrder: 0 },
    abandoned: sctp?.pr.abandonedMessages ?? 0,
    forwardTsnSent: sctp?.pr.forwardSent ?? 0,
    takerForwardTsnSent: kind === 'sctp' && bConn !== undefined ? (bConn as SctpAssociation).pr.forwardSent : 0,
    clientClosed,
    takerClosed,
    deliveredTwice,
  };
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');

export function voiceOutput(results: readonly VoiceRunResult[], setup: string): ExperimentOutput {
  const rows = results.flatMap((r) =>
    (['upstream', 'downstream'] as const).flatMap((dir) =>
      PHASES.map((phase) => {
        const p = r[dir][phase];
        return [r.kind, r.seed, dir === 'upstream' ? 'client→server' : 'server→client', phase, p.count, ms(p.p50), ms(p.p95), ms(p.p99), ms(p.max)];
      }),
    ),
  );
  const failed = results.filter((r) => Number.isNaN(r.resumedAt) || r.clientClosed !== '' || r.deliveredTwice > 0 || r.client.duplicates > 0);
  const counts = results.map((r) => [
    r.kind,
    r.seed,
    r.killAt,
    ms(r.resumedAt - r.killAt),
    r.upstreamFrames.sent,
    r.upstreamFrames.atA,
    r.upstreamFrames.atB,
    r.upstreamFrames.atBoth,
    r.upstreamFrames.lost,
    r.client.received,
    r.client.corrupt,
    r.client.late + r.serverA.late + r.serverB.late,
    r.client.droppedAtSender,
    r.abandoned,
    r.forwardTsnSent,
  ]);
  return {
    title: 'Telephony: frame delay around a takeover',
    columns: ['transport', 'seed', 'direction', 'phase', 'frames', 'p50_ms', 'p95_ms', 'p99_ms', 'max_ms'],
    rows,
    chart: {
      kind: 'bar',
      title: `Frame delay p99, ms (${setup})`,
      categories: results.flatMap((r) => PHASES.map((p) => `${r.kind} s${r.seed} ${p}`)),
      series: [
        { name: 'client→server p99', values: results.flatMap((r) => PHASES.map((p) => (Number.isFinite(r.upstream[p].p99) ? r.upstream[p].p99 : 0))) },
        { name: 'server→client p99', values: results.flatMap((r) => PHASES.map((p) => (Number.isFinite(r.downstream[p].p99) ? r.downstream[p].p99 : 0))) },
      ],
    },
    notes: [
      `Setup: ${setup}. Virtual time; delays are one way, from a frame's send() to its delivery to the application, grouped by when it was sent (during: from the kill to 1 s after the takeover completed).`,
      '',
      markdownTable(['transport', 'seed', 'kill at ms', 'kill→resumed ms', 'client frames sent', 'at A', 'at B', 'at both', 'at neither', 'frames at client', 'cut (corrupt)', 'late (>150 ms)', 'dropped at sender', 'abandoned (PR-SCTP)', 'FORWARD-TSN sent'], counts),
    ].join('\n'),
    ...(failed.length ? { failure: failed.map((r) => `${r.kind}: resumed ${r.resumedAt}, client closed '${r.clientClosed}', delivered twice ${r.deliveredTwice}, duplicates ${r.client.duplicates}`).join('; ') } : {}),
  };
}

export const voiceExperiment: Experiment = {
  name: 'voice',
  summary: 'a telephony call (20 ms frames both ways) through a takeover: frame delay percentiles before, during, after',
  description: [
    'On the simulated network, a client and server A exchange 20 ms frames (160 bytes of audio) both ways; A announces the',
    'call state every --announce-ms to B; A dies at 2 s, B takes the call over --detect-ms later. Per transport: one-way frame',
    'delay p50/p95/p99/max before, during and after the takeover, each direction, and where every client frame ended up.',
    'SCTP runs in message mode with PR-SCTP (--lifetime-ms); TCP-Migrate carries fixed-size frames on its byte stream.',
  ].join(' '),
  defaultSeeds: 1,
  options: [
    { name: 'transport', flag: '--transport <kind>', description: `transport (${TRANSPORT_KINDS.join(', ')}, or both)`, default: 'both' },
    { name: 'detectMs', flag: '--detect-ms <n>', description: 'ms from the kill to the takeover request (death notice + backoff)', default: '500' },
    { name: 'announceMs', flag: '--announce-ms <n>', description: 'announcement period of the call state', default: '100' },
    { name: 'lifetimeMs', flag: '--lifetime-ms <n>', description: 'SCTP: PR-SCTP lifetime of a frame (above the announcement period + a group round trip)', default: '150' },
    { name: 'delayMs', flag: '--delay-ms <n>', description: 'one-way delay of the client links', default: '10' },
    { name: 'loss', flag: '--loss <p>', description: 'packet loss probability on the client links', default: '0' },
  ],
  run(context) {
    const kinds: TransportKind[] = context.options.transport === 'both' ? [...TRANSPORT_KINDS] : [context.options.transport as TransportKind];
    if (kinds.some((k) => !TRANSPORT_KINDS.includes(k))) throw new LocalUsageError(`--transport must be sctp, tcp or both`);
    const num = (name: string) => {
      const v = Number(context.options[name]);
      if (!Number.isFinite(v) || v < 0) throw new LocalUsageError(`--${name} must be a non-negative number`);
      return v;
    };
    const common = { detectMs: num('detectMs'), announceMs: num('announceMs'), lifetimeMs: num('lifetimeMs'), delayMs: num('delayMs'), loss: num('loss') };
    const results: VoiceRunResult[] = [];
    for (let seed = 1; seed <= context.seeds; seed++) {
      for (const kind of kinds) {
        context.progress(`voice: ${kind}, seed ${seed}`);
        // Each seed kills A at another instant of its announcement period and frame clock.
        results.push(runVoiceCall({ kind, seed, ...common, killAtMs: 2000 + (((seed - 1) * 37) % Math.max(1, common.announceMs)) }));
      }
    }
    const setup = `one-way ${common.delayMs} ms, loss ${common.loss}, announce every ${common.announceMs} ms, takeover ${common.detectMs} ms after the kill, PR-SCTP lifetime ${common.lifetimeMs} ms, ${context.seeds} seed(s)`;
    return voiceOutput(results, setup);
  },
};
