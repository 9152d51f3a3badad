// CPU throughput of the SCTP cores alone: two endpoints wired back to back in-process (no
// sockets, no delay), byte-stream mode, 1500-byte MTU. Usage: npx tsx bench/sctp-core-throughput.ts [MB] [write-bytes]
// (write-bytes: size of each send(), default 1 MiB; 1400 is what `baton bench throughput` writes,
// where most chunks span two writes)
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import type { Transmit } from '../src/transport-abstraction/transport.js';

const MB = Number(process.argv[2] ?? 200);
const WRITE = Number(process.argv[3] ?? 1 << 20);
const A = { address: '127.0.0.1', port: 9899 };
const B = { address: '127.0.0.2', port: 9899 };
const assoc = { mtu: 1500, rto: { min: 200, initial: 1000 } };
const a = new SctpEndpoint({ addresses: [A], random: new SeededRandom(1), listen: false, association: assoc });
const b = new SctpEndpoint({ addresses: [B], random: new SeededRandom(2), association: assoc });
const c = a.connect(0, B);
const block = new Uint8Array(WRITE).map((_, i) => i & 0xff);
let sent = 0;
let received = 0;
const total = MB * 1e6;
let now = 0;
const start = performance.now();
let packets = 0;
let s: ReturnType<SctpEndpoint['pollAccept']>;
while (received < total) {
  now = performance.now() - start;
  if (c.stateName === 'ESTABLISHED') {
    while (sent < total) {
      const n = c.send(block.subarray(0, Math.min(block.length, total - sent)));
      if (n === 0) break;
      sent += n;
    }
  }
  let moved = 0;
  for (let t: Transmit | undefined = a.pollTransmit(now); t; t = a.pollTransmit(now)) {
    b.handleDatagram(now, A, t.payload);
    moved++;
  }
  for (let t: Transmit | undefined = b.pollTransmit(now); t; t = b.pollTransmit(now)) {
    a.handleDatagram(now, B, t.payload);
    moved++;
  }
  packets += moved;
  s ??= b.pollAccept();
  if (s) for (let e = s.pollEvent(); e; e = s.pollEvent()) if (e.type === 'data') received += e.bytes.length;
  for (let e = c.pollEvent(); e; e = c.pollEvent());
  if (moved === 0) {
    const t1 = a.pollTimeout();
    const t2 = b.pollTimeout();
    a.handleTimeout(Math.max(now, t1 ?? 0));
    b.handleTimeout(Math.max(now, t2 ?? 0));
  }
}
const secs = (performance.now() - start) / 1000;
console.log(`${MB} MB in ${secs.toFixed(2)} s: ${(MB / secs).toFixed(1)} MB/s, ${packets} packets`);
