// The wedge as a daemon (`baton serve`): the sans-IO Wedge (src/wedge/wedge.ts) on real UDP
// (UdpRuntime), its content server over TCP (TcpBackend), the peers file watched, an admin HTTP
// server (GET /metrics for Prometheus via prom-client, GET /status as JSON) and structured logs
// on standard error. Only this layer does I/O.
import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { cryptoRandom } from '../transport-abstraction/random.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import type { UdpAddress } from '../transport-abstraction/address.js';
import { Wedge, type HealthMode, type Peer } from '../wedge/wedge.js';
import { ClockKeepingMapperFactory, MediaMapperFactory, type MediaRate } from '../wedge/media-mapper.js';
import { httpAndVoiceService } from '../wedge/service-dispatch.js';
import { NO_CONTENT_SERVER, voiceService } from '../wedge/voice-service.js';
import { TcpBackend } from './tcp-backend.js';
import { UdpRuntime } from './udp-runtime.js';
import { peersFileSource, type PeerSource } from './peers-file.js';
import { EtcdRegistry, type RegistryUrl } from './registry-etcd.js';
import { leavePool } from './pool-leave.js';
import { poolPath, type PoolAnswer } from './pool-lookup.js';
import type { TakeoverPolicy } from '../wedge/policy-takeover.js';

export interface WedgeDaemonConfig {
  readonly transport: TransportKind;
  readonly listen: UdpAddress;
  readonly port: number;
  /** The content server's URL; none with `service: 'voice'`. */
  readonly backend: string | undefined;
  /** `--service voice`: every connection is a telephony call (src/wedge/voice-service.ts); `http,voice`: each connection by its first byte (service-dispatch.ts). */
  readonly service?: 'http' | 'voice' | 'http,voice';
  readonly id: string;
  readonly peers: readonly Peer[];
  /** Re-read when it changes. */
  readonly peersFile: string | undefined;
  readonly softStatePort: number;
  readonly groups: number;
  readonly groupKey: Uint8Array;
  readonly updateMs: number;
  readonly cacheTimeoutMs: number;
  readonly deadAfterPeriods: number;
  readonly health: HealthMode;
  readonly admin: { readonly host: string; readonly port: number } | undefined;
  readonly rtoMin?: number;
  readonly mtu?: number;
  /** `--plpmtud`: SCTP path MTU discovery toward clients (WedgeOptions.plpmtud). */
  readonly plpmtud?: boolean;
  /** `--pace`: media bit rate of every resumable body, or each MPEG-TS object's own (src/wedge/media-mapper.ts). */
  readonly pace?: MediaRate;

  /** Head and idle timeouts of a client connection (WedgeOptions); default the wedge's 30 s / 60 s. */
  readonly headTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  /** WedgeOptions.blindResume (default on; false: never). */
  readonly blindResume?: boolean;
  readonly logFormat: 'json' | 'text';
  /** Who takes a dead member's connections (default the backoff). */
  readonly takeoverPolicy?: TakeoverPolicy;
  /** This server's weight for the weighted policies (default 1). */
  readonly weight?: number;
  /** The pool handle lookups name (GET /pool/HANDLE on the admin port); default "baton". */
  readonly poolHandle?: string;
  /** Membership and health from etcd instead of `peers` (registry-etcd.ts). */
  readonly registry?: { readonly url: RegistryUrl; readonly ttlSec: number };
}

export type LogWriter = (event: string, fields: Record<string, unknown>) => void;

/** One log line per event on standard error, JSON or text. */
export function logWriter(server: string, format: 'json' | 'text', write: (line: string) => void = (l) => process.stderr.write(l)): LogWriter {
  return (event, fields) => {
    const time = new Date().toISOString();
    if (format === 'json') write(`${JSON.stringify({ time, server, event, ...fields })}\n`);
    else write(`${time} ${server} ${event}${Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('')}\n`);
  };
}

export class WedgeDaemon {
  private stopWatch: (() => void) | undefined;

  private constructor(
    readonly wedge: Wedge,
    private readonly admin: http.Server | undefined,
  ) {}

