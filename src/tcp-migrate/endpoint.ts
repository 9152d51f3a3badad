// A TCP-Migrate endpoint: owns local UDP addresses, routes segments to connections by 4-tuple and
// Migrate SYNs by token, answers what belongs to no connection with RST (RFC 9293 §3.10.7.1), and
// counts what it drops. Bind it to a driver (node:dgram or the simulated network).
import { addressKey, type UdpAddress } from '../transport-abstraction/address.js';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import { cryptoRandom, type RandomSource } from '../transport-abstraction/random.js';
import type { TransportState } from '../transport-abstraction/state-types.js';
import type { ConnectionOptions, DeadPeerOptions, DropReason, Instant, Transmit, TransportEndpoint } from '../transport-abstraction/transport.js';
import { DEFAULT_CONFIG, withDeadPeer, type ConnectionOwner, type TcpMigrateConfig } from './config.js';
import { TcpMigrateConnection } from './connection.js';
import { acceptCookie, acceptSyn, cookieSynAck, open as openConnection } from './handshake.js';
import { SynCookies, type FourTuple } from './syn-cookie.js';
import { preload } from './migrate.js';
import { EndpointScheduler } from '../transport-abstraction/scheduler.js';
import { tokenKey } from './migrate-crypto.js';
import { keepaliveSegment } from './group.js';
import { findOption, RESET_TAKEN_OVER, RESET_UNKNOWN_TOKEN } from './options.js';
import { ACK, checksumValid, FIN, parseSegment, pseudoHeaderSum, resetSegment, RST, SYN, type TcpSegment } from './wire.js';
import { checkAddress, checkBytes, guardMethods } from '../transport-abstraction/guard.js';
import { checkTransportState } from '../transport-abstraction/state-shape.js';

export const DEFAULT_TCP_MIGRATE_PORT = 9898;

export interface TcpMigrateEndpointOptions {
  readonly addresses: readonly UdpAddress[];
  /** Our TCP port inside the UDP payload; default 9898. */
  readonly port?: number;
  readonly listen?: boolean;
  readonly random?: RandomSource;
  /** RTO lower bound (RFC 6298: 1000 ms). */
  readonly rtoMin?: number;
  /** Path MTU; the MSS is mtu - 88 (IPv4 + UDP + TCP headers + 40 bytes of options), at most 1400 by default. */
  readonly mtu?: number;
  /** Verify the TCP checksum of every segment (default true). */
  readonly verifyChecksum?: boolean;
  /**
   * The UDP address and port clients see for this endpoint when it differs from the bound one (a
   * NAT in front of it): a takeover's authenticator is bound to where the client sees the Migrate
   * SYN come from (README.md, "Takeovers behind a NAT"). There is no discovery: it is configured.
   */
  readonly publicAddress?: UdpAddress;
  /**
   * Connections established (their cookie echoed) but not yet taken by pollAccept(); beyond it a
   * cookie's ACK is dropped (counted as bad-handshake) and the client's next segment tries again.
   * Default 1024.
   */
  readonly backlog?: number;
  /**
   * Half-open connections (SYN received, handshake not done) kept with state, as RFC 9293 does;
   * a SYN beyond them is answered statelessly with a SYN cookie (syn-cookie.ts), so a SYN flood
   * costs neither memory nor x25519 work. 0: always cookies. Default 64.
   */
  readonly synQueue?: number;
  /** Any other tunable. */
  readonly config?: Partial<TcpMigrateConfig>;
  /** Dead-peer bounds in the contract's names (applied over `config`); per connection, ConnectionOptions has them too. */
  readonly deadPeer?: DeadPeerOptions;
  /**
   * Clients behind NAT (group.ts), server side: the support group's IPs, listed in each SYN/ACK
   * (Group-List option) so that the client keeps NAT bindings open toward each. Read at each handshake.
   */
  readonly groupAddresses?: () => readonly string[];
  /**
   * Server side: whether a group member announced the connection of this client address and TCP
   * port (anything but undefined: held), so that its Group-Keepalive is answered. The SCTP-shaped
   * callback of transports.ts; TCP-Migrate has no tag and passes 0.
   */
  readonly heldByGroup?: (client: UdpAddress, clientPort: number, tag: number) => number | undefined;
  /** Client side: the Group-Keepalive interval in ms (config.groupKeepaliveMs; default 5000). */
  readonly keepaliveMs?: number;
}

