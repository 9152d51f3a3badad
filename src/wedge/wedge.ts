// The wedge (paper §4.1): one server of a failover-capable pool, sans-IO, on the runtime seam.
// It attaches a listening transport endpoint (createEndpoint) for its clients and a
// SoftStateChannel for its support group, runs a Session (stream mapper + content-server
// connection) per client connection, announces each new request at once and all connections every
// update period, and takes connections over when a member dies (heartbeat or the external
// monitor) or the monitor moves one here. The exact takeover procedure is in README.md
// ("The orchestrator"). The same code runs in the simulator (SimRuntime, sim MemoryBackend) and in
// the daemon (UdpRuntime, TcpBackend).
import type { UdpAddress } from '../transport-abstraction/address.js';
import { BatonError } from '../transport-abstraction/errors.js';
import type { RandomSource } from '../transport-abstraction/random.js';
import type { Attachment, Runtime, RuntimeTimer } from '../transport-abstraction/runtime.js';
import type { EndpointState, StreamMapping, TransportState } from '../transport-abstraction/state-types.js';
import { DEFAULT_RESUME_MODE, type DatagramCore, type Instant, type ReceiverState, type ResumeMode, type TransportEndpoint, type TransportKind, type Transmit } from '../transport-abstraction/transport.js';
import { createEndpoint } from '../transports.js';
import type { BackoffRule } from './backoff.js';
import type { ContentBackend } from './content.js';
import { supportGroup } from './groups.js';
import { HttpMapperFactory } from './http-mapper.js';
import type { StreamMapperFactory } from './mapper.js';
import { sealedKind, type SealKind } from './seal.js';
import { Session } from './session.js';
import { connectionKey } from './soft-state-table.js';
import { SoftStateChannel, type ChannelEvent, type Member } from './soft-state-channel.js';
import { TakeoverQueue, type DeathVerdict, type TakeoverJob } from './takeover.js';

/** A server of the pool as the wedge knows it. */
export interface Peer {
  readonly id: string;
  /** Its client-facing IP; its soft-state channel is at this IP, the pool's soft-state port. */
  readonly address: string;
}

export type HealthMode = 'heartbeat' | 'external';

export interface WedgeOptions {
  readonly runtime: Runtime;
  readonly transport: TransportKind;
  readonly id: string;
  /** The client-facing UDP address (port 0: any). */
  readonly listen: UdpAddress;
  /** The transport port inside UDP; default the kind's default. */
  readonly port?: number;
  /** UDP port of every member's soft-state channel (this one binds listen.address at it). */
  readonly softStatePort: number;
  /** The pool (this server may be in it, under its id or its address; it is skipped). */
  readonly peers: readonly Peer[];
  /** Support groups: N buckets of groups.ts' hash; default 1. */
  readonly groups?: number;
  readonly groupKey: Uint8Array;
  readonly backend: ContentBackend;
  readonly random: RandomSource;
  readonly factory?: StreamMapperFactory;
  readonly updateMs?: number;
  readonly cacheTimeoutMs?: number;
  readonly deadAfterPeriods?: number;
  readonly health?: HealthMode;
  readonly backoff?: BackoffRule;
  readonly rtoMin?: number;
  readonly mtu?: number;
  /** How a taker resumes (transport.ts' ResumeMode); default DEFAULT_RESUME_MODE. The paper's go-back-N is for experiments. */
  readonly resumeMode?: ResumeMode;
  /** Structured log: one call per event (names and fields in SERVE-SPEC.md). */
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

/** What the wedge counts (exported as Prometheus metrics by the daemon). */
export interface WedgeCounters {
  connectionsAccepted: number;
  requests: number;
  bytesToClients: number;
  takeoversStarted: number;
  takeoversWon: number;
  takeoversLost: number;
  resumeFailed: number;
  superseded: number;
  memberDeaths: number;
  /** Sealed datagrams sent and received, by kind (received: by the header's kind, before authentication; refusals are channel.dropped). */
  readonly softStateSent: Record<SealKind, number>;
  readonly softStateReceived: Record<SealKind | 'unknown', number>;
}

/** Counts the soft-state datagrams in and out of the channel. */
class CountingCore implements DatagramCore {
  constructor(
    readonly inner: SoftStateChannel,
    private readonly counters: WedgeCounters,
  ) {}
  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    this.counters.softStateReceived[sealedKind(bytes) ?? 'unknown']++;
    this.inner.handleDatagram(now, from, bytes);
    void local;
  }
  handleTimeout(now: Instant): void {
    this.inner.handleTimeout(now);
  }
  pollTransmit(now: Instant): Transmit | undefined {
    const t = this.inner.pollTransmit(now);
    const kind = t && sealedKind(t.payload);
    if (kind !== undefined) this.counters.softStateSent[kind]++;
    return t;
  }
  pollTimeout(): Instant | undefined {
    return this.inner.pollTimeout();
  }
}

