// `baton bench connections`: what one connection costs a server process (issue 12, "Connections
// per process"). For each n:
//   - core, in this process, no sockets: a listening endpoint and n client endpoints whose
//     datagrams are handed across directly, 4 bytes echoed on each connection; the server's
//     memory per idle connection (JS heap and
//     ArrayBuffers after a forced GC, the clients dropped first) and its CPU per set-up (time
//     spent inside the server endpoint's handleDatagram/pollTransmit/pollAccept, so set-ups per
//     second of one core);
//   - real UDP on loopback, two processes (connections-peer.ts): n connections opened, the server
//     process's RSS and heap growth per connection, then n concurrent streams from the server for
//     `seconds`: aggregate goodput at the clients and the server's event-loop delay p99.
//
//   node --import=tsx bench/connections.ts [--n 1,10,100,1000,10000] [--transport sctp|tcp] [--seconds 5] [--json]
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { benchScript, isMain, mbps, parseFlags, PROJECT_ROOT } from './child.js';
import { spawnProcess } from './process.js';
import { freeUdpPort } from './ports.js';
import { createEndpoint } from '../src/transports.js';
import type { MigratableTransport, Transmit, TransportEndpoint, TransportKind } from '../src/transport-abstraction/transport.js';

export interface ConnectionsOptions {
  readonly transport: TransportKind;
  readonly ns: readonly number[];
  /** Streaming time per n (s). */
  readonly seconds?: number;
  /** Skip the real-UDP part (core figures only). */
  readonly coreOnly?: boolean;
  readonly progress?: (line: string) => void;
}

export interface ConnectionsRow {
  readonly n: number;
  /** Server core: JS heap + ArrayBuffers per idle connection (bytes). */
  readonly coreBytesPerConnection: number;
  /** Server core: set-ups per second of CPU inside the server endpoint. */
  readonly setupsPerSecond: number;
  /** Real UDP: server process RSS and heap (+ArrayBuffers) growth per established connection (bytes). */
  readonly rssBytesPerConnection: number;
  readonly heapBytesPerConnection: number;
  /** Real UDP: handshakes completed per second, end to end (clients and server on the same machine). */
  readonly endToEndSetupsPerSecond: number;
  /** Real UDP: aggregate goodput of n concurrent streams at the clients (MB/s). */
  readonly goodputMBps: number;
  /** goodputMBps over the n = 1 row's of the same run (NaN without one). */
  readonly goodputRatio: number;
  /** Real UDP: the server's event-loop delay p99 while streaming (ms). */
  readonly eventLoopP99Ms: number;
}

/** A forced GC (the flag set at run time, as --expose-gc would), then RSS and JS heap + ArrayBuffers. */
export function settledMemory(): { rss: number; heap: number } {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.arrayBuffers };
}

const SERVER_PORT = 5000;

/**
 * The core part: memory per idle connection and server CPU per set-up, no sockets. A first round
 * of 200 connections, thrown away, compiles the code and makes the process's shared buffers, so
 * that the figures are per connection, not the process's fixed costs spread over n.
 */
export function measureCore(kind: TransportKind, n: number): { bytesPerConnection: number; setupsPerSecond: number; established: number } {
  coreRound(kind, 200);
  return coreRound(kind, n);
}

