// A small world on the simulated network for the cross-transport conformance suite: one client,
// up to three servers, and the library's application loop (src/stream/) serving and collecting a
// file over the MigratableTransport contract.
import { createHash } from 'node:crypto';
import { SimNetwork, type LinkConfig } from '../../src/sim/network.js';
import { createEndpoint, DEFAULT_UDP_PORT } from '../../src/transports.js';
import type { UdpAddress } from '../../src/transport-abstraction/address.js';
import type {
  MigratableTransport,
  ResumeMode,
  TransportEndpoint,
  TransportEvent,
  TransportKind,
} from '../../src/transport-abstraction/transport.js';
import type { TransportState } from '../../src/transport-abstraction/state-types.js';
import { memorySource, StreamCollector, StreamSender } from '../../src/stream/index.js';

export const HOSTS = { client: '10.0.0.1', a: '10.0.0.2', b: '10.0.0.3', c: '10.0.0.4', eve: '10.0.0.9' } as const;
export type ServerName = 'a' | 'b' | 'c' | 'eve';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

import { makeFile } from '../../src/sim/object.js';

export { makeFile };

/** Server side: the library's StreamSender over `file`, recording every event for the tests. */
export class FileSender extends StreamSender {
  readonly events: TransportEvent[];

  constructor(
    conn: MigratableTransport,
    readonly file: Uint8Array,
    now: () => number,
    resume: boolean,
  ) {
    const events: TransportEvent[] = [];
    super({ conn, source: memorySource(file), now, resume, onEvent: (ev) => events.push(ev) });
    this.events = events;
  }

  /** The 'closed' event when it carried an error. */
  get error(): TransportEvent | undefined {
    return this.closed?.error ? this.closed : undefined;
  }

  get closedCleanly(): boolean {
    return this.closed !== undefined && this.closed.error === undefined;
  }

  eventTypes(): string[] {
    return this.events.map((e) => e.type);
  }
}

/** Client side: the library's StreamCollector, recording every event and the delivery times. */
export class Collector extends StreamCollector {
  readonly events: TransportEvent[];

  constructor(conn: MigratableTransport) {
    const events: TransportEvent[] = [];
    super({ conn, onEvent: (ev) => events.push(ev) });
    this.events = events;
  }

  longestStall(): number {
    return this.longestGap;
  }
}

export interface WorldOptions {
  kind: TransportKind;
  seed: number;
  /** Link from the client to each server (both directions). */
  links?: Partial<Record<ServerName, LinkConfig>>;
  fileLength?: number;
}

export interface Server {
  name: ServerName;
  endpoint: TransportEndpoint;
  address: UdpAddress;
  sender?: FileSender;
}

/** client <-> a (serving from the start), b, c, eve as candidate takers. */
export class World {
  readonly net: SimNetwork;
  readonly kind: TransportKind;
  readonly file: Uint8Array;
  readonly client: { endpoint: TransportEndpoint; address: UdpAddress; conn: MigratableTransport; collector: Collector };
  readonly servers = new Map<ServerName, Server>();

  constructor(options: WorldOptions) {
    this.kind = options.kind;
    this.file = makeFile(options.fileLength ?? 200_000, options.seed);
    this.net = new SimNetwork({ seed: options.seed });
    const port = DEFAULT_UDP_PORT[this.kind];
    const links: Record<ServerName, LinkConfig> = {
      a: { delayMs: 5 },
      b: { delayMs: 20 },
      c: { delayMs: 100 },
      eve: { delayMs: 10 },
      ...options.links,
    };
    this.net.addHost('client', [HOSTS.client]);
    for (const name of ['a', 'b', 'c', 'eve'] as const) {
      this.net.addHost(name, [HOSTS[name]]);
      this.net.link('client', name, links[name]);
    }
    for (const name of ['a', 'b', 'c', 'eve'] as const) {
      const address = { address: HOSTS[name], port };
      const endpoint = createEndpoint(this.kind, {
        addresses: [address],
        listen: name === 'a',
        random: this.net.random,
        rtoMin: 200,
      });
      const server: Server = { name, endpoint, address };
      this.servers.set(name, server);
      this.net.attach(endpoint, [address], (now) => this.serve(server, now));
    }
    const clientAddress = { address: HOSTS.client, port };
    const clientEndpoint = createEndpoint(this.kind, { addresses: [clientAddress], random: this.net.random, rtoMin: 200 });
    const conn = clientEndpoint.connect(this.net.now, this.server('a').address);
    const collector = new Collector(conn);
    this.client = { endpoint: clientEndpoint, address: clientAddress, conn, collector };
    this.net.attach(clientEndpoint, [clientAddress], (now) => collector.pump(now));
    this.net.wake(clientEndpoint);
  }

  server(name: ServerName): Server {
    return this.servers.get(name)!;
  }

  private serve(server: Server, now: number): void {
    if (server.name === 'a' && !server.sender) {
      const accepted = server.endpoint.pollAccept();
      if (accepted) server.sender = new FileSender(accepted, this.file, () => this.net.now, false);
    }
    server.sender?.pump(now);
  }

  /** Server `name` imports `state` and sends its takeover request number `n`. */
  takeOver(name: ServerName, state: TransportState, n: number, mode?: ResumeMode): FileSender {
    const server = this.server(name);
    const conn = server.endpoint.importState(this.net.now, state);
    server.sender = new FileSender(conn, this.file, () => this.net.now, true);
    conn.takeover(this.net.now, n, mode);
    this.net.wake(server.endpoint);
    return server.sender;
  }

  /** Run until the client has the whole file and the connection closed, or the limit passes. */
  runToCompletion(limitMs = 600_000): boolean {
    return this.net.runUntil(() => this.client.collector.closed !== undefined, limitMs);
  }

  clientHasFile(): boolean {
    return sha256(this.client.collector.bytes()) === sha256(this.file);
  }
}
