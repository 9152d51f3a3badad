// The wedge (paper §4.1): one server of a failover-capable pool, sans-IO, on the runtime seam.
// It attaches a listening transport endpoint (createEndpoint) for its clients and a
// SoftStateChannel for its support group, runs a Session (stream mapper + content-server
// connection) per client connection, announces each new request at once and all connections every
// update period, and takes connections over when a member dies (heartbeat or the external
// monitor) or the monitor moves one here. The exact takeover procedure is in README.md
// ("The orchestrator"). The same code runs in the simulator (SimRuntime, sim MemoryBackend) and in
// the daemon (UdpRuntime, TcpBackend).
import { addressKey, type UdpAddress } from '../transport-abstraction/address.js';
import { BatonError } from '../transport-abstraction/errors.js';
import type { RandomSource } from '../transport-abstraction/random.js';
import type { Attachment, Runtime, RuntimeTimer } from '../transport-abstraction/runtime.js';
import type { EndpointState, StreamMapping, TransportState } from '../transport-abstraction/state-types.js';
import { DEFAULT_RESUME_MODE, type DatagramCore, type Instant, type ReceiverState, type ResumeMode, type TransportEndpoint, type TransportKind, type Transmit } from '../transport-abstraction/transport.js';
import { DeadlineHeap } from '../transport-abstraction/deadline-heap.js';
import { EndpointScheduler } from '../transport-abstraction/scheduler.js';
import { createEndpoint } from '../transports.js';
import type { BackoffRule } from './backoff.js';
import type { ContentBackend } from './content.js';
import { blindSpan, blindStart, heard } from './blind-span.js';
import { supportGroup } from './groups.js';
import { HttpMapperFactory } from './http-mapper.js';
import type { StreamMapperFactory } from './mapper.js';
import { sealedKind, type SealKind } from './seal.js';
import { Session, type ServedSession, type SessionOptions } from './session.js';
import { connectionKey } from './soft-state-table.js';
import { SoftStateChannel, type ChannelEvent, type Member } from './soft-state-channel.js';
import { TakeoverQueue, type DeathVerdict, type TakeoverJob } from './takeover.js';
import { planTakeover, takeoverDelays, type TakeoverPolicy } from './policy-takeover.js';

