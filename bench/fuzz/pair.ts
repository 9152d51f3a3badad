// Two transport endpoints wired back to back on a virtual clock (no simulator: the fuzzer calls
// them millions of times), a client connection and the server's accepted one. run() delivers every
// transmit at once and jumps to the next timeout; check() asks whether the pair still carries
// data byte-exact.
import type { UdpAddress } from '../../src/transport-abstraction/address.js';
import { SeededRandom } from '../../src/transport-abstraction/random.js';
import type { MigratableTransport, TransportEndpoint, TransportKind } from '../../src/transport-abstraction/transport.js';
import { createEndpoint } from '../../src/transports.js';

export const CLIENT: UdpAddress = { address: '10.0.0.1', port: 9000 };
export const SERVER: UdpAddress = { address: '10.0.0.2', port: 9000 };

export class Pair {
  readonly client: TransportEndpoint;
  readonly server: TransportEndpoint;
  now = 0;
  conn!: MigratableTransport;
  accepted: MigratableTransport | undefined;
  /** Every datagram delivered so far (the fuzz corpus is taken from it). */
  readonly recorded: Array<{ readonly to: 'client' | 'server'; readonly bytes: Uint8Array }> = [];
  received: Uint8Array[] = [];
  /** Connections that a fuzz input closed (the pair reconnected). */
  reconnects = 0;
  /** Bytes of well-formed, in-window mutants either side delivered as stream data. */
  injectedBytes = 0;
  private injectedSince = 0;
  /** Checks after which a mutant's data had desynchronized the pair (it then ended by itself). */
  desynchronized = 0;
  private record = true;

  constructor(readonly kind: TransportKind, seed: number) {
    this.client = createEndpoint(kind, { addresses: [CLIENT], random: new SeededRandom(seed), rtoMin: 100 });
    this.server = createEndpoint(kind, { addresses: [SERVER], random: new SeededRandom(seed + 1), listen: true, rtoMin: 100 });
    this.conn = this.connect();
  }

  private connect(): MigratableTransport {
    this.accepted = undefined;
    this.received = [];
    // Connections mutants opened (an INIT / SYN among them) are not ours.
    while (this.server.pollAccept() !== undefined);
    const conn = this.client.connect(this.now, SERVER);
    this.conn = conn;
    this.run(() => this.accepted !== undefined && conn.stateName === 'ESTABLISHED', 10_000);
    return conn;
  }

  /** Deliver and time out until `done()` or `limitMs` of virtual time passed; true if done. */
  run(done: () => boolean, limitMs: number): boolean {
    const end = this.now + limitMs;
    for (let guard = 0; guard < 1_000_000; guard++) {
      this.accepted ??= this.server.pollAccept();
      this.poll();
      if (done()) return true;
      let moved = false;
      for (const [from, to, name] of [[this.client, this.server, 'server'], [this.server, this.client, 'client']] as const) {
        for (let t = from.pollTransmit(this.now); t !== undefined; t = from.pollTransmit(this.now)) {
          moved = true;
          if (this.record) this.recorded.push({ to: name, bytes: t.payload.slice() });
          to.handleDatagram(this.now, name === 'server' ? CLIENT : SERVER, t.payload, name === 'server' ? SERVER : CLIENT);
        }
      }
      if (moved) continue;
      const next = Math.min(this.client.pollTimeout() ?? Infinity, this.server.pollTimeout() ?? Infinity);
      if (next > end) break;
      this.now = Math.max(this.now, next);
      this.client.handleTimeout(this.now);
      this.server.handleTimeout(this.now);
    }
    this.now = Math.max(this.now, end);
    return done();
  }

  /** Drain both connections' events (the server's data is kept); returns the data bytes seen on either side. */
  poll(): number {
    let bytes = 0;
    for (let ev = this.conn.pollEvent(); ev !== undefined; ev = this.conn.pollEvent()) if (ev.type === 'data') bytes += ev.bytes.length;
    for (let ev = this.accepted?.pollEvent(); ev !== undefined; ev = this.accepted?.pollEvent()) {
      if (ev.type === 'data') {
        this.received.push(ev.bytes);
        bytes += ev.bytes.length;
      }
    }
    return bytes;
  }

