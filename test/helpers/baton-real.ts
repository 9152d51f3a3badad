// baton on real UDP sockets, in the test process, for interop tests: an endpoint bound with the
// UdpDriver, and connections whose received bytes, events and sends the test can await.
// Only the transport contract is used (createEndpoint, connect/pollAccept, send/pollEvent/close).
import { createHash } from 'node:crypto';
import type { UdpAddress } from '../../src/transport-abstraction/address.js';
import { UdpDriver, type DriverError } from '../../src/node/driver.js';
import type { MigratableTransport, ReceiverState, TransportEndpoint, TransportEvent, TransportKind } from '../../src/transport-abstraction/transport.js';
import type { TransportState } from '../../src/transport-abstraction/state-types.js';
import { createEndpoint } from '../../src/transports.js';
import { freeUdpPort } from './ports.js';

interface Waiter {
  readonly check: () => boolean;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
  readonly what: () => string;
}

export class RealConnection {
  readonly transport: MigratableTransport;
  /** Every event type seen, in order (data events folded into one entry per burst). */
  readonly log: string[] = [];
  private chunks: Buffer[] = [];
  receivedBytes = 0;
  connected = false;
  /** Set by a 'takeover-complete' event (taker side). */
  takeoverReceiver: ReceiverState | undefined;
  ended = false;
  closed = false;
  closeError: TransportEvent & { type: 'closed' } | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** An echo peer: what arrives is sent back. */
  echo = false;

  constructor(transport: MigratableTransport, private readonly owner: RealEndpoint) {
    this.transport = transport;
  }

  get received(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  receivedHash(): string {
    return createHash('sha256').update(this.received).digest('hex');
  }

  /** Queue bytes; they go out as the send buffer frees (backpressure handled here). */
  send(bytes: Uint8Array): void {
    this.pending.push(Buffer.from(bytes));
    this.pendingBytes += bytes.length;
    this.owner.kick();
  }

  /** Bytes given to send() that the transport has not accepted yet. */
  get unsent(): number {
    return this.pendingBytes;
  }

  /** Graceful close once everything queued here was accepted by the transport. */
  close(): void {
    this.closeRequested = true;
    this.owner.kick();
  }

  private closeRequested = false;
  private closeIssued = false;

  abort(reason?: string): void {
    this.transport.abort(this.owner.driver.now(), reason);
    this.owner.kick();
  }

  /** @internal one service pass from the driver hook */
  service(now: number): void {
    let sawData = false;
    for (let e = this.transport.pollEvent(); e !== undefined; e = this.transport.pollEvent()) {
      if (e.type === 'data') {
        const b = Buffer.from(e.bytes);
        this.chunks.push(b);
        this.receivedBytes += b.length;
        if (this.echo) {
          this.pending.push(b);
          this.pendingBytes += b.length;
        }
        if (!sawData) this.log.push('data');
        sawData = true;
        continue;
      }
      sawData = false;
      this.log.push(e.type === 'closed' && e.error ? `closed:${e.error.code}` : e.type);
      if (e.type === 'connected') this.connected = true;
      else if (e.type === 'takeover-complete') {
        this.takeoverReceiver = e.receiver;
        this.connected = true;
      }
      else if (e.type === 'end') this.ended = true;
      else if (e.type === 'closed') {
        this.closed = true;
        this.closeError = e;
      }
    }
    if (this.closed) return;
    while (this.pending.length > 0 && (this.connected || this.transport.stateName === 'ESTABLISHED')) {
      const head = this.pending[0]!;
      let n: number;
      try {
        n = this.transport.send(head);
      } catch {
        break; // closing: nothing more can go
      }
      this.pendingBytes -= n;
      if (n < head.length) {
        this.pending[0] = head.subarray(n);
        break;
      }
      this.pending.shift();
    }
    if (this.closeRequested && !this.closeIssued && this.pending.length === 0) {
      this.closeIssued = true;
      this.transport.close(now);
    }
  }

  /** Resolves when `check()` holds after some input; rejects after timeoutMs with the log. */
  until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return this.owner.until(check, timeoutMs, () => `${what} [events: ${this.log.join(',')}; received ${this.receivedBytes} B; state ${this.transport.stateName}]`);
  }

  waitConnected(timeoutMs = 10_000): Promise<void> {
    return this.until(() => this.connected || this.closed, timeoutMs, 'connected').then(() => {
      if (!this.connected) throw new Error(`association failed: ${this.log.join(',')} ${this.closeError?.error?.message ?? ''}`);
    });
  }

  waitBytes(n: number, timeoutMs = 20_000): Promise<void> {
    return this.until(() => this.receivedBytes >= n || this.closed, timeoutMs, `${n} bytes`).then(() => {
      if (this.receivedBytes < n) throw new Error(`closed after ${this.receivedBytes} of ${n} bytes: ${this.log.join(',')}`);
    });
  }

  waitClosed(timeoutMs = 20_000): Promise<void> {
    return this.until(() => this.closed, timeoutMs, 'closed');
  }

