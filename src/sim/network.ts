// A deterministic simulated network that drives DatagramCores the way the real driver does, on a
// virtual clock: datagrams are delivered through handleDatagram(now, from, bytes, local), expired
// timers through handleTimeout(now), and after every input the core's transmits are drained, its
// single timer re-armed and the optional afterInput hook called (then drained again, in case the
// hook queued data). Links are DummyNet-like pipes (see link.ts). Randomness is seeded: one stream
// per link direction and a separate one for `net.random`, so a core's use of randomness never
// changes which packets a link drops.
import { addressKey, type UdpAddress } from '../transport-abstraction/address.js';
import { BatonError, LocalUsageError } from '../transport-abstraction/errors.js';
import { SeededRandom } from '../transport-abstraction/random.js';
import type { DatagramCore, Transmit } from '../transport-abstraction/transport.js';
import { SimBinding, type AfterInput } from './binding.js';
import { EventQueue } from './event-queue.js';
import { DEFAULT_REORDER_DELAY_MS, type DirectedLinkConfig, type LinkConfig, type PipeStats } from './link.js';
import { deriveSeed, PayloadCopier } from './support.js';
import { Topology, type Host } from './topology.js';
import { SimCoreError, type DropReason, type SimError, type SimStats, type TraceEvent, type TraceListener } from './trace.js';

export type { LinkConfig, DirectedLinkConfig, PipeStats } from './link.js';
export { SimBinding, type AfterInput } from './binding.js';
export { deriveSeed } from './support.js';
export { SimCoreError, type DropReason, type SimError, type SimStats, type TraceEvent, type TraceListener } from './trace.js';

export interface SimNetworkOptions {
  /** Seed for every random choice of the network; default 1. */
  readonly seed?: number;
  /** Link used between hosts (and within a host) that have no explicit link; default 0.5 ms delay, no limit. */
  readonly defaultLink?: LinkConfig;
  /** Hand datagrams that reach one core at the same virtual instant over as one receive batch (see receiveBatches). */
  readonly receiveBatches?: boolean;
}

interface Packet {
  readonly from: UdpAddress;
  readonly to: UdpAddress;
  readonly payload: Uint8Array;
  readonly src: Host;
  readonly dst: Host;
  readonly duplicate: boolean;
  readonly reordered: boolean;
}

const DELIVER = 0;
const TIMER = 1;
const CALL = 2;

interface SimEvent {
  time: number;
  seq: number;
  kind: number;
  packet: Packet | undefined;
  binding: SimBinding | undefined;
  generation: number;
  fn: (() => void) | undefined;
}

const TIMER_LOOP_LIMIT = 100_000;
const DRAIN_LIMIT = 10_000_000;

export class SimNetwork {
  /** Everything cores, hooks and scheduled callbacks threw; run() rethrows new ones at its end. */
  readonly errors: SimError[] = [];
  readonly stats: SimStats = {
    sent: 0,
    delivered: 0,
    dropped: { queue: 0, loss: 0, partition: 0, unreachable: 0, killed: 0, 'bad-source': 0, 'too-big': 0 },
    events: 0,
  };
  /** A random stream for cores' RandomSource, independent of the links' streams. */
  readonly random: SeededRandom;
  readonly seed: number;

  /**
   * Receive batches, as the UDP driver hands over what one event-loop turn read: datagrams that
   * reach the same core at the same virtual instant are all fed to it (handleDatagram) before it is
   * drained once (transport-abstraction/runtime.ts: a batch ends at the next pollTransmit). Off by
   * default: each datagram is then a batch of its own.
   */
  receiveBatches: boolean;

  private clock = 0;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly topology: Topology;
  private readonly hosts: Map<string, Host>;
  private readonly hostByIp: Map<string, Host>;
  private readonly blocked: Map<Host, Set<Host>>;
  /** ip -> port -> binding */
  private readonly bound = new Map<string, Map<number, SimBinding>>();
  private readonly bindingOf = new Map<DatagramCore, SimBinding>();
  private readonly copier = new PayloadCopier();
  private readonly listeners: TraceListener[] = [];
  private readonly errorListeners: Array<(error: SimError) => void> = [];
  private running = false;
  /** errors[0, reported) have been thrown already. */
  private reported = 0;

  constructor(options: SimNetworkOptions = {}) {
    this.seed = options.seed ?? 1;
    this.receiveBatches = options.receiveBatches ?? false;
    this.random = new SeededRandom(deriveSeed(this.seed, 'random'));
    this.topology = new Topology(this.seed, options.defaultLink ?? { delayMs: 0.5 });
    this.hosts = this.topology.hosts;
    this.hostByIp = this.topology.hostByIp;
    this.blocked = this.topology.blocked;
  }

