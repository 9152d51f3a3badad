// `baton bench connections` (issue 12, "Connections per process"): the core part's figure is the
// goal itself (≤ 16 KB per idle connection on both transports; an SCTP association held two 64 KiB
// slabs before), and the real-UDP part runs end to end with a few connections.
import test from 'ava';
import { measureCore, runConnections } from '../bench/connections.js';
import { createEndpoint, TRANSPORT_KINDS } from '../src/transports.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import type { MigratableTransport, TransportEndpoint } from '../src/transport-abstraction/transport.js';

type ReadyEndpoint = TransportEndpoint & { pollReady(): MigratableTransport | undefined };

/** Datagrams handed across between a server and its clients until nothing moves (no sockets, one instant). */
function exchange(now: number, server: TransportEndpoint, clients: ReadonlyMap<string, TransportEndpoint>): void {
  for (let round = 0; round < 20; round++) {
    let moved = 0;
    for (let t = server.pollTransmit(now); t; t = server.pollTransmit(now), moved++) clients.get(t.destination.address)!.handleDatagram(now, t.source!, t.payload, t.destination);
    for (const c of clients.values()) for (let t = c.pollTransmit(now); t; t = c.pollTransmit(now), moved++) server.handleDatagram(now, t.source!, t.payload, t.destination);
    if (moved === 0) return;
  }
}

function drain(list: () => MigratableTransport | undefined): MigratableTransport[] {
  const out: MigratableTransport[] = [];
  for (let c = list(); c; c = list()) out.push(c);
  return out;
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: pollReady names the connections the endpoint called into since, not the idle ones (10,000 streams need no scan per datagram)`, (t) => {
    const random = new SeededRandom(3);
    const server = createEndpoint(kind, { addresses: [{ address: '10.0.0.1', port: 5000 }], port: 5000, listen: true, random }) as ReadyEndpoint;
    const clients = new Map<string, TransportEndpoint>();
    const conns: MigratableTransport[] = [];
    for (let i = 1; i <= 5; i++) {
      const address = { address: `10.0.1.${i}`, port: 6000 };
      const c = createEndpoint(kind, { addresses: [address], port: 6000, listen: false, random });
      clients.set(address.address, c);
      conns.push(c.connect(0, { address: '10.0.0.1', port: 5000 }, { remotePort: 5000 }));
    }
    exchange(0, server, clients);
    const accepted = drain(() => server.pollAccept());
    t.is(accepted.length, 5);
    // The first call names every connection (nothing was recorded before it).
    t.deepEqual(new Set(drain(() => server.pollReady())), new Set(accepted));
    for (const c of accepted) for (let e = c.pollEvent(); e; e = c.pollEvent());
    t.deepEqual(drain(() => server.pollReady()), [], 'nothing happened since');
    // Data from the third client: its connection alone (and it has the data event).
    conns[2]!.send(new TextEncoder().encode('ping'));
    exchange(1, server, clients);
    const ready = drain(() => server.pollReady());
    t.is(ready.length, 1);
    const events = [];
    for (let e = ready[0]!.pollEvent(); e; e = ready[0]!.pollEvent()) events.push(e.type);
    t.true(events.includes('data'), events.join());
    for (const c of accepted) if (c !== ready[0]) t.is(c.pollEvent(), undefined, 'an idle connection had no event to miss');
  });
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: an idle connection costs the server core at most 16 KB (500 connections, after a warm-up)`, (t) => {
    const core = measureCore(kind, 500);
    t.is(core.established, 500);
    t.log(`${kind}: ${(core.bytesPerConnection / 1000).toFixed(1)} KB per idle connection, ${core.setupsPerSecond.toFixed(0)} set-ups per second of server CPU (a shared machine)`);
    t.true(core.bytesPerConnection <= 16_000, `${core.bytesPerConnection} bytes per connection`);
    t.true(core.setupsPerSecond > 0);
  });
}

test('sctp: the real-UDP part streams to n concurrent connections and reports every figure', async (t) => {
  const rows = await runConnections({ transport: 'sctp', ns: [1, 4], seconds: 1, progress: (line) => t.log(line) });
  t.deepEqual(rows.map((r) => r.n), [1, 4]);
  for (const r of rows) {
    t.true(r.goodputMBps > 0, `n=${r.n}: no goodput`);
    t.true(r.eventLoopP99Ms > 0 && Number.isFinite(r.rssBytesPerConnection) && r.endToEndSetupsPerSecond > 0, JSON.stringify(r));
  }
  t.is(rows[0]!.goodputRatio, 1);
  t.true(Number.isFinite(rows[1]!.goodputRatio));
});