/** `ADDR:UDPPORT` of a client endpoint, as logs and `baton monitor move` name connections. */
export function connectionName(client: EndpointState): string {
  return `${client.address}:${client.udpPort}`;
}

export class Wedge {
  readonly id: string;
  readonly group: number;
  readonly counters: WedgeCounters = {
    connectionsAccepted: 0,
    requests: 0,
    bytesToClients: 0,
    takeoversStarted: 0,
    takeoversWon: 0,
    takeoversLost: 0,
    resumeFailed: 0,
    superseded: 0,
    memberDeaths: 0,
    softStateSent: { announcement: 0, ack: 0, command: 0 },
    softStateReceived: { announcement: 0, ack: 0, command: 0, unknown: 0 },
  };
  /** Connections served or being taken over, by table key. */
  readonly sessions = new Map<string, Session>();
  readonly channel: SoftStateChannel;
  private endpoint!: Attachment<TransportEndpoint>;
  private channelAttachment!: Attachment<CountingCore>;
  private readonly runtime: Runtime;
  private readonly options: WedgeOptions;
  private readonly factory: StreamMapperFactory;
  private readonly health: HealthMode;
  private readonly queue: TakeoverQueue;
  private queueTimer: RuntimeTimer | undefined;
  private queueTimerAt: Instant | undefined;
  /** Taker sessions not yet won or lost: key -> the job. */
  private readonly pending = new Map<string, TakeoverJob>();
  /** Connections announced won or served (announced); taker sessions before that are not. */
  private readonly serving = new Set<string>();
  /** Announcement sequence -> the states of our connections it carried, until a member confirms it. */
  private readonly awaitingConfirmation = new Map<number, readonly TransportState[]>();
  /**
   * Announcement sequence -> the states whose export barrier is still held for it, and the members
   * that confirmed it. A held short chunk goes only once every live member stored a state mapping
   * it: any of them may take the connection over, with the state it holds (see exportHeld).
   */
  private readonly exportHeld = new Map<number, { readonly states: readonly TransportState[]; readonly confirmedBy: Set<string> }>();
  /** Members declared dead (monitor or heartbeat) and not heard again: no held short chunk waits for them. */
  private readonly declaredDead = new Set<string>();
  private closed = false;
  private members: Member[];

  private constructor(options: WedgeOptions) {
    this.options = options;
    this.runtime = options.runtime;
    this.id = options.id;
    this.factory = options.factory ?? new HttpMapperFactory();
    this.health = options.health ?? 'heartbeat';
    this.group = supportGroup({ address: options.listen.address, id: options.id }, options.groups ?? 1);
    this.members = this.membersOf(options.peers);
    this.channel = new SoftStateChannel({
      selfId: options.id,
      group: this.group,
      groupKey: options.groupKey,
      members: this.members,
      random: options.random,
      now: this.runtime.now(),
      ...(options.updateMs !== undefined ? { updateMs: options.updateMs } : {}),
      ...(options.cacheTimeoutMs !== undefined ? { cacheTimeoutMs: options.cacheTimeoutMs } : {}),
      ...(options.deadAfterPeriods !== undefined ? { deadAfterPeriods: options.deadAfterPeriods } : {}),
      // `connections` is a getter: an announcement of one connection reads only `load`, and must
      // not export every connection's state (that made each new request cost O(N)).
      source: () => {
        const now = this.runtime.now();
        const announced = (): TransportState[] => this.announced(now);
        return {
          get connections() {
            return announced();
          },
          load: { hostedConnections: this.serving.size, outstandingOffers: this.pending.size },
        };
      },
      announced: (sequence, connections) => this.sealed(sequence, connections),
      // A connection we are taking over (queued or in flight): its old owner, alive after an
      // erroneous report, must not release a short chunk on our word; we hold an older state.
      withholdAck: (connections) => connections.some((c) => this.pending.has(connectionKey(c.client)) || this.queue.has(connectionKey(c.client))),
    });
    this.queue = new TakeoverQueue({ random: options.random, ...(options.backoff ? { rule: options.backoff } : {}), load: () => ({ hosted: this.serving.size, outstanding: this.pending.size }) });
  }