  /** Binds everything; rejects (address in use, ...) with everything bound so far released. */
  static async start(config: WedgeDaemonConfig, log: LogWriter = logWriter(config.id, config.logFormat)): Promise<WedgeDaemon> {
    const runtime = new UdpRuntime();
    runtime.onError((error) => {
      if (error.fault) log('error', { code: error.code, where: error.where, message: error.message });
    });
    const registry = config.registry && (await EtcdRegistry.join({ url: config.registry.url, ttlSec: config.registry.ttlSec, self: { id: config.id, address: config.listen.address, udpPort: config.listen.port, weight: config.weight ?? 1 } }));
    const clocks = { now: () => runtime.now(), wallOffsetMs: Date.now() - runtime.now() };

    // The content server's connections, kept alive between requests (tcp-backend.ts's pool).
    const backend = config.backend === undefined ? undefined : new TcpBackend(config.backend);
    const source: PeerSource | undefined = registry ?? (config.peersFile !== undefined ? peersFileSource(config.peersFile, config.peers) : undefined);
    const wedge = await Wedge.start({
      runtime,
      transport: config.transport,
      id: config.id,
      listen: config.listen,
      port: config.port,
      softStatePort: config.softStatePort,
      peers: registry?.peers ?? config.peers,
      ...(config.takeoverPolicy !== undefined ? { takeoverPolicy: config.takeoverPolicy } : {}),
      ...(config.weight !== undefined ? { weight: config.weight } : {}),
      groups: config.groups,
      groupKey: config.groupKey,
      backend: backend ?? NO_CONTENT_SERVER,
      random: cryptoRandom,
      updateMs: config.updateMs,
      cacheTimeoutMs: config.cacheTimeoutMs,
      deadAfterPeriods: config.deadAfterPeriods,
      health: config.health,
      ...(config.rtoMin !== undefined ? { rtoMin: config.rtoMin } : {}),
      ...(config.mtu !== undefined ? { mtu: config.mtu } : {}),
      ...(config.plpmtud === true ? { plpmtud: true } : {}),
      // Media clocks are in Unix time, shared by the pool; the runtime's clock is this process's own.
      // With or without --pace: a taken-over paced stream keeps the clock its state announces.
      factory: config.pace !== undefined ? new MediaMapperFactory({ rate: config.pace, ...clocks }) : new ClockKeepingMapperFactory(clocks),
      ...(config.headTimeoutMs !== undefined ? { headTimeoutMs: config.headTimeoutMs } : {}),
      ...(config.idleTimeoutMs !== undefined ? { idleTimeoutMs: config.idleTimeoutMs } : {}),
      ...(config.blindResume === false ? { blindResume: false } : {}),
      ...(config.service === 'voice' ? { service: voiceService({ wallOffsetMs: Date.now() - runtime.now() }) } : {}),
      ...(config.service === 'http,voice' ? { service: httpAndVoiceService(voiceService({ wallOffsetMs: Date.now() - runtime.now() })) } : {}),
      log,
    }).catch(async (error: unknown) => {
      await registry?.leave();
      throw error;
    });
    let admin: http.Server | undefined;
    if (config.admin !== undefined) {
      try {
        admin = await startAdmin(wedge, config.admin, () => poolAnswer(wedge, config, registry));
        const bound = admin.address();
        if (bound !== null && typeof bound === 'object') log('admin', { address: bound.address, port: bound.port });
      } catch (error) {
        await wedge.close();
        await registry?.leave();
        throw error;
      }
    }
    const daemon = new WedgeDaemon(wedge, admin);
    daemon.backend = backend;
    daemon.config = config;
    daemon.registry = registry;
    daemon.stopWatch = source?.start({
      changed: (peers) => {
        wedge.setPeers(peers);
        log('peers-changed', { peers: peers.map((p) => `${p.id}@${p.address}`) });
      },
      refused: (message) => log('peers-refused', { message }),
      // Before the new pool drops it: its connections are still in the table, its group still its group.
      gone: (id) => {
        log('member-gone', { member: id });
        wedge.declareDead(id, 'registry');
      },
    });
    return daemon;
  }

