// baton's node:net-like surface for programs that embed it: listen() and connect() give Duplex
// sockets over either transport; a server can also take a connection over from an exported state.
// Everything here is glue between createEndpoint(), UdpDriver and TransportSocket.
import { EventEmitter } from 'node:events';
import type { UdpAddress } from './transport-abstraction/address.js';
import { UdpDriver } from './node/driver.js';
import { TransportSocket } from './node/socket.js';
import type { TransportState } from './transport-abstraction/state-types.js';
import type { DatagramCore, MigratableTransport, ResumeMode, TransportEndpoint, TransportKind } from './transport-abstraction/transport.js';
import { createEndpoint, DEFAULT_UDP_PORT } from './transports.js';

export interface TuningOptions {
  /** Lower bound of the retransmission timeout in ms (RFCs: 1000; loopback suits 100-200). */
  readonly rtoMin?: number;
  /** Path MTU used to size packets. */
  readonly mtu?: number;
}

export interface ListenOptions extends TuningOptions {
  readonly transport?: TransportKind;
  /** Local IP address to serve on. */
  readonly address: string;
  /** Transport port inside UDP (default: the kind's UDP port, 9899 / 9898). */
  readonly port?: number;
  /** Local UDP port (default 9899 for sctp, 9898 for tcp; 0 picks a free one). */
  readonly udpPort?: number;
  /** Accept connections clients open (default true); false for a server that only takes over. */
  readonly accept?: boolean;
}

export interface ConnectOptions extends TuningOptions {
  readonly transport?: TransportKind;
  /** The server's IP address. */
  readonly address: string;
  /** The server's transport port inside UDP (default: the kind's UDP port). */
  readonly port?: number;
  /** The server's UDP port (default 9899 for sctp, 9898 for tcp). */
  readonly udpPort?: number;
  /** Local address (default 127.0.0.1 for a loopback server, else 0.0.0.0) and UDP port (default any). */
  readonly localAddress?: string;
  readonly localUdpPort?: number;
}

/** Binds one endpoint to UDP and pumps the events of every socket made on it. */
class Binding {
  readonly sockets = new Set<TransportSocket>();
  onInput: (() => void) | undefined;

  private constructor(
    readonly endpoint: TransportEndpoint,
    readonly driver: UdpDriver,
  ) {
    driver.afterInput = () => {
      this.onInput?.();
      for (const socket of this.sockets) socket.pump();
    };
  }

  /** Bind first (so port 0 resolves), then build the endpoint on the bound addresses. */
  static async open(kind: TransportKind, local: UdpAddress, port: number, listen: boolean, tuning: TuningOptions): Promise<Binding> {
    let endpoint: TransportEndpoint | undefined;
    const core: DatagramCore = {
      handleDatagram: (now, from, bytes, at) => endpoint?.handleDatagram(now, from, bytes, at),
      handleTimeout: (now) => endpoint?.handleTimeout(now),
      pollTransmit: (now) => endpoint?.pollTransmit(now),
      pollTimeout: () => endpoint?.pollTimeout(),
    };
    const driver = await UdpDriver.bind(core, [local]);
    endpoint = createEndpoint(kind, { addresses: driver.addresses, port, listen, ...tuning });
    return new Binding(endpoint, driver);
  }

  socket(transport: MigratableTransport): TransportSocket {
    const socket = new TransportSocket({ transport, wake: () => this.driver.wake(), now: () => this.driver.now() });
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }
}

export interface BatonServerEvents {
  connection: [socket: TransportSocket];
}

/** A listening endpoint; 'connection' gives one TransportSocket per accepted connection. */
export class BatonServer extends EventEmitter<BatonServerEvents> {
  private constructor(private readonly binding: Binding) {
    super();
    binding.onInput = () => {
      for (let conn = binding.endpoint.pollAccept(); conn !== undefined; conn = binding.endpoint.pollAccept()) {
        const socket = binding.socket(conn);
        this.emit('connection', socket);
        socket.pump(); // an accepted connection arrives with its 'connected' event waiting
      }
    };
  }

  static async listen(options: ListenOptions): Promise<BatonServer> {
    const kind = options.transport ?? 'sctp';
    const udpPort = options.udpPort ?? DEFAULT_UDP_PORT[kind];
    const binding = await Binding.open(kind, { address: options.address, port: udpPort }, options.port ?? DEFAULT_UDP_PORT[kind], options.accept ?? true, options);
    return new BatonServer(binding);
  }

  /** The bound UDP addresses (with the real port when 0 was asked for). */
  get addresses(): UdpAddress[] {
    return this.binding.driver.addresses;
  }

  get endpoint(): TransportEndpoint {
    return this.binding.endpoint;
  }

  /**
   * Take over the connection `state` describes (exported by another server of the group) from this
   * server's address, with request number `requestNumber` (default: the state's number + 1). The
   * socket emits 'takeover-complete' with the client's receiver state; write the stream from
   * receiver.nextOffset on. A refused takeover destroys it with BATON_ERR_TAKEOVER_REJECTED.
   */
  takeOver(state: TransportState, options: { requestNumber?: number; mode?: ResumeMode } = {}): TransportSocket {
    const driver = this.binding.driver;
    const conn = this.binding.endpoint.importState(driver.now(), state);
    const socket = this.binding.socket(conn);
    conn.takeover(driver.now(), options.requestNumber ?? state.takeoverNumber + 1, options.mode ?? 'gap-fill');
    driver.wake();
    return socket;
  }

  /** The driver's clock (ms), for exportState(now) and other calls into the cores. */
  now(): number {
    return this.binding.driver.now();
  }

  /** Wake the driver after changing a connection directly (exportState needs none). */
  wake(): void {
    this.binding.driver.wake();
  }

  async close(): Promise<void> {
    for (const socket of this.binding.sockets) socket.destroy();
    await this.binding.driver.close();
  }
}

export function listen(options: ListenOptions, onConnection?: (socket: TransportSocket) => void): Promise<BatonServer> {
  return BatonServer.listen(options).then((server) => {
    if (onConnection) server.on('connection', onConnection);
    return server;
  });
}

/**
 * Open a connection; the socket is returned at once (writes queue until the handshake completes,
 * 'connect' fires when it does, 'error' carries a refusal or abort with its code). The UDP socket
 * closes with the connection.
 */
export async function connect(options: ConnectOptions): Promise<TransportSocket> {
  const kind = options.transport ?? 'sctp';
  const loopback = options.address.startsWith('127.') ? '127.0.0.1' : options.address === '::1' ? '::1' : '0.0.0.0';
  const local = { address: options.localAddress ?? loopback, port: options.localUdpPort ?? 0 };
  const port = options.port ?? DEFAULT_UDP_PORT[kind];
  const binding = await Binding.open(kind, local, port, false, options);
  const conn = binding.endpoint.connect(binding.driver.now(), { address: options.address, port: options.udpPort ?? DEFAULT_UDP_PORT[kind] }, { remotePort: port });
  const socket = binding.socket(conn);
  socket.once('close', () => void binding.driver.close());
  binding.driver.wake();
  return socket;
}