  /** Binds the client-facing endpoint and the soft-state channel and starts serving. */
  static async start(options: WedgeOptions): Promise<Wedge> {
    const w = new Wedge(options);
    const rt = options.runtime;
    w.channelAttachment = await rt.attach([{ address: options.listen.address, port: options.softStatePort }], () => new CountingCore(w.channel, w.counters), (now) => w.channelInput(now));
    try {
      w.endpoint = await rt.attach(
        [options.listen],
        (bound) =>
          createEndpoint(options.transport, {
            addresses: bound,
            listen: true,
            random: options.random,
            ...(options.port !== undefined ? { port: options.port } : {}),
            ...(options.rtoMin !== undefined ? { rtoMin: options.rtoMin } : {}),
            ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
            groupAddresses: () => w.members.map((m) => m.address.address),
            heldByGroup: (client, clientPort, tag) => w.heldByGroup(client, clientPort, tag),
          }),
        (now) => w.endpointInput(now),
      );
    } catch (error) {
      await w.channelAttachment.close();
      throw error;
    }
    w.log('listening', { transport: options.transport, address: options.listen.address, udpPort: w.endpoint.addresses[0]!.port, softStatePort: w.channelAttachment.addresses[0]!.port, group: w.group });
    return w;
  }

  /** The bound client-facing address (the real port when 0 was asked for). */
  get address(): UdpAddress {
    return this.endpoint.addresses[0]!;
  }

  /** Connections this wedge serves now (taken over and won, or opened to it). */
  get hosted(): number {
    return this.serving.size;
  }

  /** Takeover requests sent and not yet won or lost. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Replaces the pool (peers file changed); new members start alive. */
  setPeers(peers: readonly Peer[]): void {
    this.members = this.membersOf(peers);
    this.channel.setMembers(this.runtime.now(), this.members);
    this.channelAttachment.wake();
  }

  /** Stops everything: connections are left to the group (no bytes sent), sockets released. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queueTimer?.cancel();
    for (const s of this.sessions.values()) s.stop();
    await this.endpoint.close();
    await this.channelAttachment.close();
  }

  /** For /status: one line per connection. */
  status(): Array<{ connection: string; takeoverNumber: number; requests: number; streamOffset: number; state: string }> {
    return [...this.sessions.values()].map((s) => ({
      connection: connectionName(s.conn.exportState(this.runtime.now()).client),
      takeoverNumber: s.takeoverNumber,
      requests: s.requests,
      streamOffset: s.sender.offset,
      state: this.pending.has(s.key) ? 'taking-over' : s.conn.stateName,
    }));
  }

  // ---- the client-facing endpoint ----

  private endpointInput(now: Instant): void {
    const ep = this.endpoint.core;
    for (let c = ep.pollAccept(); c !== undefined; c = ep.pollAccept()) {
      const s = this.newSession({ conn: c });
      this.counters.connectionsAccepted++;
      this.serving.add(s.key);
      this.log('accepted', { connection: this.name(s) });
    }
    for (const s of [...this.sessions.values()]) s.pump(now);
  }

  private newSession(o: { conn: Session['conn']; taker?: boolean; resume?: StreamMapping; takeoverNumber?: number }): Session {
    const s = new Session({
      conn: o.conn,
      factory: this.factory,
      backend: this.options.backend,
      ownerId: this.id,
      ...(o.taker ? { taker: true } : {}),
      ...(o.resume ? { resume: o.resume } : {}),
      ...(o.takeoverNumber !== undefined ? { takeoverNumber: o.takeoverNumber } : {}),
      hooks: {
        now: () => this.runtime.now(),
        wake: () => this.endpoint.wake(),
        mapping: (session, mapping) => this.mappingChanged(session, mapping),
        resumed: (session, receiver, now) => this.won(session, receiver, now),
        failed: (session, error) => this.resumeFailed(session, error),
        closed: (session, error) => this.sessionClosed(session, error),
        bytes: (n) => (this.counters.bytesToClients += n),
        setTimer: (at, fn) => this.runtime.setTimer(at, fn),
        stateChanged: (session, now) => {
          if (this.serving.has(session.key)) this.announce(now, session);
        },
      },
    });
    this.sessions.set(s.key, s);
    return s;
  }