function coreRound(kind: TransportKind, n: number): { bytesPerConnection: number; setupsPerSecond: number; established: number } {
  let now = 0;
  const serverAddress = { address: '10.0.0.1', port: SERVER_PORT };
  const accepted: MigratableTransport[] = [];
  const make = (): TransportEndpoint => {
    if (kind === 'sctp') return createSctpServer(serverAddress);
    return createEndpoint(kind, { addresses: [serverAddress], port: SERVER_PORT, listen: true, rtoMin: 200 });
  };
  // CPU time (user + system), not wall time: on a shared machine the wall clock runs on while
  // this process waits for a core. One reading around each batch of server calls, not around each
  // call: process.cpuUsage() costs about as much as a quarter of a set-up (measured with
  // --cpu-prof: 26% of the time counted as the server's was the readings themselves).
  let serverMicros = 0;
  const timed = <T>(fn: () => T): T => {
    const t0 = process.cpuUsage();
    try {
      return fn();
    } finally {
      const d = process.cpuUsage(t0);
      serverMicros += d.user + d.system;
    }
  };
  const before = settledMemory();
  const server = make();
  const clients = new Map<string, TransportEndpoint>();
  const conns: MigratableTransport[] = [];
  /** Datagrams the clients sent, for the server's next turn. */
  let inbox: Transmit[] = [];
  /** The server's application reads (and echoes) every accepted connection, or only new ones. */
  let readAll = false;
  const serverTurn = (): Transmit[] => {
    for (const d of inbox) server.handleDatagram(now, d.source!, d.payload, d.destination);
    inbox = [];
    const fresh = accepted.length;
    for (let a = server.pollAccept(); a; a = server.pollAccept()) accepted.push(a);
    // The server side echoes what it reads (so each side's send path has been used once).
    for (let i = readAll ? 0 : fresh; i < accepted.length; i++) {
      const c = accepted[i]!;
      for (let e = c.pollEvent(); e; e = c.pollEvent()) if (e.type === 'data') c.send(e.bytes);
    }
    const out: Transmit[] = [];
    for (let t = server.pollTransmit(now); t; t = server.pollTransmit(now)) out.push(t);
    return out;
  };
  const pump = (): void => {
    for (let round = 0; round < 50; round++) {
      const out = timed(serverTurn);
      for (const t of out) clients.get(`${t.destination.address}:${t.destination.port}`)?.handleDatagram(now, t.source!, t.payload, t.destination);
      for (const c of clients.values()) for (let t = c.pollTransmit(now); t; t = c.pollTransmit(now)) inbox.push(t);
      now += 1;
      if (out.length === 0 && inbox.length === 0) break;
    }
  };
  // In batches, as a listener sees them: a burst of handshakes, not n at once.
  for (let i = 0; i < n; i += 500) {
    for (let j = i; j < Math.min(n, i + 500); j++) {
      const address = { address: `10.${1 + (j >> 16)}.${(j >> 8) & 255}.${j & 255}`, port: 6000 };
      const c = createEndpoint(kind, { addresses: [address], port: 6000, listen: false, rtoMin: 200 });
      clients.set(`${address.address}:${address.port}`, c);
      conns.push(c.connect(now, serverAddress, { remotePort: SERVER_PORT }));
    }
    pump();
  }
  // Each client writes 4 bytes and reads the echo; then every connection is idle.
  const ping = new TextEncoder().encode('ping');
  for (const c of conns) {
    for (let e = c.pollEvent(); e; e = c.pollEvent());
    c.send(ping);
  }
  readAll = true;
  pump();
  // Past the delayed-acknowledgement timers: everything sent is acknowledged.
  for (let round = 0; round < 2; round++) {
    now += 1000;
    for (const c of clients.values()) c.handleTimeout(now);
    timed(() => server.handleTimeout(now));
    pump();
  }
  for (const c of conns) for (let e = c.pollEvent(); e; e = c.pollEvent());
  const seconds = serverMicros / 1e6;
  // Idle: drop the clients (never closed, so the server's side stays established) and measure.
  clients.clear();
  conns.length = 0;
  const after = settledMemory();
  // Read after the measurement, so that the server and its connections are alive during it.
  const established = accepted.filter((c) => c.pollTimeout() !== undefined || c.streamOffset >= 0).length;
  server.pollTimeout();
  const bytesPerConnection = (after.heap - before.heap) / Math.max(1, established);
  return { bytesPerConnection, setupsPerSecond: established / seconds, established };
}

function createSctpServer(address: { address: string; port: number }): TransportEndpoint {
  // Every simulated client has its own address, so the INIT rate limit never applies; the defaults.
  return createEndpoint('sctp', { addresses: [address], port: address.port, listen: true, rtoMin: 200 });
}