/**
 * A connection's key: both UDP addresses and both TCP ports. The TCP ports let one client hold
 * several connections to the same server address (each connect() takes its own ephemeral port), and
 * keep them apart when a taker serves two of them from one address.
 */
function tupleKey(local: UdpAddress, remote: UdpAddress, localPort: number, remotePort: number): string {
  return `${addressKey(local)}|${addressKey(remote)}|${localPort}|${remotePort}`;
}

function connKey(c: TcpMigrateConnection): string {
  return tupleKey(c.local, c.remote, c.localPort, c.remotePort);
}

const EPHEMERAL_FIRST = 49152;
const MAX_RETIRED = 4096;
const EPHEMERAL_COUNT = 16384;

export class TcpMigrateEndpoint implements TransportEndpoint {
  readonly kind = 'tcp' as const;
  readonly addresses: readonly UdpAddress[];
  readonly port: number;
  /** @internal */
  readonly listening: boolean;
  /** @internal */
  readonly random: RandomSource;
  /** @internal */
  readonly config: TcpMigrateConfig;
  readonly dropped = new Map<DropReason, number>();
  private readonly verify: boolean;
  private readonly publicAddress: UdpAddress | undefined;
  private readonly cookies: SynCookies;
  private readonly backlog: number;
  private readonly synQueue: number;
  /** Passive connections in SYN-RECEIVED (bounded by synQueue). */
  private readonly halfOpen = new Set<TcpMigrateConnection>();
  private readonly byTuple = new Map<string, TcpMigrateConnection>();
  private readonly byToken = new Map<string, TcpMigrateConnection>();
  /**
   * 4-tuples a connection migrated away from: their packets get RST(taken over), also after the
   * connection itself has closed (the old server may be a zombie). Bounded, oldest forgotten first.
   */
  private readonly retired = new Set<string>();
  private readonly connections = new Set<TcpMigrateConnection>();
  /** Which connections to poll for segments, and the timer table. */
  private readonly scheduler = new EndpointScheduler<TcpMigrateConnection>((c) => c.pollTimeout());
  private readonly acceptQueue: TcpMigrateConnection[] = [];
  /** Connections called into since pollReady last returned them; kept from its first call on. */
  private ready: Set<TcpMigrateConnection> | undefined;
  /** What connections are given instead of this endpoint: the wake of an application call. */
  private readonly owner: ConnectionOwner = { wake: (c) => this.touch(c) };
  private readonly outbox: Transmit[] = [];
  private nextEphemeral: number;
  private readonly groupAddresses: (() => readonly string[]) | undefined;
  private readonly heldByGroup: TcpMigrateEndpointOptions['heldByGroup'];
  /** Group-Keepalives answered (server) and Group-Keepalive-Acks received (client), for tests. */
  groupKeepalivesAnswered = 0;
  groupKeepaliveAcks = 0;

  constructor(options: TcpMigrateEndpointOptions) {
    if (options.addresses.length === 0) throw new LocalUsageError('TcpMigrateEndpoint needs at least one address');
    this.addresses = options.addresses;
    this.port = options.port ?? DEFAULT_TCP_MIGRATE_PORT;
    this.listening = options.listen ?? false;
    this.random = options.random ?? cryptoRandom;
    this.verify = options.verifyChecksum ?? true;
    if (options.publicAddress !== undefined) checkAddress(options.publicAddress, 'publicAddress');
    this.publicAddress = options.publicAddress;
    this.cookies = new SynCookies(this.random);
    this.backlog = options.backlog ?? 1024;
    this.synQueue = options.synQueue ?? 64;
    this.nextEphemeral = this.random.uint32() % EPHEMERAL_COUNT;
    const mss = options.mtu !== undefined ? Math.max(200, options.mtu - 88) : DEFAULT_CONFIG.mss;
    const rtoMin = options.rtoMin ?? DEFAULT_CONFIG.rtoMin;
    this.config = {
      ...DEFAULT_CONFIG,
      mss,
      rtoMin,
      rtoInitial: Math.max(rtoMin, options.rtoMin !== undefined ? Math.min(DEFAULT_CONFIG.rtoInitial, rtoMin * 5) : DEFAULT_CONFIG.rtoInitial),
      ...options.config,
    };
    this.config = withDeadPeer(this.config, options.deadPeer);
    if (options.keepaliveMs !== undefined) this.config = { ...this.config, groupKeepaliveMs: options.keepaliveMs };
    this.groupAddresses = options.groupAddresses;
    this.heldByGroup = options.heldByGroup;
  }