/** A server of the pool as the wedge knows it. */
export interface Peer {
  readonly id: string;
  /** Its client-facing IP; its soft-state channel is at this IP, the pool's soft-state port. */
  readonly address: string;
  /** Capacity relative to the others, for the weighted pool policies (policy.ts); default 1. */
  readonly weight?: number;
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
  /** Who takes a dead member's connections: the paper's backoff (default) or a pool policy (policy-takeover.ts). */
  readonly takeoverPolicy?: TakeoverPolicy;
  /** With a pool policy, how long the r-th choice waits per rank before it tries; default updateMs. */
  readonly takeoverFallbackMs?: number;
  /** This wedge's weight when the pool listing does not name it; default 1. */
  readonly weight?: number;
  readonly rtoMin?: number;
  readonly mtu?: number;
  /** SCTP path MTU discovery on client connections (EndpointOptions.plpmtud). */
  readonly plpmtud?: boolean;
  /** A request head begun must be complete within this (408 otherwise); default 30 s (session.ts). */
  readonly headTimeoutMs?: number;
  /** A connection with no request under way and no byte of the next is closed after this; default 60 s. */
  readonly idleTimeoutMs?: number;
  /**
   * The blind resume (default true; false: never): a taker first asks its content server for the
   * stream from where it predicts the client stands (blind-span.ts) and sends the first bytes with
   * the takeover request (waiting at most PREFETCH_WAIT_MS for them), so the client's next byte
   * arrives within about half a round trip when the prediction holds. Skipped per connection
   * when it would cost more than it saves (a state lagging by more than the span, a slow stream:
   * Figure 5's oscillation drifted 37% from the steady rate when it was sent always).
   */
  readonly blindResume?: boolean;
  /** How a taker resumes (transport.ts' ResumeMode); default DEFAULT_RESUME_MODE. The paper's go-back-N is for experiments. */
  readonly resumeMode?: ResumeMode;
  /** What a connection is; default HTTP through `factory` (voice-service.ts' voiceService hosts telephony calls). */
  readonly service?: WedgeService;
  /** Structured log: one call per event (names and fields in SERVE-SPEC.md). */
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

/** A service other than HTTP: how its endpoint runs and the session of each connection. */
export interface WedgeService {
  /** SCTP message mode for the endpoint (transports.ts EndpointOptions.messages). */
  readonly messages?: { readonly lifetimeMs?: number };
  session(options: SessionOptions): ServedSession;
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

/** How long a taker waits for its content server's first bytes before it sends the takeover request without them. */
export const PREFETCH_WAIT_MS = 50;

/**
 * The client-facing endpoint as the wedge binds it: it records the source of every datagram since
 * the last afterInput (the sessions to pump are those of these clients) and, before the endpoint
 * runs its timers, lets the wedge note the sessions whose connection timers are due.
 */
class TouchCore implements DatagramCore {
  /** Sources (addressKey) of the datagrams since the wedge last read them. */
  readonly sources = new Set<string>();
  constructor(
    readonly inner: TransportEndpoint,
    private readonly beforeTimeout: (now: Instant) => void,
  ) {}
  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    this.sources.add(addressKey(from));
    this.inner.handleDatagram(now, from, bytes, local);
  }
  handleTimeout(now: Instant): void {
    this.beforeTimeout(now);
    this.inner.handleTimeout(now);
  }
  pollTransmit(now: Instant): Transmit | undefined {
    return this.inner.pollTransmit(now);
  }
  pollTimeout(): Instant | undefined {
    return this.inner.pollTimeout();
  }
}

/** A datagram from a source no session is known under (a handshake, a new path) sweeps every session, at most this often. */
const SWEEP_MIN_MS = 100;

/** `ADDR:UDPPORT` of a client endpoint, as logs and `baton monitor move` name connections. */
export function connectionName(client: EndpointState): string {
  return addressKey({ address: client.address, port: client.udpPort });
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
  readonly sessions = new Map<string, ServedSession>();
  readonly channel: SoftStateChannel;
  private endpoint!: Attachment<TouchCore>;
  private channelAttachment!: Attachment<CountingCore>;
  private readonly runtime: Runtime;
  private readonly options: WedgeOptions;
  private readonly factory: StreamMapperFactory;
  private readonly health: HealthMode;
  private readonly queue: TakeoverQueue;
  private queueTimer: RuntimeTimer | undefined;
  private queueTimerAt: Instant | undefined;
  /** Taker sessions whose takeover request was sent. */
  private readonly requested = new WeakSet<ServedSession>();
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
  /** Client-facing inputs handled, and sessions pumped for them (see endpointInput): the work per input. */
  inputs = 0;
  pumps = 0;
  /** Sweeps (every session pumped: each update period, and after datagrams from unknown sources, at most every 100 ms) and the sessions they pumped. */
  sweeps = 0;
  swept = 0;
  /** Sessions by their connection's remote address (addressKey), and each session's key there. */
  private readonly byRemote = new Map<string, Set<ServedSession>>();
  private readonly remoteOf = new Map<ServedSession, string>();
  /**
   * Sessions by their connection's timer deadline, re-read only when it may have moved (`sent`:
   * the session was pumped or called into its connection), as an endpoint schedules its own.
   */
  private readonly connTimers = new EndpointScheduler<ServedSession>((s) => (this.sessions.get(s.key) === s ? s.conn.pollTimeout() : undefined));
  /** Sessions whose connection timers are due in the endpoint's current timeout input. */
  private readonly due = new Set<ServedSession>();
  private lastSweep = -Infinity;
  private sweepTimer: RuntimeTimer | undefined;
  private sweepTimerAt: Instant | undefined;
  /** Sessions by their request deadline (lazy: an entry whose time is not the session's deadline is stale). */
  private readonly deadlines = new DeadlineHeap<Session>();
  private deadlineTimer: RuntimeTimer | undefined;
  private deadlineTimerAt: Instant | undefined;

  private peers: readonly Peer[];
  /** Fallback takeovers of a pool policy waiting for their rank's turn. */
  private readonly fallbacks = new Set<RuntimeTimer>();

  private constructor(options: WedgeOptions) {
    this.options = options;
    this.runtime = options.runtime;
    this.id = options.id;
    this.factory = options.factory ?? new HttpMapperFactory();
    this.health = options.health ?? 'heartbeat';
    this.group = supportGroup({ address: options.listen.address, id: options.id }, options.groups ?? 1);
    this.peers = options.peers;
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
        const served = (): Map<string, number> => this.servedNumbers();
        return {
          get connections() {
            return announced();
          },
          // A received announcement needs only the keys and numbers: no state is built for it.
          get served() {
            return served();
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
          new TouchCore(
            createEndpoint(options.transport, {
              addresses: bound,
              listen: true,
              random: options.random,
              ...(options.port !== undefined ? { port: options.port } : {}),
              ...(options.rtoMin !== undefined ? { rtoMin: options.rtoMin } : {}),
              ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
              ...(options.plpmtud === true ? { plpmtud: true } : {}),
              ...(options.service?.messages !== undefined ? { messages: options.service.messages } : {}),
              groupAddresses: () => w.members.map((m) => m.address.address),
              heldByGroup: (client, clientPort, tag) => w.heldByGroup(client, clientPort, tag),
            }),
            (now) => w.timersDue(now),
          ),
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
    this.peers = peers;
    this.members = this.membersOf(peers);
    this.channel.setMembers(this.runtime.now(), this.members);
    this.channelAttachment.wake();
  }

  /** Stops everything: connections are left to the group (no bytes sent), sockets released. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queueTimer?.cancel();
    this.deadlineTimer?.cancel();
    this.sweepTimer?.cancel();

    for (const t of this.fallbacks) t.cancel();
    for (const s of this.sessions.values()) s.stop();
    await this.endpoint.close();
    await this.channelAttachment.close();
  }

  /**
   * A member is gone by another's word than the channel's (a registry lease expired, a member
   * deregistered): the same as the monitor's declare-dead. Call before removing it from the peers.
   */
  declareDead(member: string, by: DeathVerdict = 'registry'): void {
    if (this.closed || member === this.id) return;
    this.memberDead(this.runtime.now(), member, by);
  }

  /**
   * The pool as this wedge sees it (pool-handle lookups): itself first, then every other server of
   * the pool, with weight; load and health are known for its support group's members only (the
   * others announce to their own group: load undefined, alive unless this wedge declared them dead).
   */
  pool(): Array<{ id: string; address: string; weight: number; load: number | undefined; alive: boolean }> {
    const self = { id: this.id, address: this.options.listen.address, weight: this.weightOf(this.id), load: this.serving.size + this.pending.size, alive: true };
    const others = this.peers.filter((p) => p.id !== this.id && p.address !== this.options.listen.address);
    return [self, ...others.map((p) => ({ id: p.id, address: p.address, weight: this.weightOf(p.id), load: this.announcedLoad(p.id), alive: (this.channel.isAlive(p.id) ?? !this.declaredDead.has(p.id)) === true }))];
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

  /**
   * After client-facing input: pump the sessions it touched — new connections, the sessions of the
   * clients that sent datagrams, those whose connection timers were due — not every session, so the
   * work per input does not grow with the number of connections. A datagram from a source no
   * session is known under (a handshake, a client's new address) sweeps every session, at most
   * every SWEEP_MIN_MS; every update period a sweep catches anything the bookkeeping missed.
   */
  private endpointInput(now: Instant): void {
    this.inputs++;
    const core = this.endpoint.core;
    const ep = core.inner;
    const touched = new Set<ServedSession>();
    for (let c = ep.pollAccept(); c !== undefined; c = ep.pollAccept()) {
      const s = this.newSession({ conn: c });
      this.counters.connectionsAccepted++;
      this.serving.add(s.key);
      this.log('accepted', { connection: this.name(s) });
      touched.add(s);
    }
    let unknown = false;
    for (const source of core.sources) {
      const sessions = this.byRemote.get(source);
      if (sessions === undefined) unknown = true;
      else for (const s of sessions) touched.add(s);
    }
    core.sources.clear();
    for (const s of this.due) touched.add(s);
    this.due.clear();
    for (const s of touched) this.pumpSession(now, s);
    if (unknown) {
      if (now - this.lastSweep >= SWEEP_MIN_MS) this.sweep(now);
      else this.armSweep(this.lastSweep + SWEEP_MIN_MS);
    }
    if (this.sweepTimer === undefined) this.armSweep(now + (this.options.updateMs ?? 3000));
  }

  /** Pump one session (its transport's events, then feed it) and keep its index entries current. */
  private pumpSession(now: Instant, s: ServedSession, sweeping = false): void {
    if (this.sessions.get(s.key) !== s) return this.forget(s);
    if (sweeping) this.swept++;
    else this.pumps++;
    s.pump(now);
    this.connTimers.sent(s);
    this.index(s);
  }

  /** File the session under its connection's remote address (again, when it changed: a new path). */
  private index(s: ServedSession): void {
    const remote = addressKey(s.conn.remote);
    const was = this.remoteOf.get(s);
    if (was === remote) return;
    if (was !== undefined) this.byRemote.get(was)?.delete(s);
    let set = this.byRemote.get(remote);
    if (set === undefined) this.byRemote.set(remote, (set = new Set()));
    set.add(s);
    this.remoteOf.set(s, remote);
  }

  /** The session is gone: out of every index. */
  private forget(s: ServedSession): void {
    const remote = this.remoteOf.get(s);
    if (remote !== undefined) {
      const set = this.byRemote.get(remote);
      set?.delete(s);
      if (set?.size === 0) this.byRemote.delete(remote);
    }
    this.remoteOf.delete(s);
    this.connTimers.forget(s);
    this.due.delete(s);
  }

  /** Pump every session. */
  private sweep(now: Instant): void {
    this.lastSweep = now;
    this.sweeps++;
    for (const s of [...this.sessions.values()]) this.pumpSession(now, s, true);
  }

  private armSweep(at: Instant): void {
    if (this.closed || (this.sweepTimerAt !== undefined && this.sweepTimerAt <= at)) return;
    this.sweepTimer?.cancel();
    this.sweepTimerAt = at;
    this.sweepTimer = this.runtime.setTimer(at, () => {
      this.sweepTimer = undefined;
      this.sweepTimerAt = undefined;
      if (this.closed) return;
      this.sweep(this.runtime.now());
      this.endpoint.wake();
      this.armSweep(this.runtime.now() + (this.options.updateMs ?? 3000));
    });
  }

  /**
   * Before the endpoint runs its timers: re-read the deadlines that may have moved (their
   * transmits were drained since), and note the sessions whose deadline is due (pumped after).
   */
  private timersDue(now: Instant): void {
    for (const s of this.connTimers.due(now)) this.due.add(s);
  }

  private newSession(o: { conn: Session['conn']; taker?: boolean; resume?: StreamMapping; takeoverNumber?: number; prefetchFrom?: number }): ServedSession {
    const make = (so: SessionOptions): ServedSession => this.options.service?.session(so) ?? new Session(so);
    // The session's own calls into its connection may move its timer: re-read it before the next timeout input.
    let made: ServedSession | undefined;
    const s = make({
      conn: o.conn,
      factory: this.factory,
      backend: this.options.backend,
      ownerId: this.id,
      ...(o.taker ? { taker: true } : {}),
      ...(o.resume ? { resume: o.resume } : {}),
      ...(o.takeoverNumber !== undefined ? { takeoverNumber: o.takeoverNumber } : {}),
      ...(o.prefetchFrom !== undefined ? { prefetchFrom: o.prefetchFrom } : {}),
      ...(this.options.headTimeoutMs !== undefined ? { headTimeoutMs: this.options.headTimeoutMs } : {}),
      ...(this.options.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.options.idleTimeoutMs } : {}),
      hooks: {
        now: () => this.runtime.now(),
        wake: () => {
          if (made !== undefined) this.connTimers.sent(made);
          this.endpoint.wake();
        },
        mapping: (session, mapping) => this.mappingChanged(session, mapping),
        resumed: (session, receiver, now) => this.won(session, receiver, now),
        failed: (session, error) => this.resumeFailed(session, error),
        closed: (session, error) => this.sessionClosed(session, error),
        bytes: (n) => (this.counters.bytesToClients += n),
        setTimer: (at, fn) => this.runtime.setTimer(at, fn),
        stateChanged: (session, now) => {
          if (this.serving.has(session.key)) this.announce(now, session);
        },
        held: (session, now) => {
          if (this.serving.has(session.key)) this.announce(now, session);
        },
        prefetched: (session, bytes) => this.sendTakeover(session, bytes),
        deadline: (session, at) => {
          this.deadlines.push(at, session);
          this.armDeadlines();
        },
      },
    });
    made = s;
    this.sessions.set(s.key, s);
    this.connTimers.sent(s);
    this.index(s);
    return s;
  }

  private mappingChanged(session: ServedSession, mapping: StreamMapping): void {
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
  private announce(now: Instant, session: ServedSession): void {
    const state = session.state(now);
    this.channel.announceNow(now, [state]);
    if (this.liveMembers().length === 0) {
      session.confirmed(now, Session.clientEnd(state));
      session.exportConfirmed(now, state);
      this.connTimers.sent(session);
    }
    this.channelAttachment.wake();
  }

  /** An announcement was sealed: remember which of our states it carries until a member confirms it. */
  private sealed(sequence: number, connections: readonly TransportState[]): void {
    if (connections.length === 0) return;
    if (this.liveMembers().length === 0) {
      // No member alive to confirm it (as in announce()): nothing is held. A call's periodic state
      // moves its acknowledge limit only this way once its group is gone (voice-service.ts).
      const now = this.runtime.now();
      for (const state of connections) {
        const s = this.sessions.get(connectionKey(state.client));
        s?.confirmed(now, Session.clientEnd(state));
        s?.exportConfirmed(now, state);
      }
      this.endpoint.wake();
    }
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

  private won(session: ServedSession, receiver: ReceiverState, now: Instant): void {
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

  private resumeFailed(session: ServedSession, error: BatonError): void {
    this.counters.resumeFailed++;
    this.log('resume-failed', { connection: this.name(session), code: error.code });
  }

  private sessionClosed(session: ServedSession, error: BatonError | undefined): void {
    const now = this.runtime.now();
    this.sessions.delete(session.key);
    this.forget(session);
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

  /** announced() by key: each connection served and its takeover number. */
  private servedNumbers(): Map<string, number> {
    const out = new Map<string, number>();
    for (const key of this.serving) {
      const s = this.sessions.get(key);
      if (s !== undefined && !s.done) out.set(key, s.takeoverNumber);
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
        this.forget(s);
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
          this.connTimers.sent(session);
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
    // A second notice of a death not yet undone (a member that deregistered after the monitor's report) is no new death.
    if (!this.declaredDead.has(member)) this.counters.memberDeaths++;
    this.log('member-dead', { member, by });
    this.declaredDead.add(member);
    for (const sequence of [...this.exportHeld.keys()]) this.releaseExport(now, sequence);
    if (this.liveMembers().length === 0) this.releaseHolds(now);
    const entries = this.channel.table.ownedBy(member).filter((e) => !this.sessions.has(e.key));
    // Other live candidates: members of this group other than the dead one. None: do not pace.
    const competitors = this.channel.isAlive(member) === undefined ? [] : this.liveMembers().filter((id) => id !== member);
    const unpaced = competitors.length === 0;
    const policy = this.options.takeoverPolicy ?? 'backoff';
    if (policy === 'backoff' || unpaced) {
      this.queue.add(now, entries.map((e) => ({ key: e.key, state: e.state, from: member, by, noticedAt: now, unpaced, ...heard(e) })));
      this.armQueue();
      return;
    }
    // A pool policy: every candidate computes the same plan; the chosen one sends at once, the r-th after r fallbacks.
    const candidates = [this.id, ...competitors].map((id) => ({ id, weight: this.weightOf(id), load: this.announcedLoad(id) }));
    const plan = planTakeover({ policy, dead: member, candidates, connections: entries.map((e) => e.key) });
    const delays = takeoverDelays(plan, this.id, this.options.takeoverFallbackMs ?? this.channel.updateMs);
    this.log('takeover-plan', { member, policy, mine: [...delays.values()].filter((d) => d === 0).length, of: entries.length });
    for (const e of entries) {
      const job: TakeoverJob = { key: e.key, state: e.state, from: member, by, noticedAt: now, unpaced: true, ...heard(e) };
      const delay = delays.get(e.key) ?? 0;
      if (delay === 0) this.queue.add(now, [job]);
      else {
        const timer = this.runtime.setTimer(now + delay, () => {
          this.fallbacks.delete(timer);
          if (this.closed) return;
          // Taken by the plan's choice: its number is in the table, or its drop (the client closed since).
          const dropped = this.channel.table.droppedAt(e.key);
          if (dropped !== undefined && dropped >= e.state.takeoverNumber) return this.skip(connectionName(e.state.client), dropped, 'dropped');
          this.queue.add(this.runtime.now(), [job]);
          this.armQueue();
        });
        this.fallbacks.add(timer);
      }
    }
    this.armQueue();
  }

  /** A member's load (hosted + outstanding) as it last announced it; this wedge's own as it last announced it. */
  private announcedLoad(id: string): number | undefined {
    const l = this.channel.loadOf(id);
    return l === undefined ? undefined : l.hostedConnections + l.outstandingOffers;
  }

  private weightOf(id: string): number {
    return this.peers.find((p) => p.id === id)?.weight ?? (id === this.id ? (this.options.weight ?? 1) : 1);
  }

  private move(now: Instant, client: EndpointState): void {
    const entry = this.channel.table.all().find((e) => e.state.client.address === client.address && e.state.client.udpPort === client.udpPort && (client.port === 0 || e.state.client.port === client.port));
    if (entry === undefined || this.sessions.has(entry.key)) return;
    this.queue.add(now, [{ key: entry.key, state: entry.state, from: entry.state.ownerId, by: 'move', noticedAt: now, unpaced: true, ...heard(entry) }]);
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
      this.connTimers.sent(s);
    }
    this.endpoint.wake();
  }

  private liveMembers(): string[] {
    return this.members.map((m) => m.id).filter((id) => this.channel.isAlive(id) === true);
  }

  /** One runtime timer for the earliest request deadline of any session. */
  private armDeadlines(): void {
    const h = this.deadlines;
    while (h.size > 0 && (h.peekItem()!.done || h.peekItem()!.requestDeadline !== h.peekTime())) h.pop();
    const at = h.peekTime();
    if (this.closed || at === this.deadlineTimerAt) return;
    this.deadlineTimer?.cancel();
    this.deadlineTimer = undefined;
    this.deadlineTimerAt = at;
    if (at === undefined) return;
    this.deadlineTimer = this.runtime.setTimer(at, () => {
      this.deadlineTimer = undefined;
      this.deadlineTimerAt = undefined;
      const now = this.runtime.now();
      const h2 = this.deadlines;
      for (let t = h2.peekTime(); t !== undefined && t <= now; t = h2.peekTime()) {
        const s = h2.peekItem()!;
        h2.pop();
        if (s.requestDeadline !== t) continue;
        s.timedOut(now);
        this.connTimers.sent(s);
      }
      this.endpoint.wake();
      this.armDeadlines();
    });
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
      conn = this.endpoint.core.inner.importState(now, state);
    } catch (error) {
      return this.skip(name, number, error instanceof BatonError ? error.code : 'import-failed');
    }
    this.pending.set(job.key, job);
    this.counters.takeoversStarted++;
    this.log('takeover-start', { connection: name, from: job.from, number, delayMs: Math.round(delayMs * 1000) / 1000 });
    const blind = this.options.blindResume !== false && state.stream !== undefined;
    const from = !blind ? undefined : job.receivedAt === undefined ? state.streamBytesAcked : blindStart({ state, receivedAt: job.receivedAt, ...(job.rate !== undefined ? { rate: job.rate } : {}), by: job.by, now, updateMs: this.channel.updateMs, span: blindSpan(state) });
    const session = this.newSession({ conn, taker: true, ...(state.stream ? { resume: state.stream } : {}), takeoverNumber: number, ...(from !== undefined ? { prefetchFrom: from } : {}) });
    // The takeover request goes when the prefetch has its first bytes (hooks.prefetched), at the latest after PREFETCH_WAIT_MS.
    if (!(session instanceof Session)) return this.sendTakeover(session, new Uint8Array(0)); // a service's session (a call): no prefetch
    session.startPrefetch(now);
    if (!this.requested.has(session)) this.runtime.setTimer(now + PREFETCH_WAIT_MS, () => session.reportPrefetch());
  }

  /** Send a taker's takeover request (number, resume mode) with the prefetched stream bytes (the blind resume). */
  private sendTakeover(session: ServedSession, bytes: Uint8Array): void {
    if (this.requested.has(session) || session.done || this.closed) return;
    this.requested.add(session);
    const now = this.runtime.now();
    try {
      const at = session instanceof Session ? session.prefetchAt : undefined;
      session.conn.takeover(now, session.takeoverNumber, this.options.resumeMode ?? DEFAULT_RESUME_MODE, bytes.length > 0 ? bytes : undefined, bytes.length > 0 ? at : undefined);
    } catch (error) {
      session.stop();
      this.sessions.delete(session.key);
      this.forget(session);
      this.pending.delete(session.key);
      this.skip(this.name(session), session.takeoverNumber, error instanceof BatonError ? error.code : 'takeover-failed');
      return;
    }
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

  private name(s: ServedSession): string {
    return connectionName(s.conn.exportState(this.runtime.now()).client);
  }

  private log(event: string, fields: Record<string, unknown>): void {
    this.options.log?.(event, fields);
  }
}
