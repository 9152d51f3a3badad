// RFC 9260 path management and sending rules tried from the RFC text on the simulated network:
// HEARTBEATs only on idle paths (§8.3), Max.Burst (§6.1, RFC 4960 §6.1 rule D / RFC 9260 §7.2.4).
import test from 'ava';
import { CLIENT, connect, feeder, makePair, pattern, SERVER, sha256 } from './sctp-harness.js';
import { parsePacket } from '../src/sctp/wire/index.js';
import type { SctpOptions } from '../src/sctp/options.js';
import type { TraceEvent } from '../src/sim/network.js';

/** Chunk types of a datagram (empty when it does not parse). */
function chunkTypes(e: TraceEvent): number[] {
  const r = parsePacket(e.payload);
  return r.ok ? r.packet.chunks.map((c) => c.type) : [];
}

test('§8.3: a path carrying DATA with acknowledgements gets no HEARTBEAT; the receive-only side and the idle sender still probe', (t) => {
  const options: SctpOptions = { heartbeatInterval: 1000 };
  const p = makePair({ link: { delayMs: 20, rateBps: 1_000_000, queueBytes: 30_000 }, client: options, server: options });
  const client = connect(p);
  p.net.runUntil(() => p.server.assoc?.stateName === 'ESTABLISHED', p.net.now + 2000);
  const server = p.server.assoc!;
  const data = pattern(2_000_000); // 16 s at 1 Mbit/s
  const f = feeder(server, data);
  p.server.onData = () => f.pump();
  f.pump();
  p.net.wake(p.serverEp);
  const heartbeats = { server: [] as number[], client: [] as number[] };
  let lastData = 0;
  p.net.onTrace((e) => {
    if (e.kind !== 'send') return;
    const types = chunkTypes(e);
    const side = e.from.address === SERVER.address ? 'server' : e.from.address === CLIENT.address ? 'client' : undefined;
    if (side === undefined) return;
    if (types.includes(4)) heartbeats[side].push(e.time);
    if (side === 'server' && types.includes(0)) lastData = e.time;
  });
  const start = p.net.now;
  p.net.runUntil(() => p.client.receivedBytes >= data.length, start + 60_000);
  t.is(sha256(p.client.received), sha256(data));
  const busyUntil = lastData;
  t.true(busyUntil - start > 10_000, `the transfer lasted ${busyUntil - start} ms`);
  const busyBeats = heartbeats.server.filter((x) => x < busyUntil);
  t.deepEqual(busyBeats, [], 'the sender sent no HEARTBEAT while its path carried DATA (one per HB.interval before)');
  // The receive-only client's path carries no DATA: it stays supervised (sctp-hardening.test.ts).
  t.true(heartbeats.client.filter((x) => x < busyUntil).length >= 5, `client HEARTBEATs while receiving: ${heartbeats.client.length}`);
  // Idle again: the sender probes within HB.interval + RTO (+ half an RTO of jitter) of its last DATA.
  p.net.run(p.net.now + 5000);
  const next = heartbeats.server.find((x) => x >= busyUntil);
  t.not(next, undefined, 'the idle sender probes again');
  const rto = server.paths[0]!.rto.rto;
  t.true(next! - busyUntil <= 1000 + 1.5 * rto + 50, `first HEARTBEAT ${next! - busyUntil} ms after the last DATA (rto ${rto})`);
  t.is(client.stateName, 'ESTABLISHED');
});
