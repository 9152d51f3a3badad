// Tunables of a TCP-Migrate connection, with the RFCs' defaults.
import type { UdpAddress } from '../transport-abstraction/address.js';
import type { DeadPeerOptions, DropReason } from '../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from './connection.js';

export interface TcpMigrateConfig {
  /** Largest payload we send and the MSS we advertise (the peer's MSS option lowers the first). */
  readonly mss: number;
  /** RFC 6298: initial RTO 1 s. */
  readonly rtoInitial: number;
  /** RFC 6298: RTO lower bound 1 s; loopback may configure less. */
  readonly rtoMin: number;
  /** Upper bound of the backed-off RTO. */
  readonly rtoMax: number;
  /** RFC 1122 / RFC 5681: an ACK at least every 2nd full segment and within 200 ms. */
  readonly delayedAckMs: number;
  /**
   * Bound on queued unacknowledged bytes (send() accepts less beyond it) while the path is slow;
   * on a fast one the bound grows with the window in use, up to sendBufferMax (sendBufferLimit).
   */
  readonly sendBufferSize: number;
  /**
   * The most the send buffer grows to: twice the window in use, min(cwnd, peer's window), when
   * that exceeds sendBufferSize (Linux's send-buffer auto-tuning, tcp_sndbuf_expand). So one
   * connection keeps a long fat path full (12.5 MB in flight on 1 Gbit/s x 100 ms), while one
   * to a slow or stalled client holds no more than sendBufferSize of the application's bytes.
   * Set it to sendBufferSize for a fixed bound.
   */
  readonly sendBufferMax: number;
  /**
   * The receive buffer: the most in-order bytes received and not yet read. Beyond 65535 it needs
   * RFC 7323 window scaling, which every SYN offers (the shift is the smallest that fits this
   * value, at most 14, so at most 65535 << 14 bytes, about 1 GiB); a peer that does not answer
   * with a window scale option leaves it at 65535. Default 16 MiB (shift 9): more than the
   * 12.5 MB a 1 Gbit/s x 100 ms path holds. It is a bound, not an allocation: in-order bytes are
   * handed to the application as they arrive and count against it until read, out-of-order ones
   * are held only as they come, so an idle connection holds no receive memory, and a reader that
   * stops reading makes the window close: the receiver never holds more than the edge it
   * advertised (receiver.ts, test/tcp-window.test.ts).
   */
  readonly receiveWindow: number;
  /**
   * The receive buffer a connection starts with; it grows toward `receiveWindow` as the reader
   * keeps up (window.ts growReceiveSpace, receive-buffer auto-tuning as Linux's DRS does): a
   * reader that takes a round trip's data doubles it, a reader that stops leaves it where it is.
   * Equal to `receiveWindow`: a fixed buffer (as SO_RCVBUF turns Linux's auto-tuning off).
   */
  readonly receiveWindowInitial: number;
  /** Offer RFC 7323 timestamps on the SYN (timestamps.ts); used when the peer's SYN has them too. */
  readonly timestamps: boolean;
  /** TIME-WAIT lasts this long (2 * MSL). */
  readonly timeWaitMs: number;
  /**
   * How long a connection reset by a peer that lost its state waits for a Migrate SYN (20 s: the
   * wedge's support group needs ~12 s to take over), then closes with BATON_ERR_ABORTED.
   */
  readonly migrateWaitMs: number;
  /**
   * RFC 5961 §7: challenge ACKs (answers to an in-window RST not at RCV.NXT, a SYN in a
   * synchronized state, an unacceptable ACK) a connection sends per second at most.
   */
  readonly challengeAckLimit: number;
  /** Retransmissions of one segment (or of the SYN) before the connection times out. */
  readonly maxRetransmissions: number;
  /**
   * The time bound beside maxRetransmissions (TCP_USER_TIMEOUT, RFC 5482's idea): once a
   * retransmission timeout (or an unanswered zero-window probe) has fired, the connection closes
   * with BATON_ERR_TIMEOUT if the peer acknowledges nothing (answers no probe) for this long.
   * With the backed-off RTO alone a sender whose receiver died took ~520 s. 0: count only.
   */
  readonly userTimeoutMs: number;
  /**
   * A handshake not completed within this long fails with BATON_ERR_TIMEOUT: connect() (SYN
   * retransmitted 1, 2, 4, 8 s after the first with the RFC 6298 RTO, then given up at 15 s), a
   * half-open passive connection, and a takeover's Migrate SYN that the client never answers.
   * 0: count only (maxRetransmissions).
   */
  readonly connectTimeoutMs: number;
  /**
   * Keep-alive (RFC 9293 §3.8.4, keepalive.ts): after this long without a segment from the peer, a
   * connection with nothing in flight probes it; 0 disables. RFC 1122 §4.2.3.6 says off by default
   * and no less than two hours, for connections nobody watches. baton's are long-running streams
   * whose point is to notice a dead server and fail over (DESIGN: "where no server holds fresh
   * state, the client gets a clear error, not a hang"), so 10 s: with 4 probes 2.5 s apart a dead
   * peer is known 20 s after it fell silent, which leaves the support group time for a takeover
   * (the wedge needs ~12 s: heartbeat verdict 9.3 s, backoff ≤ 1 s, a round trip).
   * The cost is one 20-byte probe and its ACK per idle period per silent connection.
   */
  readonly keepaliveIdleMs: number;
  /** Time between unanswered keep-alive probes. */
  readonly keepaliveIntervalMs: number;
  /** Unanswered probes after which the connection closes with BATON_ERR_TIMEOUT. */
  readonly keepaliveProbes: number;
  /**
   * Clients behind NAT (group.ts): a client whose SYN/ACK listed the server's support group sends a
   * Group-Keepalive toward each member this often, to hold a NAT binding open; 0 sends none. 5 s is
   * well below the 30 s after which Linux conntrack and home routers forget a UDP flow.
   */
  readonly groupKeepaliveMs: number;
}

