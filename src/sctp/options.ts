// Per-association settings (RFC 9260 §16 protocol parameters plus baton's stream mapping) and
// their defaults.
import type { ConnectionOptions } from '../transport-abstraction/transport.js';
import { cryptoRandom, type RandomSource } from '../transport-abstraction/random.js';
import { DEFAULT_RTO, type RtoConfig } from '../transport-abstraction/rto.js';
import type { SendMode } from './send-queue.js';
import { COMMON_HEADER, DATA_HEADER, UDP_IP_OVERHEAD } from './packet-writer.js';
import type { Param } from './wire/types.js';

export const SCTP_UDP_PORT = 9899;

export interface SctpOptions extends ConnectionOptions {
  /** 'stream' (baton's byte stream: full chunks on stream 0) or 'message' (each send one message). */
  readonly mode?: SendMode;
  /** Path MTU in bytes (IP datagram size); default 1280, loopback may use 1500. */
  readonly mtu?: number;
  /** User bytes per DATA chunk; default the largest that fits the MTU. */
  readonly chunkSize?: number;
  /** RTO.Initial / RTO.Min / RTO.Max in ms (default 1000 / 1000 / 5000; RFC 9260: 60000 max). */
  readonly rto?: Partial<RtoConfig>;
  /** Path.Max.Retrans (default 2; RFC 9260: 5) and Association.Max.Retrans (default 5; RFC 9260: 10). */
  readonly pathMaxRetrans?: number;
  readonly associationMaxRetrans?: number;
  /** Max.Init.Retransmits (default 4; RFC 9260: 8). */
  readonly maxInitRetransmits?: number;
  /** HB.interval in ms (default 5000; RFC 9260: 30000). */
  readonly heartbeatInterval?: number;
  /** Delayed SACK timeout in ms (default 200). */
  readonly delayedSackTime?: number;
  /** Valid.Cookie.Life in ms (default 60000). */
  readonly cookieLifetime?: number;
  /** Outbound streams we ask for and inbound streams we accept (default 16 each). */
  readonly outboundStreams?: number;
  readonly inboundStreams?: number;
  /** Advertise AUTH / ASCONF support (Supported Extensions, RANDOM, CHUNKS, HMAC-ALGO); default true. */
  readonly advertiseAuth?: boolean;
  /** Extra parameters for our INIT / INIT ACK (baton's x25519 key, 0xbaf1). */
  readonly extraInitParams?: (chunk: 'init' | 'init-ack') => Param[];
  /** Payload protocol identifier put in DATA chunks (default 0). */
  readonly ppid?: number;
}

export interface ResolvedOptions {
  readonly mode: SendMode;
  readonly mtu: number;
  readonly chunkSize: number;
  readonly rto: RtoConfig;
  readonly pathMaxRetrans: number;
  readonly associationMaxRetrans: number;
  readonly maxInitRetransmits: number;
  readonly heartbeatInterval: number;
  readonly delayedSackTime: number;
  readonly cookieLifetime: number;
  readonly outboundStreams: number;
  readonly inboundStreams: number;
  readonly advertiseAuth: boolean;
  readonly extraInitParams: ((chunk: 'init' | 'init-ack') => Param[]) | undefined;
  readonly ppid: number;
  readonly random: RandomSource;
  readonly sendBufferSize: number;
  readonly receiveWindow: number;
  readonly remotePort: number | undefined;
}

/**
 * baton's give-up bounds (see bounds.ts and the README's transport section), tighter than RFC
 * 9260 §16's defaults, which let an idle endpoint wait ~10 min for a dead peer and a connect
 * ~4 min for an absent server. With these: a connect fails within 17 s; a peer that dies while
 * DATA is outstanding is given up within 22 s, an idle one within 55 s; an unanswered takeover
 * within 22 s. Path.Max.Retrans stays below Association.Max.Retrans so a multihomed association
 * fails over before it gives up. Every value is an SctpOptions field.
 */
export const SCTP_RTO: RtoConfig = { ...DEFAULT_RTO, max: 5000 };

/** Largest user-data size of a DATA chunk alone in a packet of this MTU (a multiple of 4). */
export function maxChunkSize(mtu: number): number {
  return (mtu - UDP_IP_OVERHEAD - COMMON_HEADER - DATA_HEADER) & ~3;
}

export function resolveOptions(o: SctpOptions = {}): ResolvedOptions {
  const mtu = o.mtu ?? 1280;
  return {
    mode: o.mode ?? 'stream',
    mtu,
    chunkSize: Math.min(o.chunkSize ?? maxChunkSize(mtu), maxChunkSize(mtu)),
    rto: { ...SCTP_RTO, ...o.rto },
    pathMaxRetrans: o.pathMaxRetrans ?? 2,
    associationMaxRetrans: o.associationMaxRetrans ?? 5,
    maxInitRetransmits: o.maxInitRetransmits ?? 4,
    heartbeatInterval: o.heartbeatInterval ?? 5000,
    delayedSackTime: o.delayedSackTime ?? 200,
    cookieLifetime: o.cookieLifetime ?? 60000,
    outboundStreams: o.outboundStreams ?? 16,
    inboundStreams: o.inboundStreams ?? 16,
    advertiseAuth: o.advertiseAuth ?? true,
    extraInitParams: o.extraInitParams,
    ppid: o.ppid ?? 0,
    random: o.random ?? cryptoRandom,
    sendBufferSize: o.sendBufferSize ?? 4 * 1024 * 1024,
    receiveWindow: o.receiveWindow ?? 1024 * 1024,
    remotePort: o.remotePort,
  };
}