  /** One fuzz input, delivered to the server (`toServer`) or the client as if from the other end. */
  inject(bytes: Uint8Array, toServer: boolean): void {
    this.record = false;
    if (toServer) this.server.handleDatagram(this.now, CLIENT, bytes, SERVER);
    else this.client.handleDatagram(this.now, SERVER, bytes, CLIENT);
    this.injectedSince += this.poll();
    this.client.pollTransmit(this.now);
    this.server.pollTransmit(this.now);
  }

  private get live(): boolean {
    return this.conn.stateName === 'ESTABLISHED' && this.accepted !== undefined && this.accepted.stateName === 'ESTABLISHED';
  }

  /**
   * A connection a mutant closed on one side: the other side must learn it (an ABORT answering
   * its next packet, a heartbeat or keep-alive at the latest) within five minutes; then a fresh
   * connection replaces it. Returns what went wrong, or undefined.
   */
  private replace(): string | undefined {
    this.reconnects++;
    const settled = this.run(() => this.conn.stateName !== 'ESTABLISHED' && this.accepted?.stateName !== 'ESTABLISHED', 300_000);
    const was = `${this.conn.stateName} / ${this.accepted?.stateName}`;
    this.conn = this.connect();
    if (!settled) return `one side of a connection a mutant closed never learned it in five minutes (${was})`;
    if (!this.live) return `after a mutant closed the connection, a new one did not open (${this.conn.stateName})`;
    return undefined;
  }

  /**
   * The state check after a batch of inputs: a live connection must carry `bytes` to the server
   * byte-exact within a minute of virtual time. A mutant may legitimately have closed it (a valid
   * ABORT / RST: replaced, counted) or put its own data into the stream (a well-formed in-window
   * packet, as any on-path sender could: the sequence space it took is lost to the real bytes, so
   * only progress is checked, the bytes counted, and the connection replaced).
   */
  check(bytes: Uint8Array): string | undefined {
    this.run(() => false, 50);
    this.received = [];
    if (!this.live) {
      const wrong = this.replace();
      if (wrong !== undefined) return wrong;
    }
    const injected = this.injectedSince;
    this.injectedSince = 0;
    let offered = 0;
    const carried = (): number => this.received.reduce((s, b) => s + b.length, 0);
    const sent = (): boolean => {
      if (offered < bytes.length) offered += this.conn.send(bytes.subarray(offered));
      return offered === bytes.length && carried() >= bytes.length;
    };
    const done = this.run(sent, 60_000);
    if (!this.live) return this.replace();
    if (injected > 0) {
      // Data that one side took and the other never sent desynchronizes the pair (TCP: the
      // receiver's ACK is past the sender's SND.NXT and is refused, RFC 9293 §3.10.7.4): it must
      // still end — by its retransmission limit — rather than hang.
      this.injectedBytes += injected;
      this.desynchronized += carried() === 0 ? 1 : 0;
      const ended = carried() > 0 || this.run(() => this.conn.stateName !== 'ESTABLISHED' || this.accepted?.stateName !== 'ESTABLISHED', 900_000);
      const was = `${this.conn.stateName} / ${this.accepted?.stateName}`;
      this.reconnects++;
      this.conn = this.connect();
      return ended ? undefined : `after a mutant's ${injected} bytes were taken as data, the connection carried nothing and did not end in 15 minutes (${was})`;
    }
    if (!done) return `the live connection carried ${carried()} of ${bytes.length} bytes in a minute (${this.conn.stateName} / ${this.accepted?.stateName})`;
    const got = Buffer.concat(this.received);
    if (!got.equals(bytes)) return `the connection delivered ${got.length} bytes that are not the ${bytes.length} sent`;
    return undefined;
  }
}
