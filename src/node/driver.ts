// The real-world driver: binds any DatagramCore to `node:dgram` sockets (one per local address)
// and one `setTimeout` timer, on a monotonic clock (performance.now(), in ms).
//
// The cycle mirrors the simulated network's: after input (a burst of datagrams, or the timer), the
// core's transmits are drained, its timer re-armed, the afterInput hook called so the app can poll
// events, and then transmits are drained and the timer re-armed once more. Datagrams that arrive in
// one burst are all fed to the core first; the cycle runs once, from setImmediate: that burst is
// the core's receive batch (transport-abstraction/runtime.ts), which ends at the cycle's drain.
//
// Nothing here throws into the event loop: a socket error, a failed send or an exception from the
// core or the hook is counted in `stats` and handed to the `errors` callback as a DriverError.
import './native-crc32c.js';
import dgram from 'node:dgram';
import { isIP, isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { UdpAddress } from '../transport-abstraction/address.js';
import { BatonError } from '../transport-abstraction/errors.js';
import type { AfterInput } from '../transport-abstraction/runtime.js';
import type { DatagramCore, Instant, Transmit } from '../transport-abstraction/transport.js';

export type DriverErrorCode =
  | 'BATON_ERR_DRIVER_BIND' // a socket could not be bound (only bind() rejects with this)
  | 'BATON_ERR_DRIVER_SOCKET' // a bound socket emitted 'error'
  | 'BATON_ERR_DRIVER_SEND' // a send failed for another reason than a full buffer
  | 'BATON_ERR_DRIVER_NO_SOCKET' // Transmit.source names an address no socket is bound to
  | 'BATON_ERR_DRIVER_CORE' // a core method threw
  | 'BATON_ERR_DRIVER_HOOK'; // the afterInput hook threw

export type DriverErrorWhere =
  | 'bind'
  | 'socket'
  | 'send'
  | 'handleDatagram'
  | 'handleTimeout'
  | 'pollTransmit'
  | 'pollTimeout'
  | 'afterInput';

export class DriverError extends BatonError {
  declare readonly code: DriverErrorCode;
  readonly where: DriverErrorWhere;
  constructor(code: DriverErrorCode, where: DriverErrorWhere, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
    this.where = where;
  }
}

export interface UdpDriverOptions {
  /** Called after each input batch (and after wake-ups by the timer) so the app can poll events. */
  readonly afterInput?: AfterInput;
  /** Every counted error, as it happens. Exceptions thrown by this callback are swallowed. */
  readonly errors?: (error: DriverError) => void;
  /** Monotonic clock in ms; default performance.now(). */
  readonly clock?: () => Instant;
  /** SO_RCVBUF / SO_SNDBUF to ask for (the kernel may cap them); default 4 MiB each. */
  readonly receiveBufferSize?: number;
  readonly sendBufferSize?: number;
  /**
   * Datagrams allowed to wait in libuv's send queue of one socket; beyond this a transmit is
   * dropped and counted as `sendDropped`, as if the kernel buffer were full. Default 2048.
   */
  readonly maxSendQueue?: number;
  /** Transmits drained per cycle before yielding to I/O (setImmediate); default 1024. */
  readonly drainBatch?: number;
}

export interface DriverStats {
  datagramsReceived: number;
  bytesReceived: number;
  datagramsSent: number;
  bytesSent: number;
  /** Dropped because the socket's buffer or send queue was full (EAGAIN, ENOBUFS, maxSendQueue). */
  sendDropped: number;
  sendErrors: number;
  noSocket: number;
  socketErrors: number;
  coreErrors: number;
  hookErrors: number;
  /** Times the timer fired (including early fires that only re-armed it). */
  timerFires: number;
  /** Input/timer/wake cycles run. */
  cycles: number;
}

interface Bound {
  readonly socket: dgram.Socket;
  readonly local: UdpAddress;
  readonly onSent: (error: Error | null) => void;
}

const TIMEOUT_MAX = 2 ** 31 - 1;
const FULL_BUFFER = new Set(['EAGAIN', 'EWOULDBLOCK', 'ENOBUFS']);

/**
 * Every address we send to is an IP literal: hand it straight to the socket (no DNS, no extra
 * tick). libuv rejects anything that is not a literal of the socket's family with EINVAL, which
 * reaches the send callback and is counted.
 */
function literalLookup(
  address: string,
  _family: unknown,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  callback(null, address, 0);
}

export class UdpDriver {
  readonly core: DatagramCore;
  readonly stats: DriverStats = {
    datagramsReceived: 0,
    bytesReceived: 0,
    datagramsSent: 0,
    bytesSent: 0,
    sendDropped: 0,
    sendErrors: 0,
    noSocket: 0,
    socketErrors: 0,
    coreErrors: 0,
    hookErrors: 0,
    timerFires: 0,
    cycles: 0,
  };
  /** The app's hook; may be set or replaced after bind(). */
  afterInput: AfterInput | undefined;
  /** The error callback; may be set or replaced after bind(). */
  errors: ((error: DriverError) => void) | undefined;

  private readonly bound: Bound[] = [];
  private readonly clock: () => Instant;
  private readonly maxSendQueue: number;
  private readonly drainBatch: number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: Instant | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  private cycling = false;
  private cycleAgain = false;

  private constructor(core: DatagramCore, options: UdpDriverOptions) {
    this.core = core;
    this.afterInput = options.afterInput;
    this.errors = options.errors;
    this.clock = options.clock ?? (() => performance.now());
    this.maxSendQueue = options.maxSendQueue ?? 2048;
    this.drainBatch = options.drainBatch ?? 1024;
  }

  /**
   * Bind one UDP socket per local address (port 0 picks a free port) and start driving `core`.
   * Rejects with DriverError BATON_ERR_DRIVER_BIND, after closing what it had bound, if any fails.
   */
  static async bind(core: DatagramCore, locals: readonly UdpAddress[], options: UdpDriverOptions = {}): Promise<UdpDriver> {
    if (locals.length === 0) throw new DriverError('BATON_ERR_DRIVER_BIND', 'bind', 'UdpDriver.bind needs at least one local address');
    const driver = new UdpDriver(core, options);
    try {
      for (const local of locals) await driver.open(local, options);
    } catch (error) {
      await driver.close();
      if (error instanceof DriverError) throw error;
      throw new DriverError('BATON_ERR_DRIVER_BIND', 'bind', `bind failed: ${(error as Error).message}`, error);
    }
    // The core may have armed a timer or queued datagrams before it was bound.
    driver.wake();
    return driver;
  }

  /** The bound local addresses, with the real ports, in the order given to bind(). */
  get addresses(): UdpAddress[] {
    return this.bound.map((b) => b.local);
  }

  /** The driver's clock, for the app's calls into the core (send, close, takeover). */
  now(): Instant {
    return this.clock();
  }

  /** When the armed timer will fire (driver clock), or undefined when none is armed. */
  get timerDeadline(): Instant | undefined {
    return this.timerAt;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Drain transmits and re-arm the timer now, after the app called into the core. */
  wake(): void {
    if (this.closed) return;
    if (this.cycling) {
      this.cycleAgain = true;
      return;
    }
    this.cycling = true;
    try {
      do {
        this.cycleAgain = false;
        this.drain(this.clock());
      } while (this.cycleAgain && !this.closed);
      this.rearm(this.clock());
    } finally {
      this.cycling = false;
    }
  }

  /** Stop the timer and close every socket. Safe to call more than once. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.timerAt = undefined;
    this.immediate = undefined;
    const sockets = this.bound.map((b) => b.socket);
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            try {
              socket.close(() => resolve());
            } catch {
              resolve(); // already closed
            }
          }),
      ),
    );
  }

  // ---- sockets ----

  private async open(local: UdpAddress, options: UdpDriverOptions): Promise<void> {
    if (isIP(local.address) === 0) {
      throw new DriverError('BATON_ERR_DRIVER_BIND', 'bind', `not an IP address: "${local.address}"`);
    }
    const v6 = isIPv6(local.address);
    const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, lookup: literalLookup as never });
    // Before 'listening', an 'error' is a bind failure; afterwards it is counted.
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        try {
          socket.close();
        } catch {
          // not open
        }
        reject(new DriverError('BATON_ERR_DRIVER_BIND', 'bind', `cannot bind ${local.address}:${local.port}: ${error.message}`, error));
      };
      socket.once('error', onError);
      socket.bind({ address: local.address, port: local.port, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    socket.on('error', (error) => this.fail('BATON_ERR_DRIVER_SOCKET', 'socket', `socket ${local.address}: ${error.message}`, error));
    trySetBufferSizes(socket, options.receiveBufferSize ?? 4 << 20, options.sendBufferSize ?? 4 << 20);
    const address = socket.address();
    const bound: Bound = {
      socket,
      local: { address: address.address, port: address.port },
      onSent: (error) => {
        if (error !== null) this.sendFailed(error);
      },
    };
    this.bound.push(bound);
    socket.on('message', (msg, rinfo) => this.receive(bound, msg, rinfo));
  }

  private receive(b: Bound, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    this.stats.datagramsReceived++;
    this.stats.bytesReceived += msg.length;
    try {
      // rinfo has address and port: it is a UdpAddress (plus family and size). The core gets a
      // plain Uint8Array view of the same memory: its subarray views (user data, HMAC regions) are
      // then TypedArray's, not Buffer#subarray's slower FastBuffers (a few % of a receiver's CPU).
      this.core.handleDatagram(this.clock(), rinfo, new Uint8Array(msg.buffer, msg.byteOffset, msg.length), b.local);
    } catch (error) {
      this.fail('BATON_ERR_DRIVER_CORE', 'handleDatagram', 'core.handleDatagram threw', error);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.immediate === undefined && !this.closed) this.immediate = setImmediate(this.onImmediate);
  }

  private readonly onImmediate = (): void => {
    this.immediate = undefined;
    this.cycle();
  };

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = undefined;
    if (this.closed) return;
    this.stats.timerFires++;
    const now = this.clock();
    const deadline = this.deadline();
    if (deadline === undefined) return;
    if (deadline > now) {
      // Fired early (ms rounding) or the deadline moved later since we armed: just re-arm.
      this.rearm(now);
      return;
    }
    try {
      this.core.handleTimeout(now);
    } catch (error) {
      this.fail('BATON_ERR_DRIVER_CORE', 'handleTimeout', 'core.handleTimeout threw', error);
    }
    this.cycle();
  };

  /** transmits, timer, hook, transmits, timer (the sim's order). */
  private cycle(): void {
    if (this.closed) return;
    this.stats.cycles++;
    this.wake();
    const hook = this.afterInput;
    if (hook !== undefined && !this.closed) {
      try {
        hook(this.clock());
      } catch (error) {
        this.fail('BATON_ERR_DRIVER_HOOK', 'afterInput', 'afterInput hook threw', error);
      }
      this.wake();
    }
  }

  private drain(now: Instant): void {
    const core = this.core;
    for (let i = 0; i < this.drainBatch; i++) {
      let tx: Transmit | undefined;
      try {
        tx = core.pollTransmit(now);
      } catch (error) {
        this.fail('BATON_ERR_DRIVER_CORE', 'pollTransmit', 'core.pollTransmit threw', error);
        return;
      }
      if (tx === undefined) return;
      this.send(tx);
    }
    // More to send: let received datagrams (acks) in first, then continue.
    this.schedule();
  }

  private send(tx: Transmit): void {
    const b = this.socketFor(tx.source);
    if (b === undefined) {
      this.stats.noSocket++;
      const s = tx.source!;
      this.fail('BATON_ERR_DRIVER_NO_SOCKET', 'send', `no socket bound to ${s.address}:${s.port}`);
      return;
    }
    const socket = b.socket;
    if (socket.getSendQueueCount() >= this.maxSendQueue) {
      this.stats.sendDropped++;
      return;
    }
    try {
      socket.send(tx.payload, tx.destination.port, tx.destination.address, b.onSent);
    } catch (error) {
      // Synchronous validation failures (bad port, socket closed).
      this.stats.sendErrors++;
      this.fail('BATON_ERR_DRIVER_SEND', 'send', `send to ${tx.destination.address}:${tx.destination.port} failed`, error);
      return;
    }
    this.stats.datagramsSent++;
    this.stats.bytesSent += tx.payload.length;
  }

  private sendFailed(error: Error): void {
    const code = (error as NodeJS.ErrnoException).code;
    this.stats.datagramsSent--;
    if (code !== undefined && FULL_BUFFER.has(code)) {
      this.stats.sendDropped++;
      return;
    }
    this.stats.sendErrors++;
    this.fail('BATON_ERR_DRIVER_SEND', 'send', `send failed: ${error.message}`, error);
  }

  private socketFor(source: UdpAddress | undefined): Bound | undefined {
    const bound = this.bound;
    if (source === undefined) return bound[0];
    for (let i = 0; i < bound.length; i++) {
      const l = bound[i]!.local;
      if (l.port === source.port && l.address === source.address) return bound[i];
    }
    // A core configured with the pre-bind address (port 0) still means that IP's socket.
    for (let i = 0; i < bound.length; i++) if (bound[i]!.local.address === source.address) return bound[i];
    return undefined;
  }

  /** The core's next deadline; undefined when none is armed, it is not finite, or the core threw. */
  private deadline(): Instant | undefined {
    try {
      const deadline = this.core.pollTimeout();
      return deadline !== undefined && Number.isFinite(deadline) ? deadline : undefined;
    } catch (error) {
      this.fail('BATON_ERR_DRIVER_CORE', 'pollTimeout', 'core.pollTimeout threw', error);
      return undefined;
    }
  }

  private rearm(now: Instant): void {
    if (this.closed) return;
    const deadline = this.deadline();
    if (deadline === undefined) {
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.timerAt = undefined;
      }
      return;
    }
    // An armed timer that fires no later than needed is kept: on firing it re-checks the deadline.
    // This avoids clearing and re-creating a timer on every ack that pushes the RTO later.
    if (this.timerAt !== undefined && this.timerAt <= deadline) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    // setTimeout takes at most 2^31-1 ms; a later deadline fires early and re-arms.
    const delay = Math.min(TIMEOUT_MAX, Math.max(1, Math.ceil(deadline - now)));
    this.timerAt = now + delay;
    this.timer = setTimeout(this.onTimer, delay);
  }

  private fail(code: DriverErrorCode, where: DriverErrorWhere, message: string, cause?: unknown): void {
    if (code === 'BATON_ERR_DRIVER_CORE') this.stats.coreErrors++;
    else if (code === 'BATON_ERR_DRIVER_HOOK') this.stats.hookErrors++;
    else if (code === 'BATON_ERR_DRIVER_SOCKET') this.stats.socketErrors++;
    const listener = this.errors;
    if (listener === undefined) return;
    const detail = cause instanceof Error ? `: ${cause.message}` : cause === undefined ? '' : `: ${String(cause)}`;
    try {
      listener(new DriverError(code, where, message + detail, cause));
    } catch {
      // The app's error callback must not take the driver down either.
    }
  }
}

function trySetBufferSizes(socket: dgram.Socket, receive: number, send: number): void {
  try {
    socket.setRecvBufferSize(receive);
  } catch {
    // capped or refused by the kernel: keep its default
  }
  try {
    socket.setSendBufferSize(send);
  } catch {
    // same
  }
}