  private mappingChanged(session: Session, mapping: StreamMapping): void {
    const now = this.runtime.now();
    if (mapping.resumeContext?.responseHead.length === 0) {
      this.counters.requests++;
      this.log('request', { connection: this.name(session), object: mapping.objectName, streamOffset: mapping.resumeContext.responseStreamOffset });
    }
    if (!this.serving.has(session.key)) return;
    this.announce(now, session);
  }

  /**
   * Announce one connection at once (a new request, a changed transport state, a takeover won).
   * No member alive to confirm it: nobody could take the connection over, so nothing is held —
   * neither the request's acknowledgement nor the bytes the transport's export barrier waits with.
   */
  private announce(now: Instant, session: Session): void {
    const state = session.state(now);
    this.channel.announceNow(now, [state]);
    if (this.liveMembers().length === 0) {
      session.confirmed(now, Session.clientEnd(state));
      session.exportConfirmed(now, state);
    }
    this.channelAttachment.wake();
  }

  /** An announcement was sealed: remember which of our states it carries until a member confirms it. */
  private sealed(sequence: number, connections: readonly TransportState[]): void {
    if (connections.length === 0) return;
    this.awaitingConfirmation.set(sequence, connections);
    this.exportHeld.set(sequence, { states: connections, confirmedBy: new Set() });
    // Unconfirmed sequences (no member alive, or confirmations lost) are forgotten oldest first.
    for (const seq of this.awaitingConfirmation.keys()) {
      if (this.awaitingConfirmation.size <= 4096) break;
      this.awaitingConfirmation.delete(seq);
    }
    for (const seq of this.exportHeld.keys()) {
      if (this.exportHeld.size <= 4096) break;
      this.exportHeld.delete(seq);
    }
  }

  private won(session: Session, receiver: ReceiverState, now: Instant): void {
    const job = this.pending.get(session.key);
    this.pending.delete(session.key);
    this.serving.add(session.key);
    this.counters.takeoversWon++;
    this.log('takeover-won', { connection: this.name(session), number: session.takeoverNumber, nextOffset: receiver.nextOffset, stallMs: job ? now - job.noticedAt : 0 });
    const m = session.state(now).stream;
    if (m !== undefined) {
      const bodyAt = m.responseHeaderLength;
      this.log('resumed', { connection: this.name(session), object: m.objectName, objectOffset: m.objectStart + Math.max(0, receiver.nextOffset - bodyAt) });
    }
    // The higher number tells the old owner (if alive) and the other candidates at once.
    this.announce(now, session);
  }

  private resumeFailed(session: Session, error: BatonError): void {
    this.counters.resumeFailed++;
    this.log('resume-failed', { connection: this.name(session), code: error.code });
  }

  private sessionClosed(session: Session, error: BatonError | undefined): void {
    const now = this.runtime.now();
    this.sessions.delete(session.key);
    const wasServing = this.serving.delete(session.key);
    const job = this.pending.get(session.key);
    const client = session.conn.exportState(now).client;
    if (job !== undefined) {
      this.pending.delete(session.key);
      this.counters.takeoversLost++;
      this.log('takeover-lost', { connection: this.name(session), number: session.takeoverNumber, reason: error?.code ?? 'closed' });
      return; // a loser withdraws: nothing to announce, the winner announces
    }
    if (error?.code === 'BATON_ERR_TAKEN_OVER') {
      this.log('superseded', { connection: this.name(session), number: session.takeoverNumber, by: 'transport' });
      return;
    }
    if (wasServing) this.channel.dropConnection(now, { client, takeoverNumber: session.takeoverNumber });
    this.channelAttachment.wake();
    this.log('closed', { connection: this.name(session), ...(error ? { code: error.code } : {}) });
  }

  /** The states to announce: every connection served (not those still being taken over). */
  private announced(now: Instant): TransportState[] {
    const out: TransportState[] = [];
    for (const key of this.serving) {
      const s = this.sessions.get(key);
      if (s !== undefined && !s.done) out.push(s.state(now));
    }
    return out;
  }