  /** Current virtual time in ms. */
  get now(): number {
    return this.clock;
  }

  /** Events waiting in the queue (including timers that were re-armed and are now stale). */
  get pendingEvents(): number {
    return this.queue.size;
  }

  /** A further independent random stream, e.g. one per core: stable whatever else draws randomness. */
  deriveRandom(label: string): SeededRandom {
    return new SeededRandom(deriveSeed(this.seed, `core:${label}`));
  }

  // ---- topology ----

  addHost(name: string, ips: readonly string[]): void {
    this.topology.addHost(name, ips);
  }

  /** Give a host one more IP address. */
  addAddress(hostName: string, ip: string): void {
    this.topology.addAddress(hostName, ip);
  }

  /**
   * Link two ends, each a host name or one IP address of a host (an address-level link takes
   * precedence over a host-level one, for multihoming tests). Calling it again reconfigures the
   * link; packets already in it keep their times.
   */
  link(a: string, b: string, spec: LinkConfig | DirectedLinkConfig): void {
    this.topology.link(a, b, spec);
  }

  /** Counters of the link direction from `a` to `b` (as named in link(); host names for default links). */
  linkStats(a: string, b: string): PipeStats | undefined {
    return this.topology.pipeByName(a, b)?.stats;
  }

  /** Bytes waiting for the bottleneck of the link direction from `a` to `b` now. */
  queuedBytes(a: string, b: string): number {
    return this.topology.pipeByName(a, b)?.queuedBytes(this.clock) ?? 0;
  }

  // ---- cores ----

  /** Bind a core to addresses of one host. afterInput(now) runs after each input has been handled and drained. */
  attach(core: DatagramCore, addresses: readonly UdpAddress[], afterInput?: AfterInput): SimBinding {
    if (addresses.length === 0) throw new LocalUsageError('sim: attach needs at least one address');
    if (this.bindingOf.has(core)) throw new LocalUsageError('sim: this core is attached already');
    const host = this.hostByIp.get(addresses[0]!.address);
    if (host === undefined) throw new LocalUsageError(`sim: no host owns ${addresses[0]!.address}`);
    for (const a of addresses) {
      const owner = this.hostByIp.get(a.address);
      if (owner !== host) {
        throw new LocalUsageError(`sim: ${a.address} belongs to ${owner ? `host "${owner.name}"` : 'no host'}, not "${host.name}"`);
      }
      if (this.bound.get(a.address)?.has(a.port) === true) throw new LocalUsageError(`sim: ${addressKey(a)} is in use`);
    }
    const binding = new SimBinding(this, core, host.name, afterInput);
    for (const a of addresses) this.bindAddress(binding, a);
    host.bindings.add(binding);
    this.bindingOf.set(core, binding);
    if (host.alive) this.rearm(binding);
    this.settle();
    return binding;
  }

  /** @internal Used by SimBinding.addAddress and attach. */
  bindAddress(binding: SimBinding, address: UdpAddress): void {
    const host = this.hostByIp.get(address.address);
    if (host === undefined) throw new LocalUsageError(`sim: no host owns ${address.address}`);
    if (host.name !== binding.host) {
      throw new LocalUsageError(`sim: ${address.address} belongs to host "${host.name}", not "${binding.host}"`);
    }
    let ports = this.bound.get(address.address);
    if (ports === undefined) this.bound.set(address.address, (ports = new Map()));
    if (ports.has(address.port)) throw new LocalUsageError(`sim: ${addressKey(address)} is in use`);
    const copy: UdpAddress = Object.freeze({ address: address.address, port: address.port });
    ports.set(address.port, binding);
    binding.addresses.push(copy);
  }

  detach(binding: SimBinding): void {
    if (!binding.attached) return;
    binding.attached = false;
    binding.generation++;
    binding.timerAt = undefined;
    binding.deadline = undefined;
    for (const a of binding.addresses) this.bound.get(a.address)?.delete(a.port);
    this.hosts.get(binding.host)?.bindings.delete(binding);
    this.bindingOf.delete(binding.core);
  }

  /** Drain a core's transmits and re-arm its timer now, after the app called it from outside a hook. */
  wake(core: DatagramCore): void {
    const binding = this.bindingOf.get(core);
    if (binding === undefined) throw new LocalUsageError('sim: wake() of a core that is not attached');
    this.drain(binding);
    this.rearm(binding);
    this.settle();
  }

