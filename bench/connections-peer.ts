// One side of `baton bench connections` on real UDP, run as its own process (bench/connections.ts
// starts both), so that the server's memory and event loop are its own.
//
//   server:  --role server --transport sctp|tcp --local 127.0.0.1:PORT --n N --seconds S
//     prints "LISTENING port" and "BASE rss heap" (bytes, after a forced GC); once N connections
//     are established "ESTABLISHED rss heap"; then streams to all N for S seconds (application
//     writes of 1400 bytes as fast as each send buffer takes them), closes them, and prints
//     "STREAMED bytes p99ms" (event-loop delay p99 while streaming, node:perf_hooks).
//   clients: --role clients --transport sctp|tcp --peer 127.0.0.1:PORT --n N [--window 256]
//     opens N connections (each its own UDP socket on 127.0.0.1, at most `window` handshakes
//     at once), prints "CONNECTED n seconds", then counts what arrives: "RECEIVED bytes seconds"
//     (first to last byte over all connections) once every connection is closed.
// Both print "ERROR ..." and exit 1 on a failure; progress goes to stderr.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { MigratableTransport, TransportEndpoint, TransportKind } from '../src/transport-abstraction/transport.js';
import { UdpRuntime, type UdpAttachment } from '../src/node/udp-runtime.js';
import { END, StreamCollector, StreamSender, type StreamSource } from '../src/stream/index.js';
import { createEndpoint } from '../src/transports.js';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import { parseFlags } from './child.js';
import { settledMemory } from './connections.js';

const MESSAGE = 1400;

function fail(message: string): never {
  process.stdout.write(`ERROR ${message.replace(/\s+/g, ' ')}\n`);
  process.exit(1);
}

