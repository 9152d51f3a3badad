// One side of `baton bench connections` on real UDP, run as its own process (bench/connections.ts
// starts both), so that the server's memory and event loop are its own.
//
//   server:  --role server --transport sctp|tcp --local 127.0.0.1:PORT --n N --seconds S
//     prints "LISTENING port" and "BASE rss heap" (bytes, after a forced GC); once N connections
//     are established "ESTABLISHED rss heap"; then streams to all N for S seconds (application
//     writes of 1400 bytes as fast as each send buffer takes them), closes them, and prints
//     "STREAMED bytes p99ms" (event-loop delay p99 while streaming, node:perf_hooks).
//   clients: --role clients --transport sctp|tcp --peer 127.0.0.1:PORT --n N [--window 256] [--per-socket 1000]
//     opens N connections (at most `window` handshakes at once), `per-socket` of them on each UDP
//     socket of its own (ClientSocket below), prints "CONNECTED n seconds", then counts what
//     arrives: "RECEIVED bytes seconds" (first to last byte over all connections) once every
//     connection is closed.
// Both print "ERROR ..." and exit 1 on a failure; progress goes to stderr.
//
// Neither side scans its connections per datagram: after each input cycle only the connections
// the endpoint called into since are pumped (endpoint.pollReady()), so that 10,000 connections
// cost a cycle what its datagrams cost, not 10,000 polls.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { DatagramCore, Instant, MigratableTransport, Transmit, TransportEndpoint, TransportKind } from '../src/transport-abstraction/transport.js';
import { EndpointScheduler } from '../src/transport-abstraction/scheduler.js';
import { UdpRuntime, type UdpAttachment } from '../src/node/udp-runtime.js';
import { END, StreamCollector, StreamSender, type StreamSource } from '../src/stream/index.js';
import { createEndpoint } from '../src/transports.js';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import { TcpMigrateEndpoint } from '../src/tcp-migrate/endpoint.js';
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

/** An endpoint that names the connections it called into since last asked (sctp/endpoint.ts, tcp-migrate/endpoint.ts). */
type ReadyEndpoint = TransportEndpoint & { pollReady(): MigratableTransport | undefined };

/**
 * Each server connection's send buffer: 256 MiB over the n connections, between 16 KiB and 1 MiB
 * (1 MiB up to n = 256, 26 KiB at 10,000). The default 4 MiB each would queue 40 GB for 10,000
 * streams, and closing them would wait for all of it to be delivered.
 */
export function sendBufferFor(n: number): number {
  return Math.round(Math.min(1 << 20, Math.max(16 << 10, (256 << 20) / n)));
}

/**
 * Dead-peer bounds of both sides: 2 minutes, not 15-55 s. On a loaded machine a starved process
 * may answer nothing for 20 s (TCP-Migrate's keep-alives gave up on 2732 of 10,000 connections
 * so at load 34); the bench measures what connections cost, not how fast a dead peer is found.
 */
const BENCH_DEAD_PEER = { connectTimeoutMs: 120_000, userTimeoutMs: 120_000, idleTimeoutMs: 120_000 } as const;

/**
 * The endpoint of either side. SCTP's INIT-ACK rate per source address (init-rate.ts, 200 a
 * second) is off on the server: every client of the bench comes from 127.0.0.1.
 */
export function benchEndpoint(kind: TransportKind, local: UdpAddress, listen: boolean, n = 1): ReadyEndpoint {
  const sendBuffer = sendBufferFor(n);
  if (kind === 'sctp' && listen) return new SctpEndpoint({ addresses: [local], sctpPort: local.port, listen, initRate: { perSecond: 0, burst: 0 }, association: { mtu: 1500, rto: { min: 200 }, sendBufferSize: sendBuffer, ...BENCH_DEAD_PEER } });
  if (kind === 'tcp' && listen) return new TcpMigrateEndpoint({ addresses: [local], port: local.port, listen, mtu: 1500, rtoMin: 200, deadPeer: BENCH_DEAD_PEER, config: { sendBufferSize: sendBuffer, sendBufferMax: sendBuffer } });
  return createEndpoint(kind, { addresses: [local], port: local.port, listen, mtu: 1500, rtoMin: 200, deadPeer: BENCH_DEAD_PEER }) as ReadyEndpoint;
}

