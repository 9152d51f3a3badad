// baton's node:net-like surface for programs that embed it: listen() and connect() give Duplex
// sockets over either transport; a server can also take a connection over from an exported state.
// Everything here is glue between createEndpoint(), a Runtime and TransportSocket. The runtime is
// real UDP unless a `runtime` option names another world (a SimRuntime for virtual time): the
// same application code runs on both.
//
// Errors never vanish: when a core or the event handling throws (a RuntimeError fault), every
// socket of that endpoint is destroyed with the coded error and a server emits 'error'; transient
// I/O errors (a failed send) are emitted as 'warning' on the server, or on a connect()ed socket.
//
// A client's doing never kills a server: an accepted socket's 'error' (the client's ABORT or RST, a
// write after it left) is handled by the server, as node:http does — emitted as 'clientError' when
// someone listens for it, else dropped (the socket is destroyed either way, its 'close' follows).
// An application's own 'error' listener on the socket still gets it.
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import type { UdpAddress } from './transport-abstraction/address.js';
import type { Attachment, Runtime, RuntimeError } from './transport-abstraction/runtime.js';
import type { TransportState } from './transport-abstraction/state-types.js';
import type { MigratableTransport, ResumeMode, TransportEndpoint, TransportKind } from './transport-abstraction/transport.js';
import { TransportSocket } from './node/socket.js';
import { UdpRuntime } from './node/udp-runtime.js';
import { createEndpoint, DEFAULT_UDP_PORT } from './transports.js';

let defaultRuntime: UdpRuntime | undefined;

/** The runtime listen() and connect() use when given none: real UDP sockets and timers. */
export function udpRuntime(): UdpRuntime {
  defaultRuntime ??= new UdpRuntime();
  return defaultRuntime;
}

export interface TuningOptions {
  /** Lower bound of the retransmission timeout in ms (RFCs: 1000; loopback suits 100-200). */
  readonly rtoMin?: number;
  /** Path MTU used to size packets. */
  readonly mtu?: number;
  /** Keepalive interval in ms toward every server address, below the NAT's UDP timeout (README "Clients behind NAT"; SCTP: HB.interval, default 5000). */
  readonly keepaliveMs?: number;
  /** The world to run in (default: real UDP, udpRuntime()); a SimRuntime runs in virtual time. */
  readonly runtime?: Runtime;
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
  /** Local address (default 127.0.0.1 / ::1 for a loopback server, else 0.0.0.0 / ::) and UDP port (default any). */
  readonly localAddress?: string;
  readonly localUdpPort?: number;
}

/** One endpoint attached to a runtime; pumps the events of every socket made on it. */
class Binding {
  readonly sockets = new Set<TransportSocket>();
  onInput: (() => void) | undefined;
  /** Errors of this attachment; the default destroys the sockets on a fault. */
  onError: (error: RuntimeError) => void = (error) => this.fault(error);

  private constructor(
    readonly runtime: Runtime,
    readonly attachment: Attachment<TransportEndpoint>,
  ) {
    attachment.onError((error) => this.onError(error));
  }

  get endpoint(): TransportEndpoint {
    return this.attachment.core;
  }

  /** Attach first (so port 0 resolves), then build the endpoint on the bound addresses. */
  static async open(runtime: Runtime, kind: TransportKind, local: UdpAddress, port: number, listen: boolean, tuning: TuningOptions): Promise<Binding> {
    let binding: Binding | undefined;
    const { rtoMin, mtu, keepaliveMs } = tuning;
    const attachment = await runtime.attach(
      [local],
      (bound) => createEndpoint(kind, { addresses: bound, port, listen, ...(rtoMin !== undefined ? { rtoMin } : {}), ...(mtu !== undefined ? { mtu } : {}), ...(keepaliveMs !== undefined ? { keepaliveMs } : {}) }),
      () => binding?.afterInput(),
    );
    binding = new Binding(runtime, attachment);
    return binding;
  }

  private afterInput(): void {
    this.onInput?.();
    for (const socket of this.sockets) socket.pump();
  }

  /** The endpoint's state cannot be trusted after a fault: end every connection on it. */
  fault(error: RuntimeError): boolean {
    if (!error.fault) return false;
    for (const socket of this.sockets) socket.destroy(error);
    return true;
  }

  socket(transport: MigratableTransport): TransportSocket {
    const socket = new TransportSocket({ transport, wake: () => this.attachment.wake(), now: () => this.runtime.now() });
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }
}

export interface BatonServerEvents {
  connection: [socket: TransportSocket];
  /** A core or the event handling threw: every socket of this server was destroyed with `error`. */
  error: [error: RuntimeError];
  /** A transient I/O error (a failed send, a socket error); the datagram is lost, nothing else. */
  warning: [error: RuntimeError];
  /** An accepted connection failed (the client aborted or reset it, ...); the socket is destroyed. */
  clientError: [error: Error, socket: TransportSocket];
}