  // ---- the soft-state channel ----

  private channelInput(now: Instant): void {
    for (let ev = this.channel.pollEvent(); ev !== undefined; ev = this.channel.pollEvent()) this.channelEvent(now, ev);
  }

  private channelEvent(now: Instant, ev: ChannelEvent): void {
    switch (ev.type) {
      case 'member-dead':
        // One fewer member whose confirmation a held short chunk waits for.
        for (const sequence of [...this.exportHeld.keys()]) this.releaseExport(now, sequence);
        if (this.health !== 'heartbeat') return;
        this.memberDead(now, ev.id, 'heartbeat');
        return;
      case 'member-alive':
        this.declaredDead.delete(ev.id);
        this.log('member-alive', { member: ev.id });
        return;
      case 'superseded': {
        const s = this.sessions.get(ev.key);
        if (s === undefined) return;
        s.stop();
        this.sessions.delete(ev.key);
        this.serving.delete(ev.key);
        this.pending.delete(ev.key);
        this.counters.superseded++;
        this.log('superseded', { connection: this.name(s), number: ev.takeoverNumber, by: ev.by });
        return;
      }
      case 'acknowledged': {
        const held = this.exportHeld.get(ev.sequence);
        if (held !== undefined) {
          held.confirmedBy.add(ev.member);
          this.releaseExport(now, ev.sequence);
        }
        const awaited = this.awaitingConfirmation.get(ev.sequence);
        if (awaited === undefined) return;
        this.awaitingConfirmation.delete(ev.sequence);
        for (const state of awaited) {
          const key = connectionKey(state.client);
          const session = this.sessions.get(key);
          if (session === undefined) continue;
          // The limit moved: announce the state that describes the new acknowledged point at once,
          // so a taker does not start from a point behind what the client was told arrived.
          if (session.confirmed(now, Session.clientEnd(state)) && this.serving.has(key)) this.announce(now, session);
        }
        this.endpoint.wake();
        return;
      }
      case 'command': {
        const c = ev.command;
        if (c.declareDead !== undefined && c.declareDead.serverId !== this.id) this.memberDead(now, c.declareDead.serverId, 'monitor');
        if (c.move !== undefined && c.move.toServerId === this.id) this.move(now, c.move.client);
        return;
      }
    }
  }

  private memberDead(now: Instant, member: string, by: DeathVerdict): void {
    this.counters.memberDeaths++;
    this.log('member-dead', { member, by });
    this.declaredDead.add(member);
    for (const sequence of [...this.exportHeld.keys()]) this.releaseExport(now, sequence);
    if (this.liveMembers().length === 0) this.releaseHolds(now);
    const entries = this.channel.table.ownedBy(member).filter((e) => !this.sessions.has(e.key));
    // Other live candidates: members of this group other than the dead one. None: do not pace.
    const competitors = this.channel.isAlive(member) === undefined ? [] : this.liveMembers().filter((id) => id !== member);
    const unpaced = competitors.length === 0;
    this.queue.add(now, entries.map((e) => ({ key: e.key, state: e.state, from: member, by, noticedAt: now, unpaced })));
    this.armQueue();
  }

  private move(now: Instant, client: EndpointState): void {
    const entry = this.channel.table.all().find((e) => e.state.client.address === client.address && e.state.client.udpPort === client.udpPort && (client.port === 0 || e.state.client.port === client.port));
    if (entry === undefined || this.sessions.has(entry.key)) return;
    this.queue.add(now, [{ key: entry.key, state: entry.state, from: entry.state.ownerId, by: 'move', noticedAt: now, unpaced: true }]);
    this.armQueue();
  }

  /**
   * Every live member confirmed announcement `sequence`: what the transports' export barriers held
   * for its states may go. One member's confirmation is not enough: another live member may be
   * taking the connection over with an older state (an erroneous death report: the old owner is
   * alive, a member imported its state before the announcement that maps the short chunk), and
   * would place the client's cumulative TSN past that chunk as if it were full-size.
   */
  private releaseExport(now: Instant, sequence: number): void {
    const held = this.exportHeld.get(sequence);
    if (held === undefined || this.liveMembers().some((id) => !held.confirmedBy.has(id) && !this.declaredDead.has(id))) return;
    this.exportHeld.delete(sequence);
    for (const state of held.states) this.sessions.get(connectionKey(state.client))?.exportConfirmed(now, state);
    this.endpoint.wake();
  }