/**
 * Many client endpoints on one UDP socket. SCTP allows one association between two endpoints, so
 * each SCTP client is an endpoint of its own with an SCTP port of its own, and a datagram goes to
 * the endpoint of its destination port (bytes 2-3, in SCTP's common header as in TCP's header);
 * TCP-Migrate needs one endpoint for all (each connect() takes a TCP port of its own). The
 * endpoints' datagrams and timers are scheduled as an endpoint schedules its connections.
 */
class ClientSocket implements DatagramCore {
  private readonly byPort = new Map<number, ReadyEndpoint>();
  private readonly scheduler = new EndpointScheduler<ReadyEndpoint>((e) => e.pollTimeout());
  /** Endpoints called into since the last forReady. */
  private readonly touched = new Set<ReadyEndpoint>();

  constructor(readonly only: ReadyEndpoint | undefined) {}

  add(port: number, e: ReadyEndpoint): void {
    this.byPort.set(port, e);
  }

  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    const e = this.only ?? (bytes.length >= 4 ? this.byPort.get((bytes[2]! << 8) | bytes[3]!) : undefined);
    if (e === undefined) return;
    e.handleDatagram(now, from, bytes, local);
    this.called(e);
  }

  handleTimeout(now: Instant): void {
    for (const e of this.scheduler.due(now)) {
      e.handleTimeout(now);
      this.called(e);
    }
  }

  pollTransmit(now: Instant): Transmit | undefined {
    for (const e of this.scheduler.woken()) {
      const t = e.pollTransmit(now);
      if (t !== undefined) {
        this.scheduler.sent(e);
        return t;
      }
      this.scheduler.idle(e);
    }
    return undefined;
  }

  pollTimeout(): Instant | undefined {
    return this.scheduler.pollTimeout();
  }

  /** `e` was called into (input, a timer, the application): poll it for datagrams, events, its deadline. */
  called(e: ReadyEndpoint): void {
    this.scheduler.wake(e);
    this.touched.add(e);
  }

  /** Each connection of the endpoints called into since the last time that may have events. */
  forReady(fn: (c: MigratableTransport) => void): void {
    for (const e of this.touched) for (let c = e.pollReady(); c; c = e.pollReady()) fn(c);
    this.touched.clear();
  }
}