  private config: WedgeDaemonConfig | undefined;
  private backend: TcpBackend | undefined;
  private registry: EtcdRegistry | undefined;

  /** Stops serving and deregisters: the registry's lease is revoked, or (a static pool) the group is told at once. */
  async stop(): Promise<void> {
    this.stopWatch?.();
    await new Promise<void>((resolve) => (this.admin ? this.admin.close(() => resolve()) : resolve()));
    await this.wedge.close();
    this.backend?.closeIdle();
    if (this.registry !== undefined) await this.registry.leave();
    else if (this.config !== undefined) await leavePool(this.config, this.wedge).catch(() => undefined);
  }
}

/** The answer to a pool-handle lookup (pool-lookup.ts): this wedge and the members it knows. */
function poolAnswer(wedge: Wedge, config: WedgeDaemonConfig, registry: EtcdRegistry | undefined): PoolAnswer {
  const ports = new Map(registry?.records().map((r) => [r.id, r.udpPort]));
  return {
    handle: config.poolHandle ?? 'baton',
    // Without a registry the members' UDP ports are not known: a static pool shares this one's.
    members: wedge.pool().map((m) => ({ ...m, load: m.load ?? null, udpPort: m.id === wedge.id ? wedge.address.port : (ports.get(m.id) ?? config.listen.port) })),
  };
}

/** The admin server: /metrics (Prometheus text), /status (JSON), /pool/HANDLE (pool-lookup.ts). */
async function startAdmin(wedge: Wedge, at: { host: string; port: number }, pool: () => PoolAnswer): Promise<http.Server> {
  const registry = new Registry();
  const c = wedge.counters;
  const counter = (name: string, help: string, get: () => number): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(get());
      },
    });
  };
  const gauge = (name: string, help: string, get: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(get());
      },
    });
  };
  counter('baton_connections_accepted_total', 'client connections accepted', () => c.connectionsAccepted);
  gauge('baton_connections', 'connections served now', () => wedge.hosted);
  gauge('baton_takeovers_outstanding', 'takeover requests sent and not yet won or lost', () => wedge.outstanding);
  counter('baton_requests_total', 'HTTP requests seen', () => c.requests);
  counter('baton_bytes_to_clients_total', 'bytes handed to client connections', () => c.bytesToClients);
  counter('baton_takeovers_started_total', 'takeover requests sent', () => c.takeoversStarted);
  counter('baton_takeovers_won_total', 'takeovers won', () => c.takeoversWon);
  counter('baton_takeovers_lost_total', 'takeovers lost (refused by the client or timed out)', () => c.takeoversLost);
  counter('baton_resume_failed_total', 'takeovers whose resume was refused (object changed, ...)', () => c.resumeFailed);
  counter('baton_superseded_total', 'connections given up to a higher takeover number', () => c.superseded);
  counter('baton_member_deaths_total', 'member deaths noticed (heartbeat or monitor)', () => c.memberDeaths);
  for (const [name, help, counts] of [
    ['baton_soft_state_sent_total', 'sealed soft-state datagrams sent, by kind (announcement, ack)', c.softStateSent],
    ['baton_soft_state_received_total', 'soft-state datagrams received, by the kind their header names (refusals: baton_soft_state_refused_total)', c.softStateReceived],
  ] as const) {
    new Counter({
      name,
      help,
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(counts)) this.inc({ kind }, n);
      },
    });
  }
  const refused = new Counter({
    name: 'baton_soft_state_refused_total',
    help: 'soft-state datagrams refused, by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of wedge.channel.dropped) this.inc({ reason }, n);
    },
  });
  void refused;
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(await registry.metrics());
      } else if (req.url === '/status') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: wedge.id, group: wedge.group, address: wedge.address, counters: wedge.counters, table: wedge.channel.table.size, connections: wedge.status() }, null, 2));
      } else if (req.url !== undefined && req.url === poolPath(pool().handle)) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(pool()));
      } else {
        res.writeHead(404).end();
      }
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => resolve());
  });
  return server;
}
