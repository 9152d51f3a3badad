// CPU cost of the TCP-Migrate cores alone: two endpoints wired back to back in-process (no sockets,
// no delay), 1400-byte MSS, checksums on. What is left after this is node:dgram and the event loop.
//   npx tsx bench/tcp-core-throughput.ts [MB] [repeats]      (or node dist/bench/tcp-core-throughput.js)
import { TcpMigrateEndpoint } from '../src/tcp-migrate/endpoint.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import type { MigratableTransport, Transmit } from '../src/transport-abstraction/transport.js';

function run(MB: number): { mbps: number; usPerData: number; data: number; acks: number } {
  const A = { address: '127.0.0.1', port: 40000 };
  const B = { address: '127.0.0.2', port: 40001 };
  const a = new TcpMigrateEndpoint({ addresses: [A], port: A.port, random: new SeededRandom(1), mtu: 1500, rtoMin: 200 });
  const b = new TcpMigrateEndpoint({ addresses: [B], port: B.port, random: new SeededRandom(2), listen: true, mtu: 1500, rtoMin: 200 });
  const c = a.connect(0, B, { remotePort: B.port });
  const chunk = new Uint8Array(1400).map((_, i) => i & 0xff);
  const total = MB * 1e6;
  let sent = 0;
  let received = 0;
  let data = 0;
  let acks = 0;
  let connected = false;
  let s: MigratableTransport | undefined;
  const start = performance.now();
  let now = 0;
  while (received < total) {
    now = performance.now() - start;
    for (let e = c.pollEvent(); e; e = c.pollEvent()) if (e.type === 'connected') connected = true;
    if (connected) {
      while (sent < total) {
        const n = c.send(chunk.subarray(0, Math.min(chunk.length, total - sent)));
        if (n === 0) break;
        sent += n;
      }
    }
    let moved = 0;
    for (let t: Transmit | undefined = a.pollTransmit(now); t; t = a.pollTransmit(now)) {
      b.handleDatagram(now, A, t.payload, B);
      data++;
      moved++;
    }
    for (let t: Transmit | undefined = b.pollTransmit(now); t; t = b.pollTransmit(now)) {
      a.handleDatagram(now, B, t.payload, A);
      acks++;
      moved++;
    }
    s ??= b.pollAccept();
    if (s) for (let e = s.pollEvent(); e; e = s.pollEvent()) if (e.type === 'data') received += e.bytes.length;
    if (moved === 0) {
      const t1 = a.pollTimeout();
      const t2 = b.pollTimeout();
      a.handleTimeout(Math.max(now, t1 ?? 0));
      b.handleTimeout(Math.max(now, t2 ?? 0));
    }
  }
  const ms = performance.now() - start;
  return { mbps: total / 1e3 / ms, usPerData: (ms * 1000) / data, data, acks };
}

const MB = Number(process.argv[2] ?? 200);
const repeats = Number(process.argv[3] ?? 3);
for (let i = 0; i < repeats; i++) {
  const r = run(MB);
  console.log(`${MB} MB: ${r.mbps.toFixed(1)} MB/s, ${r.usPerData.toFixed(2)} µs per data segment (ack included), ${r.data} data, ${r.acks} acks`);
}