  // ---- faults ----

  /** The host's cores get no input; their transmits and timers are discarded until revive(). */
  kill(hostName: string): void {
    const host = this.host(hostName);
    host.alive = false;
    for (const b of host.bindings) {
      b.generation++;
      b.timerAt = undefined;
      b.deadline = undefined;
    }
  }

  /** The host's cores run again: pending transmits are sent, timers resume from the current time. */
  revive(hostName: string): void {
    const host = this.host(hostName);
    if (host.alive) return;
    host.alive = true;
    for (const b of host.bindings) {
      this.drain(b);
      this.rearm(b);
    }
    this.settle();
  }

  isAlive(hostName: string): boolean {
    return this.host(hostName).alive;
  }

  /** Drop every packet between a host of `groupA` and a host of `groupB` (both ways) until heal(). */
  partition(groupA: readonly string[], groupB: readonly string[]): void {
    this.topology.partition(groupA, groupB);
  }

  /** Remove every partition. */
  heal(): void {
    this.topology.heal();
  }

  private host(name: string): Host {
    return this.topology.host(name);
  }

  // ---- scripting and tracing ----

  /** Run fn at virtual time `atMs` (now, if that has passed). */
  schedule(atMs: number, fn: () => void): void {
    this.push(atMs < this.clock ? this.clock : atMs, CALL, undefined, undefined, 0, fn);
  }

  /** Run fn `delayMs` from now. */
  after(delayMs: number, fn: () => void): void {
    this.schedule(this.clock + delayMs, fn);
  }

