// The one switch between baton's transports: `--transport sctp|tcp`. Everything above this file
// (CLI, wedge, benchmarks, conformance suite) builds endpoints through createEndpoint().
import type { UdpAddress } from './transport-abstraction/address.js';
import type { RandomSource } from './transport-abstraction/random.js';
import type { DeadPeerOptions, TransportEndpoint, TransportKind } from './transport-abstraction/transport.js';
import { LocalUsageError } from './transport-abstraction/errors.js';
import { SctpEndpoint } from './sctp/endpoint.js';
import { TcpMigrateEndpoint } from './tcp-migrate/endpoint.js';
import { addressParam } from './addip/addresses.js';
import type { Param } from './sctp/wire/types.js';

export const TRANSPORT_KINDS: readonly TransportKind[] = ['sctp', 'tcp'];

/** Default UDP carrier ports: RFC 6951's 9899 for SCTP, 9898 for TCP-Migrate. */
export const DEFAULT_UDP_PORT: Record<TransportKind, number> = { sctp: 9899, tcp: 9898 };

export interface EndpointOptions {
  /** The endpoint's own transport port inside the UDP payload. Default: the kind's UDP port. */
  readonly port?: number;
  /** The local UDP addresses the endpoint will be bound to (the driver binds the sockets). */
  readonly addresses: readonly UdpAddress[];
  /** Accept incoming connections. */
  readonly listen?: boolean;
  readonly random?: RandomSource;
  /** Lower bound of the retransmission timeout in ms (RFCs: 1000; loopback may use less). */
  readonly rtoMin?: number;
  /** Path MTU for packet sizing. */
  readonly mtu?: number;
  /**
   * SCTP: path MTU discovery (RFC 8899, src/sctp/plpmtud.ts): each path searches its MTU with padded
   * HEARTBEAT probes between 1200 and `mtu` (default 1500); ignored by TCP-Migrate.
   */
  readonly plpmtud?: boolean;
  /** Bytes a connection's receiver takes before the reader reads (SCTP a_rwnd, default 1 MiB; TCP-Migrate window, default 16 MiB). */
  readonly receiveWindow?: number;
  /** SCTP: ask the peer to authenticate DATA (SctpOptions.authenticateData; default true). */
  readonly authenticateData?: boolean;
  /** Dead-peer bounds for every connection of the endpoint (transport.ts DeadPeerOptions). */
  readonly deadPeer?: DeadPeerOptions;
  /**
   * SCTP: message mode (telephony sessions, src/wedge/voice-session.ts), with PR-SCTP unless
   * `partialReliability` is false; ignored by TCP-Migrate.
   */
  readonly messages?: { readonly lifetimeMs?: number; readonly partialReliability?: boolean };
  /**
   * Clients behind NAT (README "Clients behind NAT"), server side: the IPs of this server's
   * support group, told to each client at connection set-up so that its keepalives hold a NAT
   * binding open toward each (SCTP: additional addresses in the INIT ACK). Read at each handshake.
   */
  readonly groupAddresses?: () => readonly string[];
  /** Server side: the tag to answer a packet for a connection a group member holds (SctpEndpointOptions.heldByGroup). */
  readonly heldByGroup?: (client: UdpAddress, clientPort: number, tag: number) => number | undefined;
  /** Client side: keepalive interval in ms toward every server address (SCTP: HB.interval; default 5000). */
  readonly keepaliveMs?: number;
}

export function parseTransportKind(text: string): TransportKind {
  if (text === 'sctp' || text === 'tcp') return text;
  throw new LocalUsageError(`unknown transport "${text}": use sctp or tcp`);
}

export function createEndpoint(kind: TransportKind, options: EndpointOptions): TransportEndpoint {
  const port = options.port ?? DEFAULT_UDP_PORT[kind];
  if (kind === 'tcp') {
    const { receiveWindow, plpmtud: _sctpOnly, ...rest } = options;
    return new TcpMigrateEndpoint({ ...rest, port, ...(receiveWindow !== undefined ? { config: { receiveWindow, receiveWindowInitial: receiveWindow } } : {}) });
  }
  return new SctpEndpoint({
    addresses: options.addresses,
    sctpPort: port,
    listen: options.listen ?? false,
    ...(options.random ? { random: options.random } : {}),
    ...(options.heldByGroup ? { heldByGroup: options.heldByGroup } : {}),
    association: {
      ...(options.groupAddresses ? { extraInitParams: groupAddressParams(options.groupAddresses) } : {}),
      ...(options.keepaliveMs !== undefined ? { heartbeatInterval: options.keepaliveMs } : {}),
      ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
      ...(options.receiveWindow !== undefined ? { receiveWindow: options.receiveWindow } : {}),
      ...(options.plpmtud === true ? { plpmtud: true } : {}),
      ...(options.rtoMin !== undefined ? { rto: { min: options.rtoMin } } : {}),
      ...(options.authenticateData !== undefined ? { authenticateData: options.authenticateData } : {}),
      ...options.deadPeer,
      ...(options.messages !== undefined ? { mode: 'message' as const, ...(options.messages.partialReliability === false ? {} : { partialReliability: { lifetimeMs: options.messages.lifetimeMs } }) } : {}),
    },
  });
}

/** SCTP: the support group's IPs as IPv4 / IPv6 address parameters of the INIT ACK (not the INIT). */
function groupAddressParams(addresses: () => readonly string[]): (chunk: 'init' | 'init-ack') => Param[] {
  return (chunk) => (chunk === 'init-ack' ? addresses().map(addressParam) : []);
}