/** A listening endpoint; 'connection' gives one TransportSocket per accepted connection. */
export class BatonServer extends EventEmitter<BatonServerEvents> {
  private constructor(private readonly binding: Binding) {
    super();
    // Emitted outside the runtime's listener shield, so that a server nobody listens to for
    // 'error' fails loudly (an uncaught exception), as a node:net server would.
    binding.onError = (error) => {
      const fault = binding.fault(error);
      process.nextTick(() => this.emit(fault ? 'error' : 'warning', error));
    };
    binding.onInput = () => {
      for (let conn = binding.endpoint.pollAccept(); conn !== undefined; conn = binding.endpoint.pollAccept()) {
        const socket = binding.socket(conn);
        // Without this, `listen(..., (s) => s.pipe(s))` died on the first client ABORT: pipe()
        // rethrows a destination's 'error' when nobody else listens for it.
        socket.on('error', (error: Error) => {
          if (this.listenerCount('clientError') > 0) this.emit('clientError', error, socket);
        });
        this.emit('connection', socket);
        socket.pump(); // an accepted connection arrives with its 'connected' event waiting
      }
    };
  }

  static async listen(options: ListenOptions): Promise<BatonServer> {
    const kind = options.transport ?? 'sctp';
    const udpPort = options.udpPort ?? DEFAULT_UDP_PORT[kind];
    const binding = await Binding.open(options.runtime ?? udpRuntime(), kind, { address: options.address, port: udpPort }, options.port ?? DEFAULT_UDP_PORT[kind], options.accept ?? true, options);
    return new BatonServer(binding);
  }

  /** The bound UDP addresses (with the real port when 0 was asked for). */
  get addresses(): UdpAddress[] {
    return [...this.binding.attachment.addresses];
  }

  /** The world this server runs in. */
  get runtime(): Runtime {
    return this.binding.runtime;
  }

  get endpoint(): TransportEndpoint {
    return this.binding.endpoint;
  }

  /**
   * Take over the connection `state` describes (exported by another server of the group) from this
   * server's address, with request number `requestNumber` (default: the state's number + 1). The
   * socket emits 'takeover-complete' with the client's receiver state; write the stream from
   * receiver.nextOffset on. A refused takeover destroys it with BATON_ERR_TAKEOVER_REJECTED.
   * `resumeFrom`: the stream bytes from state.streamBytesAcked on, sent with the request (the
   * blind resume, MigratableTransport.takeover).
   */
  takeOver(state: TransportState, options: { requestNumber?: number; mode?: ResumeMode; resumeFrom?: Uint8Array } = {}): TransportSocket {
    const { runtime, attachment } = this.binding;
    const conn = this.binding.endpoint.importState(runtime.now(), state);
    const socket = this.binding.socket(conn);
    conn.takeover(runtime.now(), options.requestNumber ?? state.takeoverNumber + 1, options.mode ?? 'gap-fill', options.resumeFrom);
    attachment.wake();
    return socket;
  }

  /** The runtime's clock (ms), for exportState(now) and other calls into the cores. */
  now(): number {
    return this.binding.runtime.now();
  }

  /** Wake the runtime after changing a connection directly (exportState needs none). */
  wake(): void {
    this.binding.attachment.wake();
  }

  async close(): Promise<void> {
    for (const socket of this.binding.sockets) socket.destroy();
    await this.binding.attachment.close();
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
 * 'connect' fires when it does, 'error' carries a refusal or abort with its code, or a
 * RuntimeError when the endpoint's core threw; transient I/O errors come as 'warning'). The
 * attachment (the UDP socket) closes with the connection.
 */
export async function connect(options: ConnectOptions): Promise<TransportSocket> {
  const kind = options.transport ?? 'sctp';
  const loopback = options.address.startsWith('127.') ? '127.0.0.1' : options.address === '::1' ? '::1' : isIPv6(options.address) ? '::' : '0.0.0.0';
  const local = { address: options.localAddress ?? loopback, port: options.localUdpPort ?? 0 };
  const port = options.port ?? DEFAULT_UDP_PORT[kind];
  const runtime = options.runtime ?? udpRuntime();
  const binding = await Binding.open(runtime, kind, local, port, false, options);
  const conn = binding.endpoint.connect(runtime.now(), { address: options.address, port: options.udpPort ?? DEFAULT_UDP_PORT[kind] }, { remotePort: port });
  const socket = binding.socket(conn);
  binding.onError = (error) => {
    if (!binding.fault(error)) socket.emit('warning', error);
  };
  socket.once('close', () => void binding.attachment.close());
  binding.attachment.wake();
  return socket;
}