  /** Report every send, deliver and drop. Returns a function that removes the listener. */
  onTrace(listener: TraceListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Hear every error as it is recorded (it is still kept in `errors` and rethrown at the end of the
   * run). Returns a function that removes the listener.
   */
  onError(listener: (error: SimError) => void): () => void {
    this.errorListeners.push(listener);
    return () => {
      const i = this.errorListeners.indexOf(listener);
      if (i >= 0) this.errorListeners.splice(i, 1);
    };
  }

  /** An unused UDP port on `ip` (from 49152 up), for attachments that ask for port 0. */
  freePort(ip: string): number {
    const ports = this.bound.get(ip);
    for (let port = 49152; port < 65536; port++) if (ports?.has(port) !== true) return port;
    throw new LocalUsageError(`sim: no free UDP port left on ${ip}`);
  }

  // ---- running ----

  /** Process events up to virtual time untilMs (then the clock reads untilMs), or until idle when untilMs is Infinity. */
  run(untilMs = Infinity): void {
    this.enter();
    try {
      const queue = this.queue;
      for (;;) {
        const next = queue.peek();
        if (next === undefined || next.time > untilMs) break;
        queue.pop();
        this.clock = next.time;
        this.dispatch(next);
      }
      if (untilMs !== Infinity && untilMs > this.clock) this.clock = untilMs;
    } finally {
      this.running = false;
    }
    this.rethrow();
  }

  /** Process events until `done()` is true (checked before and after every event) or limitMs passes. */
  runUntil(done: () => boolean, limitMs = Infinity): boolean {
    this.enter();
    let result = false;
    try {
      const queue = this.queue;
      result = done();
      while (!result) {
        const next = queue.peek();
        if (next === undefined || next.time > limitMs) break;
        queue.pop();
        this.clock = next.time;
        this.dispatch(next);
        result = done();
      }
      if (!result && limitMs !== Infinity && limitMs > this.clock) this.clock = limitMs;
    } finally {
      this.running = false;
    }
    this.rethrow();
    return result;
  }

  /**
   * Process the next event if one is due no later than `limitMs`; false when none is. For drivers
   * that hand control back to Node between events (SimRuntime#run).
   */
  step(limitMs = Infinity): boolean {
    this.enter();
    let stepped = false;
    try {
      const next = this.queue.peek();
      if (next !== undefined && next.time <= limitMs) {
        this.queue.pop();
        this.clock = next.time;
        this.dispatch(next);
        stepped = true;
      }
    } finally {
      this.running = false;
    }
    this.rethrow();
    return stepped;
  }

  private enter(): void {
    if (this.running) throw new LocalUsageError('sim: run() called from inside a run (a hook or scheduled callback)');
    this.running = true;
  }

  private rethrow(): void {
    if (this.errors.length > this.reported) {
      const fresh = this.errors.slice(this.reported);
      this.reported = this.errors.length;
      throw new SimCoreError(fresh);
    }
  }

  /** Outside a run, report what a core threw during attach()/wake()/revive() right away. */
  private settle(): void {
    if (!this.running) this.rethrow();
  }

  private dispatch(ev: SimEvent): void {
    this.stats.events++;
    switch (ev.kind) {
      case DELIVER:
        this.deliver(ev.packet!);
        break;
      case TIMER: {
        const b = ev.binding!;
        if (ev.generation !== b.generation) return; // re-armed earlier, detached or killed since
        b.timerAt = undefined;
        const now = this.clock;
        const deadline = b.deadline;
        if (deadline === undefined) return; // disarmed since
        if (deadline > now) {
          // The deadline moved later after this event was queued: wait for it.
          b.timerAt = deadline;
          this.push(deadline, TIMER, undefined, b, b.generation, undefined);
          return;
        }
        b.deadline = undefined;
        if (b.lastFire === now) {
          if (++b.sameTimeFires > TIMER_LOOP_LIMIT) {
            this.record('handleTimeout', new BatonError('BATON_ERR_SIM_TIMER_LOOP', `core's timer fired ${TIMER_LOOP_LIMIT} times at t=${now} ms without time advancing; disarmed`), b.core);
            b.generation++;
            return;
          }
        } else {
          b.lastFire = now;
          b.sameTimeFires = 0;
        }
        try {
          b.core.handleTimeout(now);
        } catch (error) {
          this.record('handleTimeout', error, b.core);
        }
        this.afterInput(b);
        break;
      }
      case CALL:
        try {
          ev.fn!();
        } catch (error) {
          this.record('schedule', error);
        }
        break;
    }
  }

  private deliver(p: Packet): void {
    const dst = p.dst;
    if (this.blocked.size !== 0 && this.blocked.get(p.src)?.has(dst) === true) return this.drop(p, 'partition');
    if (!dst.alive) return this.drop(p, 'killed');
    const b = this.bound.get(p.to.address)?.get(p.to.port);
    if (b === undefined) return this.drop(p, 'unreachable');
    this.handOver(b, p);
    if (this.receiveBatches) {
      // The rest of the batch: the next events, while they deliver to the same core now.
      for (let next = this.queue.peek(); next !== undefined && next.kind === DELIVER && next.time === this.clock && this.receiverOf(next.packet!) === b; next = this.queue.peek()) {
        this.queue.pop();
        this.stats.events++;
        this.handOver(b, next.packet!);
      }
    }
    this.afterInput(b);
  }

  /** The binding a packet would be delivered to now, undefined when it would be dropped. */
  private receiverOf(p: Packet): SimBinding | undefined {
    if (!p.dst.alive || (this.blocked.size !== 0 && this.blocked.get(p.src)?.has(p.dst) === true)) return undefined;
    return this.bound.get(p.to.address)?.get(p.to.port);
  }

  private handOver(b: SimBinding, p: Packet): void {
    this.stats.delivered++;
    if (this.listeners.length !== 0) {
      this.emit({ time: this.clock, kind: 'deliver', from: p.from, to: p.to, payload: p.payload, duplicate: p.duplicate, reordered: p.reordered });
    }
    try {
      b.core.handleDatagram(this.clock, p.from, p.payload, p.to);
    } catch (error) {
      this.record('handleDatagram', error, b.core);
    }
  }

  private afterInput(b: SimBinding): void {
    this.drain(b);
    this.rearm(b);
    const hook = b.afterInput;
    if (hook !== undefined) {
      try {
        hook(this.clock);
      } catch (error) {
        this.record('afterInput', error, b.core);
      }
      if (b.attached) {
        this.drain(b);
        this.rearm(b);
      }
    }
  }

  private drain(b: SimBinding): void {
    if (!b.attached) return;
    const core = b.core;
    const now = this.clock;
    for (let i = 0; i < DRAIN_LIMIT; i++) {
      let tx: Transmit | undefined;
      try {
        tx = core.pollTransmit(now);
      } catch (error) {
        this.record('pollTransmit', error, core);
        return;
      }
      if (tx === undefined) return;
      this.send(b, tx);
    }
    this.record('pollTransmit', new BatonError('BATON_ERR_SIM_DRAIN_LOOP', `pollTransmit returned ${DRAIN_LIMIT} datagrams at t=${now} ms without stopping`), core);
  }

  private rearm(b: SimBinding): void {
    if (!b.attached) return;
    const host = this.hosts.get(b.host)!;
    if (!host.alive) return;
    let deadline: number | undefined;
    try {
      deadline = b.core.pollTimeout();
    } catch (error) {
      this.record('pollTimeout', error, b.core);
      return;
    }
    if (deadline === undefined || !Number.isFinite(deadline)) {
      b.deadline = undefined; // a pending event, if any, finds no deadline and does nothing
      return;
    }
    const at = deadline < this.clock ? this.clock : deadline;
    b.deadline = at;
    // A pending event at or before the deadline will do: when it fires it re-queues itself for the
    // later deadline. So a core that pushes its timer back on every ack (an RTO) costs one queue
    // entry per period, not one per ack.
    if (b.timerAt !== undefined && b.timerAt <= at) return;
    b.timerAt = at;
    this.push(at, TIMER, undefined, b, ++b.generation, undefined);
  }

  private send(b: SimBinding, tx: Transmit): void {
    let from = b.addresses[0]!;
    const source = tx.source;
    if (source !== undefined && (source.address !== from.address || source.port !== from.port)) {
      const addrs = b.addresses;
      let found: UdpAddress | undefined;
      for (let i = 1; i < addrs.length; i++) {
        const a = addrs[i]!;
        if (a.address === source.address && a.port === source.port) {
          found = a;
          break;
        }
      }
      if (found === undefined) {
        this.stats.sent++;
        const p = this.packet(source, tx, this.hosts.get(b.host)!, undefined);
        this.traceSend(p);
        return this.drop(p, 'bad-source');
      }
      from = found;
    }
    const src = this.hostByIp.get(from.address)!;
    const dst = this.hostByIp.get(tx.destination.address);
    const p = this.packet(from, tx, src, dst);
    this.stats.sent++;
    this.traceSend(p);
    if (!src.alive) return this.drop(p, 'killed');
    if (dst === undefined) return this.drop(p, 'unreachable');
    if (this.blocked.size !== 0 && this.blocked.get(src)?.has(dst) === true) return this.drop(p, 'partition');
    const pipe = this.topology.pipeFor(from.address, src, p.to.address, dst);
    if (pipe.tooBig(p.payload.length, tx.mayFragment === true)) return this.drop(p, 'too-big');
    const exit = pipe.admit(this.clock, p.payload.length);
    if (typeof exit !== 'number') return this.drop(p, exit);
    const reorderDelay = pipe.config.reorderDelayMs ?? DEFAULT_REORDER_DELAY_MS;
    const first = pipe.reorderFirst ? { ...p, reordered: true } : p;
    this.push(pipe.reorderFirst ? exit + reorderDelay : exit, DELIVER, first, undefined, 0, undefined);
    if (pipe.duplicateCopy) {
      const copy: Packet = { ...p, payload: this.copier.copy(p.payload), duplicate: true, reordered: pipe.reorderSecond };
      this.push(pipe.reorderSecond ? exit + reorderDelay : exit, DELIVER, copy, undefined, 0, undefined);
    }
  }

  private packet(from: UdpAddress, tx: Transmit, src: Host, dst: Host | undefined): Packet {
    return {
      from,
      to: { address: tx.destination.address, port: tx.destination.port },
      payload: this.copier.copy(tx.payload), // a real socket copies too: the core may reuse its buffer
      src,
      dst: dst ?? src,
      duplicate: false,
      reordered: false,
    };
  }

  private traceSend(p: Packet): void {
    if (this.listeners.length !== 0) this.emit({ time: this.clock, kind: 'send', from: p.from, to: p.to, payload: p.payload });
  }

  private drop(p: Packet, reason: DropReason): void {
    this.stats.dropped[reason]++;
    if (this.listeners.length !== 0) {
      const e: TraceEvent = p.duplicate || p.reordered
        ? { time: this.clock, kind: 'drop', reason, from: p.from, to: p.to, payload: p.payload, duplicate: p.duplicate, reordered: p.reordered }
        : { time: this.clock, kind: 'drop', reason, from: p.from, to: p.to, payload: p.payload };
      this.emit(e);
    }
  }

  private emit(e: TraceEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(e);
      } catch (error) {
        this.record('trace', error);
      }
    }
  }

  private record(where: SimError['where'], error: unknown, core?: DatagramCore): void {
    const entry: SimError = core === undefined ? { time: this.clock, where, error } : { time: this.clock, where, error, core };
    this.errors.push(entry);
    for (const listener of this.errorListeners) {
      try {
        listener(entry);
      } catch {
        // a listener's own fault must not hide the error it was told about
      }
    }
  }

  private push(time: number, kind: number, packet: Packet | undefined, binding: SimBinding | undefined, generation: number, fn: (() => void) | undefined): void {
    this.queue.push({ time, seq: 0, kind, packet, binding, generation, fn });
  }
}