  /** No member is left to confirm an announcement: acknowledge what every served connection's mapping holds. */
  private releaseHolds(now: Instant): void {
    for (const key of this.serving) {
      const s = this.sessions.get(key);
      if (s === undefined || s.done) continue;
      const state = s.state(now);
      s.confirmed(now, Session.clientEnd(state));
      s.exportConfirmed(now, state);
    }
    this.endpoint.wake();
  }

  private liveMembers(): string[] {
    return this.members.map((m) => m.id).filter((id) => this.channel.isAlive(id) === true);
  }

  private armQueue(): void {
    const at = this.queue.nextAt;
    if (at === undefined || at === this.queueTimerAt) return;
    this.queueTimer?.cancel();
    this.queueTimerAt = at;
    this.queueTimer = this.runtime.setTimer(at, () => {
      this.queueTimer = undefined;
      this.queueTimerAt = undefined;
      this.runQueue();
    });
  }

  private runQueue(): void {
    if (this.closed) return;
    const now = this.runtime.now();
    for (let next = this.queue.take(now); next !== undefined; next = this.queue.take(now)) this.takeOver(now, next.job, next.delayMs);
    this.armQueue();
  }

  /** Re-check the entry, then import its state and send the takeover request (number + 1, resumeMode). */
  private takeOver(now: Instant, job: TakeoverJob, delayMs: number): void {
    // The entry now: a higher number or another owner heard since the notice means someone took it.
    // No entry: expired during the backoff (use the state of the notice) or dropped (the client
    // closed; the takeover request then goes unanswered and is lost).
    const entry = this.channel.table.get(job.key);
    const state = job.state;
    const name = connectionName(state.client);
    if (entry !== undefined && (entry.state.takeoverNumber > state.takeoverNumber || entry.state.ownerId !== job.from)) return this.skip(name, entry.state.takeoverNumber, 'newer-state');
    if (job.by === 'heartbeat' && this.channel.isAlive(job.from) === true) return this.skip(name, state.takeoverNumber, 'member-alive');
    if (this.sessions.has(job.key)) return;
    const number = state.takeoverNumber + 1;
    let conn;
    try {
      conn = this.endpoint.core.importState(now, state);
      conn.takeover(now, number, this.options.resumeMode ?? DEFAULT_RESUME_MODE);
    } catch (error) {
      return this.skip(name, number, error instanceof BatonError ? error.code : 'import-failed');
    }
    this.pending.set(job.key, job);
    this.counters.takeoversStarted++;
    this.log('takeover-start', { connection: name, from: job.from, number, delayMs: Math.round(delayMs * 1000) / 1000 });
    this.newSession({ conn, taker: true, ...(state.stream ? { resume: state.stream } : {}), takeoverNumber: number });
    this.endpoint.wake();
  }

  private skip(connection: string, number: number, reason: string): void {
    this.log('takeover-lost', { connection, number, reason });
  }

  /** Clients behind NAT: the tag to answer a keepalive of a connection a member announced (src/sctp/endpoint.ts heldByGroup). */
  private heldByGroup(client: UdpAddress, clientPort: number, tag: number): number | undefined {
    const { sctp, tcp } = this.channel.table.get(connectionKey({ address: client.address, port: clientPort, udpPort: client.port }))?.state ?? {};
    return sctp !== undefined && sctp.localVerificationTag === tag ? sctp.peerVerificationTag : tcp !== undefined ? 0 : undefined; // TCP-Migrate: no tag (src/tcp-migrate/group.ts)
  }

  private membersOf(peers: readonly Peer[]): Member[] {
    const buckets = this.options.groups ?? 1;
    return peers
      .filter((p) => p.id !== this.options.id && p.address !== this.options.listen.address && supportGroup({ address: p.address, id: p.id }, buckets) === this.group)
      .map((p) => ({ id: p.id, address: { address: p.address, port: this.options.softStatePort } }));
  }

  private name(s: Session): string {
    return connectionName(s.conn.exportState(this.runtime.now()).client);
  }

  private log(event: string, fields: Record<string, unknown>): void {
    this.options.log?.(event, fields);
  }
}