  private drop(reason: DropReason): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }

  private configFor(options?: ConnectionOptions): TcpMigrateConfig {
    if (!options) return this.config;
    const config = withDeadPeer(this.config, options);
    if (options.sendBufferSize === undefined && options.receiveWindow === undefined) return config;
    return {
      ...config,
      // A bound given for the connection is fixed (as SO_SNDBUF turns Linux's auto-tuning off).
      ...(options.sendBufferSize === undefined ? {} : { sendBufferSize: options.sendBufferSize, sendBufferMax: options.sendBufferSize }),
      ...(options.receiveWindow === undefined ? {} : { receiveWindow: options.receiveWindow, receiveWindowInitial: options.receiveWindow }),
    };
  }

  private newConnection(local: UdpAddress, remote: UdpAddress, localPort: number, remotePort: number, options?: ConnectionOptions): TcpMigrateConnection {
    const conn = new TcpMigrateConnection({
      config: this.configFor(options),
      random: options?.random ?? this.random,
      local,
      localPort,
      remote,
      remotePort,
      owner: this.owner,
    });
    this.connections.add(conn);
    this.lastRoute = undefined;
    this.byTuple.set(connKey(conn), conn);
    this.retired.delete(connKey(conn));
    return conn;
  }

  connect(now: Instant, remote: UdpAddress, options?: ConnectionOptions): TcpMigrateConnection {
    checkAddress(remote, 'connect: remote');
    const local = this.addresses[0]!;
    const remotePort = options?.remotePort ?? this.port;
    const localPort = this.ephemeralPort(local, remote, remotePort);
    const conn = this.newConnection(local, remote, localPort, remotePort, options);
    openConnection(conn, now);
    this.settle(conn);
    this.touch(conn);
    return conn;
  }

  /** A local TCP port no live connection to `remote` uses (a 4-tuple in TIME-WAIT may be reused). */
  private ephemeralPort(local: UdpAddress, remote: UdpAddress, remotePort: number): number {
    for (let i = 0; i < EPHEMERAL_COUNT; i++) {
      const port = EPHEMERAL_FIRST + ((this.nextEphemeral + i) % EPHEMERAL_COUNT);
      const existing = this.byTuple.get(tupleKey(local, remote, port, remotePort));
      if (existing === undefined || existing.stateName === 'TIME-WAIT') {
        existing?.finish(0, undefined);
        this.nextEphemeral = (this.nextEphemeral + i + 1) % EPHEMERAL_COUNT;
        return port;
      }
    }
    throw new LocalUsageError(`no free TCP port towards ${addressKey(remote)}`);
  }

  pollAccept(): TcpMigrateConnection | undefined {
    return this.acceptQueue.shift();
  }

  /**
   * The next connection this endpoint called into (input, a timer, a poll) since it was last
   * returned here: the ones that may have events for the application. A server of 10,000
   * connections pumps these after each input cycle instead of polling every connection's events
   * (issue 12). Never misses one; may name one with no new event. The first call names every
   * connection and starts the record (an application that never calls it keeps none).
   */
  pollReady(): TcpMigrateConnection | undefined {
    this.ready ??= new Set(this.connections);
    for (const c of this.ready) {
      this.ready.delete(c);
      return c;
    }
    return undefined;
  }

  importState(_now: Instant, state: TransportState, options?: ConnectionOptions): TcpMigrateConnection {
    checkTransportState(state, 'tcp');
    const peer = state.tcp!.localIsInitiator ? state.server : state.client;
    const remote = { address: peer.address, port: peer.udpPort };
    const local = this.addresses.find((a) => a.address.includes(':') === remote.address.includes(':')) ?? this.addresses[0]!;
    const old = this.byTuple.get(tupleKey(local, remote, this.port, peer.port));
    if (old !== undefined) {
      if (!old.released && old.stateName !== 'CLOSED') throw new LocalUsageError(`importState: a live connection to ${addressKey(remote)} port ${peer.port} exists already`);
      this.release(old);
    }
    const conn = this.newConnection(local, remote, this.port, peer.port, options);
    conn.publicAddress = this.publicAddress;
    preload(conn, state);
    return conn;
  }

  // ---------------------------------------------------------------------------------------------
  // Input

  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    checkAddress(from, 'handleDatagram: from');
    checkBytes(bytes, 'handleDatagram: bytes');
    if (local !== undefined) checkAddress(local, 'handleDatagram: local');
    const to = local ?? this.addresses[0]!;
    const parsed = parseSegment(bytes);
    if (!parsed.ok) return this.drop('malformed');
    const seg = parsed.segment;
    if (this.verify && !this.checksumOk(bytes, from.address, to.address)) return this.drop('checksum');
    // A burst from one peer goes to the same connection: compare its 4-tuple instead of building
    // the key string. Only a match is trusted (byTuple maps that tuple to it: see lastRoute).
    const cached = this.cachedRoute(to, from, seg);
    if (seg.payload.length === 0 && seg.options.length > 0) {
      const keepalive = findOption(seg.options, 'group-keepalive');
      if (keepalive !== undefined) return this.groupKeepalive(seg, from, to, keepalive.ack);
    }
    const key = cached === undefined ? tupleKey(to, from, seg.dstPort, seg.srcPort) : '';
    const isMigrateSyn = (seg.flags & (SYN | ACK | RST)) === SYN && findOption(seg.options, 'migrate') !== undefined;
    if (isMigrateSyn) {
      // By token first: the request comes from an address the connection has never seen.
      const mig = findOption(seg.options, 'migrate')!;
      const target = this.byToken.get(tokenKey(mig.token)) ?? cached ?? this.byTuple.get(key);
      if (target !== undefined) {
        this.touch(target);
        target.handleSegment(now, seg, from, to);
        this.settle(target);
        return;
      }
      this.drop('unknown-takeover');
      this.outbox.push(resetSegment(to, seg.dstPort, from, seg.srcPort, 0, (seg.seq + 1) >>> 0, RESET_UNKNOWN_TOKEN, true));
      return;
    }
    const conn = cached ?? this.byTuple.get(key);
    if (conn !== undefined && conn.stateName === 'TIME-WAIT' && (seg.flags & (SYN | ACK | RST)) === SYN) {
      conn.finish(now, undefined); // a new SYN for a 4-tuple in TIME-WAIT starts a new connection
      this.settle(conn);
    } else if (conn !== undefined) {
      this.lastRoute = conn;
      this.touch(conn);
      conn.handleSegment(now, seg, from, to);
      this.settle(conn);
      return;
    }
    if (this.retired.has(cached === undefined ? key : tupleKey(to, from, seg.dstPort, seg.srcPort))) {
      this.drop('stale-address');
      if (!(seg.flags & RST)) this.outbox.push(this.resetFor(to, from, seg, RESET_TAKEN_OVER));
      return;
    }
    if ((seg.flags & (SYN | ACK | RST)) === SYN) {
      if (!this.listening) {
        this.drop('not-listening');
        this.outbox.push(this.resetFor(to, from, seg, 0));
        return;
      }
      if (seg.dstPort !== this.port) {
        this.drop('not-listening');
        this.outbox.push(this.resetFor(to, from, seg, 0));
        return;
      }
      if (this.halfOpen.size < this.synQueue && this.acceptQueue.length < this.backlog) {
        const c = this.newConnection(to, from, this.port, seg.srcPort);
        c.groupAddresses = this.groupAddresses?.();
        this.halfOpen.add(c);
        this.touch(c);
        acceptSyn(c, now, seg, this.cookies.keyPairAt(now));
        this.settle(c);
        return;
      }
      // The SYN queue is full (a flood): RFC 4987 §3.6, no state and no x25519 work until the
      // client echoes the cookie.
      const t: FourTuple = { local: to, remote: from, localPort: this.port, remotePort: seg.srcPort };
      const mss = findOption(seg.options, 'mss')?.mss ?? 536;
      const sack = findOption(seg.options, 'sack-permitted') !== undefined;
      const { iss, keyPair } = this.cookies.issue(now, t, seg.seq, mss, sack);
      this.outbox.push(cookieSynAck(t, seg, iss, this.config.mss, this.config.receiveWindow, keyPair.publicKey, this.groupAddresses?.()));
      return;
    }
    if (this.listening && seg.dstPort === this.port && (seg.flags & (SYN | ACK | RST)) === ACK && this.acceptCookie(now, seg, from, to)) return;
    this.drop('no-connection');
    if (!(seg.flags & RST)) this.outbox.push(this.resetFor(to, from, seg, 0));
  }

  /**
   * Clients behind NAT (group.ts): a Group-Keepalive is answered when we hold the connection, or a
   * group member announced it; else dropped, never with a RST (the announcement may be on its way).
   * A Group-Keepalive-Ack is counted and goes to no connection (it is not from the peer's stream).
   */
  private groupKeepalive(seg: TcpSegment, from: UdpAddress, to: UdpAddress, answer: boolean): void {
    if (answer) {
      this.groupKeepaliveAcks++;
      return;
    }
    const held = this.byTuple.has(tupleKey(to, from, seg.dstPort, seg.srcPort)) || (seg.dstPort === this.port && this.heldByGroup?.(from, seg.srcPort, 0) !== undefined);
    if (!held) return this.drop('no-connection');
    this.groupKeepalivesAnswered++;
    this.outbox.push(keepaliveSegment(to, seg.dstPort, from, seg.srcPort, seg.ack, seg.seq, true));
  }

  /**
   * An ACK for no connection: the third segment of a handshake we answered with a cookie (or, its
   * ACK lost, the client's next segment: a keep-alive probe sits one below ISN + 1). True when it
   * was taken care of (a connection made, or dropped without a RST).
   */
  private acceptCookie(now: Instant, seg: TcpSegment, from: UdpAddress, to: UdpAddress): boolean {
    const t: FourTuple = { local: to, remote: from, localPort: this.port, remotePort: seg.srcPort };
    const iss = (seg.ack - 1) >>> 0;
    let peerIsn = (seg.seq - 1) >>> 0;
    let cookie = this.cookies.check(now, t, peerIsn, iss);
    if (cookie === undefined && seg.payload.length === 0) {
      peerIsn = seg.seq;
      cookie = this.cookies.check(now, t, peerIsn, iss);
    }
    const echoing = findOption(seg.options, 'migrate-permitted') !== undefined;
    if (cookie === undefined) {
      if (!echoing) return false;
      // A baton client still repeating its key: a later segment overtook the one that carries
      // ISN + 1. Its retransmission will come; a RST now would end the connection.
      this.drop('bad-handshake');
      return true;
    }
    if (this.acceptQueue.length >= this.backlog) {
      this.drop('bad-handshake');
      return true;
    }
    const c = this.newConnection(to, from, this.port, seg.srcPort);
    this.touch(c);
    acceptCookie(c, now, seg, peerIsn, iss, cookie);
    this.settle(c);
    return true;
  }

  /**
   * The connection the last datagram was routed to. Invariant: while set, byTuple maps its current
   * 4-tuple to it, so it is cleared whenever byTuple changes (newConnection, rebind, release).
   */
  private lastRoute: TcpMigrateConnection | undefined;

  private cachedRoute(to: UdpAddress, from: UdpAddress, seg: TcpSegment): TcpMigrateConnection | undefined {
    const c = this.lastRoute;
    if (c === undefined || c.remotePort !== seg.srcPort || c.localPort !== seg.dstPort) return undefined;
    const r = c.remote;
    const l = c.local;
    if (r.port !== from.port || l.port !== to.port || r.address !== from.address || l.address !== to.address) return undefined;
    return c;
  }

  /** Pseudo-header sums by address pair, so the IP text is not parsed per datagram. */
  private readonly pseudoSums = new Map<string, number>();
  /** The last pair looked up (a burst comes from one peer): no key string, no Map lookup. */
  private lastPseudoSrc = '';
  private lastPseudoDst = '';
  private lastPseudo = 0;

  /**
   * The checksum over the pseudo-header of the addresses as seen, or with an unspecified source:
   * a sender bound to 0.0.0.0 / :: (a client) cannot know the address its packets leave with, nor
   * the one a NAT gives them, and writes the unspecified address (README "Clients behind NAT").
   * Bound to the unspecified address ourselves, we cannot know what the sender wrote as our
   * address: the UDP checksum (which the NAT fixes up) is the only check then.
   */
  private checksumOk(bytes: Uint8Array, src: string, dst: string): boolean {
    if (dst === '0.0.0.0' || dst === '::') return true;
    return checksumValid(bytes, this.pseudoSum(src, dst)) || checksumValid(bytes, this.pseudoSum(src.includes(':') ? '::' : '0.0.0.0', dst));
  }

  private pseudoSum(src: string, dst: string): number {
    if (src === this.lastPseudoSrc && dst === this.lastPseudoDst) return this.lastPseudo;
    const key = `${src}>${dst}`;
    let sum = this.pseudoSums.get(key);
    if (sum === undefined) {
      if (this.pseudoSums.size >= 4096) this.pseudoSums.clear(); // bounded against spoofed sources
      sum = pseudoHeaderSum(src, dst);
      this.pseudoSums.set(key, sum);
    }
    this.lastPseudoSrc = src;
    this.lastPseudoDst = dst;
    this.lastPseudo = sum;
    return sum;
  }

  /** RFC 9293 §3.10.7.1: RST for a segment that belongs to no connection. */
  private resetFor(local: UdpAddress, remote: UdpAddress, seg: TcpSegment, reason: number): Transmit {
    if (seg.flags & ACK) return resetSegment(local, seg.dstPort, remote, seg.srcPort, seg.ack, 0, reason, false);
    const len = seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
    return resetSegment(local, seg.dstPort, remote, seg.srcPort, 0, (seg.seq + len) >>> 0, reason, true);
  }

  handleTimeout(now: Instant): void {
    for (const c of this.scheduler.due(now)) {
      this.touch(c);
      c.handleTimeout(now);
      this.settle(c);
    }
  }

  /** Marks a connection for polling: it may send, and its deadline may have moved. */
  private touch(conn: TcpMigrateConnection): void {
    this.scheduler.wake(conn);
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  pollTransmit(now: Instant): Transmit | undefined {
    if (this.outbox.length > 0) return this.outbox.shift();
    for (const c of this.scheduler.woken()) {
      this.settle(c); // events of application calls (abort, close) since the last poll
      const tx = c.pollTransmit(now);
      this.settle(c);
      if (tx !== undefined) {
        this.scheduler.sent(c);
        return tx;
      }
      this.scheduler.idle(c);
      if (c.released) this.forget(c);
    }
    return undefined;
  }

  pollTimeout(): Instant | undefined {
    return this.scheduler.pollTimeout();
  }

  // ---------------------------------------------------------------------------------------------
  // ConnectionOwner, and the connections' queued EndpointEvents


  /** Act on what `conn` queued for us while we (or the application) called into it. */
  private settle(conn: TcpMigrateConnection): void {
    this.ready?.add(conn);
    for (let e = conn.pollEndpointEvent(); e !== undefined; e = conn.pollEndpointEvent()) {
      switch (e.type) {
        case 'rebind':
          this.rebind(conn, e.oldLocal, e.oldRemote, e.oldLocalPort, e.oldRemotePort);
          break;
        case 'established':
          this.halfOpen.delete(conn);
          this.acceptQueue.push(conn);
          break;
        case 'token':
          if (conn.token !== undefined) this.byToken.set(tokenKey(conn.token), conn);
          break;
        case 'released':
          this.halfOpen.delete(conn);
          this.release(conn);
          break;
        case 'drop':
          this.drop(e.reason);
          break;
      }
    }
  }

  private rebind(conn: TcpMigrateConnection, oldLocal: UdpAddress, oldRemote: UdpAddress, oldLocalPort: number, oldRemotePort: number): void {
    this.lastRoute = undefined;
    const oldKey = tupleKey(oldLocal, oldRemote, oldLocalPort, oldRemotePort);
    if (this.byTuple.get(oldKey) === conn) this.byTuple.delete(oldKey);
    this.retired.add(oldKey);
    if (this.retired.size > MAX_RETIRED) this.retired.delete(this.retired.values().next().value!);
    const newKey = connKey(conn);
    this.retired.delete(newKey);
    this.byTuple.set(newKey, conn);
  }

  private release(conn: TcpMigrateConnection): void {
    // Keep it until its last segments (a RST, the final ACK) are polled out.
    this.touch(conn);
    this.lastRoute = undefined;
    const key = connKey(conn);
    if (this.byTuple.get(key) === conn) this.byTuple.delete(key);
    if (conn.token !== undefined) {
      const k = tokenKey(conn.token);
      if (this.byToken.get(k) === conn) this.byToken.delete(k);
    }
  }

  private forget(conn: TcpMigrateConnection): void {
    this.connections.delete(conn);
    this.scheduler.forget(conn);
  }

  /** Connections alive on this endpoint (for tests and statistics). */
  get connectionCount(): number {
    return this.connections.size;
  }
}

guardMethods(TcpMigrateEndpoint.prototype, ['handleDatagram', 'handleTimeout', 'pollTransmit', 'pollTimeout', 'pollAccept', 'pollReady', 'connect', 'importState'], 'TcpMigrateEndpoint');
