// The torture campaign's stage: a pool of wedges on the simulated network, each with its own
// in-memory content server holding the same objects, clients that speak HTTP/1.1 over a raw
// transport endpoint (StreamCollector), and the faults the campaign plays on them: kill, restart,
// join, leave, a monitor's (possibly erroneous) death report, lossy and silent links. Everything
// runs in virtual time from one seed.
import { MemoryBackend } from '../../src/sim/memory-backend.js';
import { SimNetwork, type LinkConfig } from '../../src/sim/network.js';
import { SimRuntime } from '../../src/sim/runtime.js';
import { StreamCollector } from '../../src/stream/index.js';
import type { BatonError } from '../../src/transport-abstraction/errors.js';
import type { Attachment } from '../../src/transport-abstraction/runtime.js';
import type { TransportEndpoint, TransportKind, Transmit } from '../../src/transport-abstraction/transport.js';
import { createEndpoint } from '../../src/transports.js';
import type { BackoffRule } from '../../src/wedge/backoff.js';
import { MonitorCommander } from '../../src/wedge/monitor.js';
import { Wedge, type Peer } from '../../src/wedge/wedge.js';

const SERVICE_PORT = 9000;
const SOFT_STATE_PORT = 9897;
const CLIENT_IP = '10.0.0.1';
const GROUP_KEY = new Uint8Array(32).fill(7);

export interface TortureWorldOptions {
  readonly kind: TransportKind;
  readonly seed: number;
  readonly wedges: number;
  readonly groups: number;
  /** Backend delivery rate per connection, bytes per virtual second. */
  readonly rate: number;
  readonly updateMs: number;
  readonly backoff?: BackoffRule;
}

export interface WorldLogLine {
  readonly time: number;
  readonly server: string;
  readonly event: string;
  readonly fields: Record<string, unknown>;
}

export class TortureWorld {
  readonly net: SimNetwork;
  readonly sim: SimRuntime;
  readonly peers: Peer[] = [];
  readonly wedges = new Map<string, Wedge>();
  readonly log: WorldLogLine[] = [];
  /** Called on every wedge log line, after it was recorded (the campaign's cascade trigger). */
  onLog: ((line: WorldLogLine) => void) | undefined;
  private readonly objects: ReadonlyMap<string, Uint8Array>;
  private commander: MonitorCommander | undefined;
  private clientCount = 0;

  constructor(readonly options: TortureWorldOptions, objects: ReadonlyMap<string, Uint8Array>) {
    this.objects = objects;
    this.net = new SimNetwork({ seed: options.seed, defaultLink: { delayMs: 5 } });
    this.sim = new SimRuntime(this.net);
    this.net.addHost('clients', [CLIENT_IP]);
    for (let i = 1; i <= options.wedges; i++) {
      const peer = { id: `w${i}`, address: `10.0.1.${i}` };
      this.peers.push(peer);
      this.net.addHost(peer.id, [peer.address]);
    }
  }

  /** Configure the link between two hosts (names: `clients`, `w1`...). */
  link(a: string, b: string, config: LinkConfig): void {
    this.net.link(a, b, config);
  }

  isRunning(id: string): boolean {
    return this.wedges.has(id) && this.net.isAlive(id);
  }

  /** Start wedge `id` with fresh state (a join, or a restart after a kill or a leave). */
  async start(id: string): Promise<void> {
    const old = this.wedges.get(id);
    if (old !== undefined) await old.close();
    this.net.revive(id);
    const peer = this.peers.find((p) => p.id === id)!;
    const backend = new MemoryBackend({ runtime: this.sim, rateBytesPerSec: this.options.rate });
    for (const [path, bytes] of this.objects) backend.put(path, bytes);
    const wedge = await Wedge.start({
      runtime: this.sim,
      transport: this.options.kind,
      id,
      listen: { address: peer.address, port: SERVICE_PORT },
      softStatePort: SOFT_STATE_PORT,
      peers: this.peers,
      groups: this.options.groups,
      groupKey: GROUP_KEY,
      backend,
      random: this.net.deriveRandom(`wedge-${id}-${++this.clientCount}`),
      updateMs: this.options.updateMs,
      cacheTimeoutMs: 10 * this.options.updateMs,
      health: 'heartbeat',
      rtoMin: 200,
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
      log: (event, fields) => {
        const line = { time: this.net.now, server: id, event, fields };
        this.log.push(line);
        this.onLog?.(line);
      },
    });
    this.wedges.set(id, wedge);
  }

  /** The host dies at once: no packet in or out, no timer, its state lost. */
  kill(id: string): void {
    this.net.kill(id);
  }

  /** An orderly leave: the wedge stops and releases its sockets (connections left to the group). */
  async leave(id: string): Promise<void> {
    const wedge = this.wedges.get(id);
    this.wedges.delete(id);
    await wedge?.close();
  }

  /** The external monitor declares `id` dead, sealed, to every wedge (true or not). */
  declareDead(id: string): void {
    this.commander ??= new MonitorCommander(GROUP_KEY, this.net.deriveRandom('monitor'));
    const bytes = this.commander.declareDead(id);
    const outbox: Transmit[] = this.peers.map((p) => ({ destination: { address: p.address, port: SOFT_STATE_PORT }, payload: new Uint8Array(bytes) }));
    void this.sim.sendOnce(CLIENT_IP, outbox).close();
  }

  /**
   * A client connection to wedge `id` sending `request` (the bytes of its requests) once connected,
   * all at once or, with `dripMs`, one byte every dripMs (a slow-loris client).
   */
  client(id: string, request: Uint8Array, dripMs?: number): TortureClient {
    const peer = this.peers.find((p) => p.id === id)!;
    return new TortureClient(this, { address: peer.address, port: SERVICE_PORT }, request, ++this.clientCount, dripMs);
  }
}

export class TortureClient {
  readonly collector: StreamCollector;
  readonly attachment: Attachment<TransportEndpoint>;
  takenOver = 0;

  /** Request bytes sent so far. */
  sent = 0;

  constructor(world: TortureWorld, server: { address: string; port: number }, request: Uint8Array, n: number, dripMs?: number) {
    let sent = false;
    let ended = false;
    const drip = (): void => {
      if (this.closed || ended || this.sent >= request.length) return;
      this.sent += this.collector.conn.send(request.subarray(this.sent, this.sent + 1));
      this.attachment.wake();
      world.net.after(dripMs!, drip);
    };
    let collector: StreamCollector | undefined;
    this.attachment = world.sim.attachNow(
      [{ address: CLIENT_IP, port: 0 }],
      (bound) => createEndpoint(world.options.kind, { addresses: bound, random: world.net.deriveRandom(`client-${n}`), rtoMin: 200 }),
      (now) => collector?.pump(now),
    );
    collector = new StreamCollector({
      conn: this.attachment.core.connect(world.sim.now(), server),
      onEvent: (ev) => {
        if (ev.type === 'connected' && !sent) {
          sent = true;
          if (dripMs === undefined) this.sent = this.collector.conn.send(request);
          else world.net.after(0, drip);
        }
        if (ev.type === 'taken-over') this.takenOver++;
        if (ev.type === 'end') ended = true;
      },
    });
    this.collector = collector;
    this.attachment.wake();
  }

  get closed(): boolean {
    return this.collector.closed !== undefined;
  }

  get error(): BatonError | undefined {
    return this.collector.closed?.error;
  }
}