async function server(kind: TransportKind, local: UdpAddress, n: number, seconds: number): Promise<void> {
  const runtime = new UdpRuntime();
  runtime.onError((e) => process.stderr.write(`runtime: ${e.code} ${e.message}\n`));
  const chunk = new Uint8Array(MESSAGE).fill(0x63);
  let stopAt = Infinity;
  const source: StreamSource = { read: (offset, max) => (runtime.now() >= stopAt ? END : chunk.subarray(offset % MESSAGE, Math.min(MESSAGE, (offset % MESSAGE) + max))) };
  const conns: MigratableTransport[] = [];
  const senders = new Map<MigratableTransport, StreamSender>();
  let endpoint: ReadyEndpoint | undefined;
  let established = 0;
  let closed = 0;
  let streaming = false;
  let progressAt = 0;
  let attachment: UdpAttachment<TransportEndpoint> | undefined;
  const eld = monitorEventLoopDelay({ resolution: 5 });
  const finish = (): void => {
    eld.disable();
    let sent = 0;
    for (const s of senders.values()) sent += s.offset;
    process.stdout.write(`STREAMED ${sent} ${(eld.percentile(99) / 1e6).toFixed(2)}\n`);
    setTimeout(() => void attachment!.close().then(() => process.exit(0)), 50);
  };
  const startStreaming = (): void => {
    const m = settledMemory();
    process.stdout.write(`ESTABLISHED ${m.rss} ${m.heap}\n`);
    stopAt = runtime.now() + seconds * 1000;
    eld.enable();
    for (const conn of conns) {
      senders.set(
        conn,
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
    streaming = true;
    for (const s of senders.values()) s.pump(runtime.now());
    attachment!.wake();
    const tick = setInterval(() => {
      if (runtime.now() < stopAt) return;
      clearInterval(tick);
      for (const s of senders.values()) s.ready();
      attachment!.wake();
    }, 20);
  };
  attachment = await runtime.attach([local], (bound) => (endpoint = benchEndpoint(kind, bound[0]!, true, n)), (now) => {
    for (let c = endpoint!.pollAccept(); c; c = endpoint!.pollAccept()) conns.push(c);
    if (!streaming) {
      for (let c = endpoint!.pollReady(); c; c = endpoint!.pollReady()) for (let e = c.pollEvent(); e; e = c.pollEvent()) if (e.type === 'connected') established++;
      if (established === n) {
        established++; // once
        setImmediate(startStreaming);
      } else if (now - progressAt > 2000 && established < n) {
        progressAt = now;
        process.stderr.write(`server: ${established}/${n} established, dropped ${JSON.stringify(Object.fromEntries(endpoint!.dropped))}\n`);
      }
      return;
    }
    for (let c = endpoint!.pollReady(); c; c = endpoint!.pollReady()) senders.get(c)?.pump(now);
  });
  const base = settledMemory();
  process.stdout.write(`LISTENING ${attachment.addresses[0]!.port}\nBASE ${base.rss} ${base.heap}\n`);
}

/** All SCTP clients of the bench share one secret, so one x25519 key pair: one client host. */
const CLIENT_SECRET = new Uint8Array(32).fill(0x5a);

async function clients(kind: TransportKind, peer: UdpAddress, n: number, window: number, perSocket: number): Promise<void> {
  const runtime = new UdpRuntime();
  runtime.onError((e) => process.stderr.write(`runtime: ${e.code} ${e.message}\n`));
  let connected = 0;
  let closed = 0;
  let received = 0;
  let first = 0;
  let last = 0;
  const t0 = performance.now();
  const collectors = new Map<MigratableTransport, StreamCollector>();
  const sockets: { core: ClientSocket; attachment: UdpAttachment<ClientSocket> }[] = [];
  for (let i = 0; i < Math.ceil(n / perSocket); i++) {
    let core: ClientSocket | undefined;
    const attachment = await runtime.attach([{ address: '127.0.0.1', port: 0 }], (bound) => (core = new ClientSocket(kind === 'tcp' ? benchEndpoint(kind, bound[0]!, false) : undefined)), (now) => core!.forReady((c) => collectors.get(c)?.pump(now)));
    sockets.push({ core: core!, attachment });
  }
  let progressAt = 0;
  const open = async (i: number): Promise<void> => {
    const { core, attachment } = sockets[Math.floor(i / perSocket)]!;
    let endpoint = core.only;
    if (endpoint === undefined) {
      const port = 1024 + (i % perSocket);
      endpoint = new SctpEndpoint({ addresses: attachment.addresses, sctpPort: port, listen: false, secret: CLIENT_SECRET, association: { mtu: 1500, rto: { min: 200 }, ...BENCH_DEAD_PEER } });
      core.add(port, endpoint);
    }
    let settle: () => void = () => {};
    const up = new Promise<void>((resolve) => (settle = resolve));
    const conn = endpoint.connect(runtime.now(), peer, { remotePort: peer.port });
    collectors.set(
      conn,
      new StreamCollector({
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
      }),
    );
    core.called(endpoint);
    attachment.wake();
    await up;
  };
  const done = (): void => {
    process.stdout.write(`RECEIVED ${received} ${((last - first) / 1000).toFixed(6)}\n`);
    void Promise.all(sockets.map((s) => s.attachment.close())).then(() => process.exit(0));
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      await open(next++);
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
else if (flags.get('role') === 'clients') await clients(kind, udp(flags.get('peer'), '--peer'), n, Number(flags.get('window') ?? 256), Math.min(60_000, Number(flags.get('per-socket') ?? 1000)));
else fail('--role server|clients is required');