  waitEnded(timeoutMs = 20_000): Promise<void> {
    return this.until(() => this.ended || this.closed, timeoutMs, 'end');
  }
}

export interface RealEndpointOptions {
  readonly kind?: TransportKind;
  /** UDP address to bind (127.0.0.x; port 0 is replaced by a free port before the endpoint is built). */
  readonly local: UdpAddress;
  /** Transport port inside UDP (SCTP port); default the UDP port. */
  readonly transportPort?: number;
  readonly listen?: boolean;
  readonly mtu?: number;
  readonly rtoMin?: number;
  readonly t?: { teardown(fn: () => void | Promise<void>): void };
}

export class RealEndpoint {
  readonly endpoint: TransportEndpoint;
  driver!: UdpDriver;
  readonly connections: RealConnection[] = [];
  readonly driverErrors: DriverError[] = [];
  private waiters: Waiter[] = [];
  /** Accepted connections are echo peers. */
  echoAccepted = false;
  private acceptQueue: RealConnection[] = [];

  private constructor(endpoint: TransportEndpoint) {
    this.endpoint = endpoint;
  }

  static async open(options: RealEndpointOptions): Promise<RealEndpoint> {
    if (!/^127\./.test(options.local.address)) throw new Error('interop tests bind 127.0.0.0/8 only');
    // The endpoint must know its real UDP port (it is also the default transport port).
    const local = options.local.port === 0 ? { address: options.local.address, port: await freeUdpPort(options.local.address) } : options.local;
    const endpoint = createEndpoint(options.kind ?? 'sctp', {
      addresses: [local],
      port: options.transportPort ?? local.port,
      listen: options.listen ?? false,
      mtu: options.mtu ?? 1500,
      ...(options.rtoMin !== undefined ? { rtoMin: options.rtoMin } : {}),
    });
    const real = new RealEndpoint(endpoint);
    real.driver = await UdpDriver.bind(endpoint, [local], {
      afterInput: (now) => real.service(now),
      errors: (e) => real.driverErrors.push(e),
    });
    options.t?.teardown(() => real.close());
    return real;
  }

  get address(): UdpAddress {
    return this.driver.addresses[0]!;
  }

  connect(remote: UdpAddress, remoteTransportPort: number): RealConnection {
    const c = new RealConnection(this.endpoint.connect(this.driver.now(), remote, { remotePort: remoteTransportPort }), this);
    this.connections.push(c);
    this.kick();
    return c;
  }

  /**
   * Connect and wait until established; if the peer refuses (ABORT: a program that binds its UDP
   * socket before it listens, like usrsctp's servers, may not be listening yet) try again after
   * `retryMs`, up to `attempts` times.
   */
  async connectEstablished(remote: UdpAddress, remoteTransportPort: number, attempts = 5, retryMs = 300): Promise<RealConnection> {
    let last: RealConnection | undefined;
    for (let i = 0; i < attempts; i++) {
      last = this.connect(remote, remoteTransportPort);
      await last.until(() => last!.connected || last!.closed, 15_000, 'connected');
      if (last.connected) return last;
      await new Promise((r) => setTimeout(r, retryMs));
    }
    throw new Error(`association to ${remote.address}:${remote.port} refused ${attempts} times: ${last!.log.join(',')} ${last!.closeError?.error?.message ?? ''}`);
  }

  /** A preloaded connection from another server's exported state; call transport.takeover() next. */
  importState(state: TransportState): RealConnection {
    const c = new RealConnection(this.endpoint.importState(this.driver.now(), state), this);
    this.connections.push(c);
    return c;
  }

  /** The next connection the peer opened. */
  async accept(timeoutMs = 10_000): Promise<RealConnection> {
    await this.until(() => this.acceptQueue.length > 0, timeoutMs, 'an incoming association');
    return this.acceptQueue.shift()!;
  }

  /** Run the service pass now (after the test called into a connection). */
  kick(): void {
    this.service(this.driver.now());
    this.driver.wake();
  }

  async close(): Promise<void> {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error(`endpoint closed while waiting for ${w.what()}`));
    }
    this.waiters = [];
    await this.driver?.close();
  }

  /** `what` describes the wait in the timeout error; a function is evaluated at the timeout. */
  until(check: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        const dropped = [...this.endpoint.dropped].map(([k, v]) => `${k}=${v}`).join(' ');
        const described = typeof what === 'function' ? what() : what;
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${described}; endpoint dropped: ${dropped || 'none'}; driver errors: ${this.driverErrors.map((e) => e.message).join(' | ') || 'none'}`));
      }, timeoutMs);
      this.waiters.push({ check, resolve, reject, timer, what: typeof what === 'function' ? what : () => what });
    });
  }

  private service(now: number): void {
    for (let a = this.endpoint.pollAccept(); a !== undefined; a = this.endpoint.pollAccept()) {
      const c = new RealConnection(a, this);
      c.echo = this.echoAccepted;
      this.connections.push(c);
      this.acceptQueue.push(c);
    }
    for (const c of this.connections) c.service(now);
    for (const w of [...this.waiters]) {
      if (w.check()) {
        clearTimeout(w.timer);
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  }
}