/** The real-UDP part for one n: a server process and a clients process. */
export async function measureReal(kind: TransportKind, n: number, seconds: number, progress: (line: string) => void): Promise<Omit<ConnectionsRow, 'n' | 'coreBytesPerConnection' | 'setupsPerSecond' | 'goodputRatio'>> {
  const port = await freeUdpPort('127.0.0.1');
  const limitMs = (120 + seconds * 3 + n / 50) * 1000;
  const common = { cwd: PROJECT_ROOT, timeoutMs: limitMs };
  const server = spawnProcess(process.execPath, [...benchScript('connections-peer'), '--role', 'server', '--transport', kind, '--local', `127.0.0.1:${port}`, '--n', String(n), '--seconds', String(seconds)], { ...common, name: `connections ${kind} server` });
  try {
    const base = await server.waitForLine(/^BASE (\d+) (\d+)$/, 60_000);
    const clients = spawnProcess(process.execPath, [...benchScript('connections-peer'), '--role', 'clients', '--transport', kind, '--peer', `127.0.0.1:${port}`, '--n', String(n)], { ...common, name: `connections ${kind} clients` });
    try {
      // Only an ERROR line fails the run: a side that exits without one has finished (the server
      // exits once its streams are closed, maybe before the clients print RECEIVED), and a hung
      // side is caught by the waits below.
      const errorLine = (p: typeof server): Promise<unknown> => p.waitForLine(/^ERROR /, limitMs).catch(() => new Promise(() => {}));
      const fails = Promise.race([errorLine(server), errorLine(clients)]).then(() => {
        throw new Error(`${server.describe()}\n${clients.describe()}`);
      });
      fails.catch(() => {});
      const connected = await Promise.race([clients.waitForLine(/^CONNECTED (\d+) ([\d.]+)$/, limitMs), fails]);
      progress(`n=${n}: ${connected[1]} connected in ${Number(connected[2]).toFixed(1)} s, streaming ${seconds} s`);
      const est = await Promise.race([server.waitForLine(/^ESTABLISHED (\d+) (\d+)$/, limitMs), fails]);
      const streamed = await Promise.race([server.waitForLine(/^STREAMED (\d+) ([\d.]+)$/, limitMs), fails]);
      const received = await Promise.race([clients.waitForLine(/^RECEIVED (\d+) ([\d.]+)$/, limitMs), fails]);
      return {
        rssBytesPerConnection: (Number(est[1]) - Number(base[1])) / n,
        heapBytesPerConnection: (Number(est[2]) - Number(base[2])) / n,
        endToEndSetupsPerSecond: Number(connected[1]) / Number(connected[2]),
        goodputMBps: mbps(Number(received[1]), Number(received[2])),
        eventLoopP99Ms: Number(streamed[2]),
      };
    } finally {
      await clients.kill();
    }
  } finally {
    await server.kill();
  }
}

export async function runConnections(options: ConnectionsOptions): Promise<ConnectionsRow[]> {
  const seconds = options.seconds ?? 5;
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const rows: ConnectionsRow[] = [];
  for (const n of options.ns) {
    progress(`n=${n}: core (memory per idle connection, server CPU per set-up)...`);
    const core = measureCore(options.transport, n);
    if (core.established !== n) throw new Error(`core: only ${core.established} of ${n} connections were established`);
    const real = options.coreOnly
      ? { rssBytesPerConnection: NaN, heapBytesPerConnection: NaN, endToEndSetupsPerSecond: NaN, goodputMBps: NaN, eventLoopP99Ms: NaN }
      : await measureReal(options.transport, n, seconds, progress);
    const one = rows.find((r) => r.n === 1)?.goodputMBps ?? (n === 1 ? real.goodputMBps : NaN);
    rows.push({ n, coreBytesPerConnection: core.bytesPerConnection, setupsPerSecond: core.setupsPerSecond, ...real, goodputRatio: real.goodputMBps / one });
  }
  return rows;
}

export function formatConnections(transport: TransportKind, rows: readonly ConnectionsRow[]): string {
  const kb = (x: number): string => (Number.isFinite(x) ? (x / 1000).toFixed(1) : '-');
  const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const head = '| n | core KB/conn | set-ups/s (server CPU) | RSS KB/conn | heap KB/conn | set-ups/s end to end | goodput MB/s | vs n=1 | loop p99 ms |';
  const lines = rows.map((r) => `| ${r.n} | ${kb(r.coreBytesPerConnection)} | ${f(r.setupsPerSecond, 0)} | ${kb(r.rssBytesPerConnection)} | ${kb(r.heapBytesPerConnection)} | ${f(r.endToEndSetupsPerSecond, 0)} | ${f(r.goodputMBps)} | ${f(r.goodputRatio, 2)} | ${f(r.eventLoopP99Ms)} |`);
  return [`transport ${transport}`, head, '|---|---|---|---|---|---|---|---|---|', ...lines].join('\n');
}

if (isMain(import.meta.url)) {
  const flags = parseFlags(process.argv.slice(2));
  const transport = flags.get('transport') ?? 'sctp';
  if (transport !== 'sctp' && transport !== 'tcp') throw new Error(`unknown transport ${transport}`);
  const ns = (flags.get('n') ?? '1,10,100,1000,10000').split(',').map(Number);
  const rows = await runConnections({ transport, ns, seconds: Number(flags.get('seconds') ?? 5), coreOnly: flags.has('core-only') });
  process.stdout.write(flags.has('json') ? `${JSON.stringify(rows)}\n` : `${formatConnections(transport, rows)}\n`);
}