export const DEFAULT_CONFIG: TcpMigrateConfig = {
  mss: 1400,
  rtoInitial: 1000,
  rtoMin: 1000,
  rtoMax: 60_000,
  delayedAckMs: 200,
  sendBufferSize: 4 * 1024 * 1024,
  sendBufferMax: 32 * 1024 * 1024,
  receiveWindow: 16 * 1024 * 1024,
  receiveWindowInitial: 256 * 1024,
  timestamps: true,
  timeWaitMs: 2000,
  migrateWaitMs: 20_000,
  challengeAckLimit: 10,
  maxRetransmissions: 12,
  userTimeoutMs: 20_000,
  connectTimeoutMs: 15_000,
  keepaliveIdleMs: 10_000,
  keepaliveIntervalMs: 2_500,
  keepaliveProbes: 4,
  groupKeepaliveMs: 5_000,
};

/** The send buffer's bound now: sendBufferSize, or twice the window in use up to sendBufferMax. */
export function sendBufferLimit(config: TcpMigrateConfig, cwnd: number, peerWindow: number): number {
  return Math.max(config.sendBufferSize, Math.min(config.sendBufferMax, 2 * Math.min(cwnd, peerWindow)));
}

/**
 * The contract's dead-peer bounds (transport.ts DeadPeerOptions) on a TCP-Migrate configuration:
 * connectTimeoutMs and userTimeoutMs are fields of the same name; idleTimeoutMs is the keep-alive
 * schedule's total, half of it idle before the first probe and the other half shared by the
 * probes (10 s + 4 x 2.5 s = the default 20 s).
 */
export function withDeadPeer(config: TcpMigrateConfig, o: DeadPeerOptions | undefined): TcpMigrateConfig {
  if (o === undefined || (o.connectTimeoutMs === undefined && o.userTimeoutMs === undefined && o.idleTimeoutMs === undefined)) return config;
  const idle = o.idleTimeoutMs;
  return {
    ...config,
    connectTimeoutMs: o.connectTimeoutMs ?? config.connectTimeoutMs,
    userTimeoutMs: o.userTimeoutMs ?? config.userTimeoutMs,
    ...(idle === undefined ? {} : { keepaliveIdleMs: idle / 2, keepaliveIntervalMs: idle / 2 / Math.max(1, config.keepaliveProbes) }),
  };
}

/**
 * The one thing a connection asks of its endpoint directly: after an application call (send,
 * close, abort, takeover, reading data) it may have something to send — poll it. Never called
 * while the endpoint is feeding it a datagram or a timeout.
 */
export interface ConnectionOwner {
  wake(conn: TcpMigrateConnection): void;
}

/**
 * What a connection tells its endpoint, queued (quinn's EndpointEvent): the endpoint drains the
 * queue with pollEndpointEvent() after every call into the connection.
 */
export type EndpointEvent =
  /** The connection's peer address changed (a Migrate SYN was accepted): route the new 4-tuple. */
  | { readonly type: 'rebind'; readonly oldLocal: UdpAddress; readonly oldRemote: UdpAddress; readonly oldLocalPort: number; readonly oldRemotePort: number }
  /** A passive connection completed its handshake: accept it. */
  | { readonly type: 'established' }
  /** The connection learned its token (handshake or takeover done): Migrate SYNs find it. */
  | { readonly type: 'token' }
  /** The connection dropped a segment for this reason: count it in the endpoint's `dropped`. */
  | { readonly type: 'drop'; readonly reason: DropReason }
  /** The connection reached CLOSED: stop routing to it. */
  | { readonly type: 'released' };