function udp(text: string | undefined, what: string): UdpAddress {
  const m = text === undefined ? null : /^(127\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  if (!m) fail(`${what}: expected 127.x.y.z:port, got ${text}`);
  return { address: m![1]!, port: Number(m![2]) };
}

/**
 * The listening endpoint. SCTP's INIT-ACK rate per source address (init-rate.ts, 200 a second) is
 * off here: every client of the bench comes from 127.0.0.1.
 */
export function benchEndpoint(kind: TransportKind, local: UdpAddress, listen: boolean): TransportEndpoint {
  if (kind === 'sctp' && listen) return new SctpEndpoint({ addresses: [local], sctpPort: local.port, listen, initRate: { perSecond: 0, burst: 0 }, association: { mtu: 1500, rto: { min: 200 } } });
  return createEndpoint(kind, { addresses: [local], port: local.port, listen, mtu: 1500, rtoMin: 200 });
}

async function server(kind: TransportKind, local: UdpAddress, n: number, seconds: number): Promise<void> {
  const runtime = new UdpRuntime();
  runtime.onError((e) => process.stderr.write(`runtime: ${e.code} ${e.message}\n`));
  const chunk = new Uint8Array(MESSAGE).fill(0x63);
  let stopAt = Infinity;
  const source: StreamSource = { read: (offset, max) => (runtime.now() >= stopAt ? END : chunk.subarray(offset % MESSAGE, Math.min(MESSAGE, (offset % MESSAGE) + max))) };
  const conns: MigratableTransport[] = [];
  const senders: StreamSender[] = [];
  let endpoint: TransportEndpoint | undefined;
  let established = 0;
  let closed = 0;
  let attachment: UdpAttachment<TransportEndpoint> | undefined;
  const eld = monitorEventLoopDelay({ resolution: 5 });
  const finish = (): void => {
    eld.disable();
    const sent = senders.reduce((s, x) => s + x.offset, 0);
    process.stdout.write(`STREAMED ${sent} ${(eld.percentile(99) / 1e6).toFixed(2)}\n`);
    setTimeout(() => void attachment!.close().then(() => process.exit(0)), 50);
  };
  const startStreaming = (): void => {
    const m = settledMemory();
    process.stdout.write(`ESTABLISHED ${m.rss} ${m.heap}\n`);
    stopAt = runtime.now() + seconds * 1000;
    eld.enable();
    for (const conn of conns) {
      senders.push(
        new StreamSender({
          conn,
          source,
          now: () => runtime.now(),
          wake: () => attachment!.wake(),
          onEvent: (e) => {
            if (e.type === 'closed' && ++closed === n) finish();
          },
        }),
      );
    }
    for (const s of senders) s.pump(runtime.now());
    attachment!.wake();
    const tick = setInterval(() => {
      if (runtime.now() < stopAt) return;
      clearInterval(tick);
      for (const s of senders) s.ready();
      attachment!.wake();
    }, 20);
  };
  attachment = await runtime.attach([local], (bound) => (endpoint = benchEndpoint(kind, bound[0]!, true)), (now) => {
    for (let c = endpoint!.pollAccept(); c; c = endpoint!.pollAccept()) conns.push(c);
    if (senders.length === 0) {
      for (const c of conns) for (let e = c.pollEvent(); e; e = c.pollEvent()) if (e.type === 'connected') established++;
      if (established >= n) setImmediate(startStreaming);
      return;
    }
    for (const s of senders) s.pump(now);
  });
  const base = settledMemory();
  process.stdout.write(`LISTENING ${attachment.addresses[0]!.port}\nBASE ${base.rss} ${base.heap}\n`);
}

async function clients(kind: TransportKind, peer: UdpAddress, n: number, window: number): Promise<void> {
  const runtime = new UdpRuntime();
  runtime.onError((e) => process.stderr.write(`runtime: ${e.code} ${e.message}\n`));
  let connected = 0;
  let closed = 0;
  let received = 0;
  let first = 0;
  let last = 0;
  const t0 = performance.now();
  const attachments: UdpAttachment<TransportEndpoint>[] = [];
  let progressAt = 0;
  const open = async (): Promise<void> => {
    let endpoint: TransportEndpoint | undefined;
    let collector: StreamCollector | undefined;
    let settle: () => void = () => {};
    const up = new Promise<void>((resolve) => (settle = resolve));
    const a = await runtime.attach([{ address: '127.0.0.1', port: 0 }], (bound) => (endpoint = benchEndpoint(kind, bound[0]!, false)), (now) => collector?.pump(now));
    attachments.push(a);
    const conn = endpoint!.connect(runtime.now(), peer, { remotePort: peer.port });
    collector = new StreamCollector({
      conn,
      keep: false,
      onEvent: (e) => {
        if (e.type === 'connected') {
          connected++;
          settle();
        } else if (e.type === 'data') {
          const now = performance.now();
          if (received === 0) first = now;
          last = now;
          received += e.bytes.length;
        } else if (e.type === 'closed') {
          settle();
          if (e.error) process.stderr.write(`connection closed with ${e.error.code}: ${e.error.message}\n`);
          if (++closed === n) done();
        }
      },
    });
    a.wake();
    await up;
  };
  const done = (): void => {
    process.stdout.write(`RECEIVED ${received} ${((last - first) / 1000).toFixed(6)}\n`);
    void Promise.all(attachments.map((a) => a.close())).then(() => process.exit(0));
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      await open();
      if (performance.now() - progressAt > 2000) {
        progressAt = performance.now();
        process.stderr.write(`clients: ${connected}/${n} connected\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, n) }, worker));
  process.stdout.write(`CONNECTED ${connected} ${((performance.now() - t0) / 1000).toFixed(6)}\n`);
}

const flags = parseFlags(process.argv.slice(2));
const kind = flags.get('transport') ?? 'sctp';
if (kind !== 'sctp' && kind !== 'tcp') fail(`unknown transport ${kind}`);
const n = Number(flags.get('n') ?? 1);
process.on('uncaughtException', (e) => fail(`uncaught: ${e.stack ?? e.message}`));
if (flags.get('role') === 'server') await server(kind, udp(flags.get('local'), '--local'), n, Number(flags.get('seconds') ?? 5));
else if (flags.get('role') === 'clients') await clients(kind, udp(flags.get('peer'), '--peer'), n, Number(flags.get('window') ?? 256));
else fail('--role server|clients is required');
