// A pool of wedges on the simulated network, each with its own in-memory content server holding
// the same objects, and clients that speak HTTP/1.1 over a raw transport endpoint (the library's
// StreamCollector). Used by test/wedge-sim-*.test.ts (through test/wedge-sim-world.ts) and the
// paper's experiments (bench/experiments/fig3.ts, fig5.ts). Everything runs in virtual time, seeded.
import { StreamCollector } from '../stream/index.js';
import type { Attachment } from '../transport-abstraction/runtime.js';
import type { ResumeMode, TransportEndpoint, TransportKind, Transmit } from '../transport-abstraction/transport.js';
import { MonitorCommander } from '../wedge/monitor.js';
import { createEndpoint } from '../transports.js';
import { Wedge, type HealthMode, type Peer, type WedgeService } from '../wedge/wedge.js';
import type { BackoffRule } from '../wedge/backoff.js';
import type { StreamMapperFactory } from '../wedge/mapper.js';

import type { TakeoverPolicy } from '../wedge/policy-takeover.js';
import type { LinkConfig } from './link.js';
import { MemoryBackend } from './memory-backend.js';
import { SimNetwork } from './network.js';
import { SimRuntime } from './runtime.js';

export const SOFT_STATE_PORT = 9897;

export interface LogLine {
  readonly time: number;
  readonly server: string;
  readonly event: string;
  readonly fields: Record<string, unknown>;
}

export interface WorldOptions {
  readonly kind: TransportKind;
  readonly seed: number;
  readonly wedges: number;
  readonly groups?: number;
  readonly health?: HealthMode;
  /** Backend delivery rate per connection, bytes per virtual second. */
  readonly rate?: number;
  /** Backend bytes per delivery (bursts at `rate`); default the backend's 16 KiB. */
  readonly chunkBytes?: number;
  readonly updateMs?: number;
  readonly backoff?: BackoffRule;
  /** Wedges' takeover policy (default the backoff). */
  readonly takeoverPolicy?: TakeoverPolicy;
  /** How takers resume; default the transports' DEFAULT_RESUME_MODE. */
  readonly resumeMode?: ResumeMode;
  /** The wedges' blind resume (WedgeOptions.blindResume); default on. */
  readonly blindResume?: boolean;
  /** The link between the clients' host and wedge `id` (default: the network's 5 ms default link). */
  readonly clientLink?: (id: string) => LinkConfig | undefined;
  /**
   * Where the external monitor sends from: its own host at this address, 5 ms from every wedge
   * (default: the clients' host, so its commands share the clients' links).
   */
  readonly monitorAddress?: string;
  /** Wedges' `mtu` option (default the transport's). */
  readonly mtu?: number;
  /** Wedges' `plpmtud` option (SCTP path MTU discovery). */
  readonly plpmtud?: boolean;
  /** Minimum RTO of wedges and clients, ms; default 200 (the transports' own default is 1000). */
  readonly rtoMin?: number;
  /** The clients' receive window (EndpointOptions.receiveWindow); default the transport's own. */
  readonly clientReceiveWindow?: number;
  /** The wedges' stream mapper factory, made with the world's runtime (default: the wedge's HTTP one). */
  readonly factory?: (sim: SimRuntime) => StreamMapperFactory;
  /** The wedges' service (default HTTP; src/wedge/voice-service.ts: calls). */
  readonly service?: WedgeService;
  /** Raw answers of every member's content server (MemoryBackendOptions.raw): an origin that misbehaves. */
  readonly backendRaw?: ReadonlyMap<string, Uint8Array>;
}

export class WedgeWorld {
  readonly net: SimNetwork;
  readonly sim: SimRuntime;
  readonly wedges = new Map<string, Wedge>();
  readonly backends = new Map<string, MemoryBackend>();
  readonly log: LogLine[] = [];
  readonly peers: Peer[] = [];
  private clients = 0;
  private commander: MonitorCommander | undefined;

  constructor(readonly options: WorldOptions) {
    this.net = new SimNetwork({ seed: options.seed, defaultLink: { delayMs: 5 } });
    this.sim = new SimRuntime(this.net);
    this.net.addHost('clients', ['10.0.0.1']);
    if (options.monitorAddress !== undefined) this.net.addHost('monitor', [options.monitorAddress]);
    for (let i = 1; i <= options.wedges; i++) this.peers.push({ id: `w${i}`, address: `10.0.1.${i}` });
  }

  /** Start every wedge and let their promises settle. */
  async startAll(objects: ReadonlyMap<string, Uint8Array>): Promise<void> {
    for (const p of this.peers) await this.start(p.id, objects);
  }

  /** Start wedge `id` (its host created on first use, revived on a restart) with the whole pool as peers. */
  async start(id: string, objects: ReadonlyMap<string, Uint8Array>): Promise<Wedge> {
    const peer = this.peers.find((p) => p.id === id)!;
    try {
      this.net.addHost(id, [peer.address]);
    } catch {
      this.net.revive(id);
    }
    const link = this.options.clientLink?.(id);
    if (link !== undefined) this.net.link('clients', id, link);
    const backend = new MemoryBackend({
      runtime: this.sim,
      ...(this.options.rate ? { rateBytesPerSec: this.options.rate } : {}),
      ...(this.options.chunkBytes ? { chunkBytes: this.options.chunkBytes } : {}),
      ...(this.options.backendRaw ? { raw: this.options.backendRaw } : {}),
    });
    for (const [path, bytes] of objects) backend.put(path, bytes);
    this.backends.set(id, backend);
    const wedge = await Wedge.start({
      runtime: this.sim,
      transport: this.options.kind,
      id,
      listen: { address: peer.address, port: 9000 },
      softStatePort: SOFT_STATE_PORT,
      peers: this.peers,
      groups: this.options.groups ?? 1,
      groupKey: new Uint8Array(32).fill(7),
      backend,
      random: this.net.deriveRandom(`wedge-${id}`),
      updateMs: this.options.updateMs ?? 1000,
      cacheTimeoutMs: 10_000,
      health: this.options.health ?? 'heartbeat',
      rtoMin: this.options.rtoMin ?? 200,
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      ...(this.options.takeoverPolicy ? { takeoverPolicy: this.options.takeoverPolicy } : {}),
      ...(this.options.resumeMode ? { resumeMode: this.options.resumeMode } : {}),
      ...(this.options.blindResume !== undefined ? { blindResume: this.options.blindResume } : {}),
      ...(this.options.mtu !== undefined ? { mtu: this.options.mtu } : {}),
      ...(this.options.plpmtud === true ? { plpmtud: true } : {}),
      ...(this.options.factory ? { factory: this.options.factory(this.sim) } : {}),
      ...(this.options.service ? { service: this.options.service } : {}),
      log: (event, fields) => this.log.push({ time: this.net.now, server: id, event, fields }),
    });
    this.wedges.set(id, wedge);
    return wedge;
  }

  wedge(id: string): Wedge {
    return this.wedges.get(id)!;
  }

  /** A client connection from its own UDP port to wedge `id`, sending `requests` once connected. */
  client(id: string, requests: readonly string[]): SimClient {
    return new SimClient(this, this.serverAddress(id), requests, this.nextClient());
  }

  /** Wedge `id`'s client-facing address. */
  serverAddress(id: string): { address: string; port: number } {
    const peer = this.peers.find((p) => p.id === id)!;
    return { address: peer.address, port: 9000 };
  }

  /** The number of the next client (it names the client's random stream). */
  protected nextClient(): number {
    return ++this.clients;
  }

  /** The external monitor: seal `command` once and send it to every wedge's soft-state channel. */
  monitor(command: (m: MonitorCommander) => Uint8Array): void {
    this.commander ??= new MonitorCommander(new Uint8Array(32).fill(7), this.net.deriveRandom('monitor'));
    const bytes = command(this.commander);
    const outbox: Transmit[] = this.peers.map((p) => ({ destination: { address: p.address, port: SOFT_STATE_PORT }, payload: new Uint8Array(bytes) }));
    this.sim.sendOnce(this.options.monitorAddress ?? '10.0.0.1', outbox);
  }

  events(event: string, server?: string): LogLine[] {
    return this.log.filter((l) => l.event === event && (server === undefined || l.server === server));
  }
}

/** An HTTP/1.1 GET for `path` (Host set; `close` adds Connection: close). */
export function get(path: string, close = false): string {
  return `GET ${path} HTTP/1.1\r\nHost: pool\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
}

export class SimClient {
  readonly collector: StreamCollector;
  readonly attachment: Attachment<TransportEndpoint>;
  readonly takenOver: number[] = [];
  /** Takeovers the client accepted or refused, with their times and the requesting server. */
  readonly takeovers: { readonly time: number; readonly accepted: boolean; readonly requestNumber: number; readonly peer: string }[] = [];
  /** Virtual time of every delivery of in-order bytes. */
  readonly deliveries: number[] = [];
  /** While true the client reads nothing (its receive window closes). */
  paused = false;

  constructor(world: WedgeWorld, server: { address: string; port: number }, requests: readonly string[], _n: number) {
    const sim = world.sim;
    let collector: StreamCollector | undefined;
    let sent = false;
    this.attachment = sim.attachNow([{ address: '10.0.0.1', port: 0 }], (bound) => createEndpoint(world.options.kind, { addresses: bound, random: world.net.deriveRandom(`client-${_n}`), rtoMin: world.options.rtoMin ?? 200, ...(world.options.clientReceiveWindow !== undefined ? { receiveWindow: world.options.clientReceiveWindow } : {}) }), (now) => {
      if (!this.paused) collector?.pump(now);
    });
    collector = new StreamCollector({
      conn: this.attachment.core.connect(sim.now(), server),
      onEvent: (ev) => {
        if (ev.type === 'connected' && !sent) {
          sent = true;
          this.collector.conn.send(new TextEncoder().encode(requests.join('')));
        }
        if (ev.type === 'taken-over') this.takenOver.push(ev.requestNumber);
        if (ev.type === 'taken-over' || ev.type === 'takeover-refused') {
          this.takeovers.push({ time: sim.now(), accepted: ev.type === 'taken-over', requestNumber: ev.requestNumber, peer: ev.peer.address });
        }
        if (ev.type === 'data') this.deliveries.push(sim.now());
      },
    });
    this.collector = collector;
    this.attachment.wake();
  }

  /** Read again after `paused`. */
  resume(now: number): void {
    this.paused = false;
    this.collector.pump(now);
    this.attachment.wake();
  }

  /** Bytes received in order so far. */
  get received(): number {
    return this.collector.received;
  }

  get closed(): boolean {
    return this.collector.closed !== undefined;
  }
}
