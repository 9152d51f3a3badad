// Per-association settings (RFC 9260 §16 protocol parameters plus baton's stream mapping) and
// their defaults.
import type { ConnectionOptions } from '../transport-abstraction/transport.js';
import { cryptoRandom, type RandomSource } from '../transport-abstraction/random.js';
import { DEFAULT_RTO, type RtoConfig } from '../transport-abstraction/rto.js';
import { busyDeadPeerBound, connectBound, idleDeadPeerBound } from './bounds.js';
import type { SendMode } from './send-queue.js';
import { FORWARD_TSN_SUPPORTED, type PartialReliabilityOptions } from './pr-sctp.js';
import { COMMON_HEADER, DATA_HEADER, UDP_IP_OVERHEAD } from './packet-writer.js';
import { AUTH_CHUNKS } from './handshake.js';
import { ChunkType, type Param } from './wire/types.js';
import { PLPMTUD_DEFAULTS, type PlpmtudConfig } from './plpmtud.js';

export const SCTP_UDP_PORT = 9899;

export interface SctpOptions extends ConnectionOptions {
  /** 'stream' (baton's byte stream: full chunks on stream 0) or 'message' (each send one message). */
  readonly mode?: SendMode;
  /**
   * Path MTU in bytes (IP datagram size); default 1280, loopback may use 1500. With `plpmtud` on,
   * the default of its `max` instead (the largest size searched).
   */
  readonly mtu?: number;
  /**
   * Path MTU discovery (RFC 8899 DPLPMTUD, probes of HEARTBEAT + PAD, see plpmtud.ts): each path
   * starts at BASE_PLPMTU (`base`, 1200) and searches up to `max` (default `mtu` when given, else
   * 1500), DATA chunks sized to the path's PLPMTU. `true` for the defaults (PLPMTUD_DEFAULTS:
   * PROBE_TIMER 2 s or the path RTO if larger, MAX_PROBES 3, PMTU_RAISE_TIMER 600 s, search step
   * 16 bytes). Default off: every path uses `mtu`.
   */
  readonly plpmtud?: boolean | Partial<PlpmtudConfig>;
  /** User bytes per DATA chunk; default the largest that fits the MTU (with `plpmtud`, the path's PLPMTU). */
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
  /**
   * List DATA in our CHUNKS parameter (RFC 4895 §3.2), so that a peer that speaks AUTH must send
   * every DATA chunk after an AUTH chunk and an unauthenticated (forged) DATA chunk is dropped;
   * default true. Between baton ends the AUTH key comes from the x25519 agreement, so an on-path
   * attacker cannot forge it. Costs an AUTH chunk (40 bytes) and an HMAC per packet with DATA:
   * DATA chunks are that much smaller (see maxChunkSize).
   */
  readonly authenticateData?: boolean;
  /**
   * Max.Burst (RFC 9260 §6.1 rule D, §16; default 4): after a SACK a path sends new DATA only up
   * to its flight size at that SACK plus Max.Burst packets, whatever its cwnd. 0: no limit.
   */
  readonly maxBurst?: number;
  /**
   * PR-SCTP (RFC 3758, pr-sctp.ts): announce Forward-TSN-Supported, accept FORWARD-TSN, and with
   * `lifetimeMs` abandon messages not acknowledged that long after their first transmission (when
   * the peer supports it too). Undefined (the default): no PR-SCTP, fully reliable.
   */
  readonly partialReliability?: PartialReliabilityOptions;
}

export interface ResolvedOptions {
  readonly mode: SendMode;
  /** The fixed path MTU; with PLPMTUD the largest size searched (its `max`). */
  readonly mtu: number;
  /** PLPMTUD settings, undefined when off. */
  readonly plpmtud: PlpmtudConfig | undefined;
  /** DATA chunk size for `mtu` (at most the user's chunkSize). */
  readonly chunkSize: number;
  /** The user's chunkSize, Infinity when not given (PLPMTUD sizes chunks to each path below it). */
  readonly chunkSizeLimit: number;
  /** DATA may have to carry an AUTH chunk (room for it is left in every packet with DATA). */
  readonly authenticateData: boolean;
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
  /** The chunk types our CHUNKS parameter lists (ASCONF, ASCONF-ACK, and DATA with authenticateData). */
  readonly authChunks: readonly number[];
  readonly maxBurst: number;
  readonly partialReliability: PartialReliabilityOptions | undefined;
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

/**
 * The largest AUTH chunk we may have to put before DATA: header, key id, HMAC id and an
 * HMAC-SHA-256 (we send with the first id of the peer's list we support: 32 bytes at most).
 */
export const DATA_AUTH_OVERHEAD = 8 + 32;

/**
 * Largest user-data size of a DATA chunk alone in a packet of this MTU (a multiple of 4), with
 * room for an AUTH chunk in front when DATA may have to be authenticated.
 */
export function maxChunkSize(mtu: number, authenticated = false): number {
  return (mtu - UDP_IP_OVERHEAD - COMMON_HEADER - DATA_HEADER - (authenticated ? DATA_AUTH_OVERHEAD : 0)) & ~3;
}

/** The DATA chunk size for packets of `mtu` bytes (a path's PLPMTU), at most the user's chunkSize. */
export function chunkSizeFor(o: ResolvedOptions, mtu: number): number {
  return Math.min(o.chunkSizeLimit, maxChunkSize(mtu, o.authenticateData));
}

/** The chunk types we ask the peer to authenticate: ASCONF and ASCONF-ACK, and DATA if asked. */
export function authChunksFor(authenticateData: boolean): readonly number[] {
  return authenticateData ? [...AUTH_CHUNKS, ChunkType.DATA] : AUTH_CHUNKS;
}

export function resolveOptions(o: SctpOptions = {}): ResolvedOptions {
  return withDeadPeer(resolveCounts(o), o);
}

/**
 * The contract's dead-peer times (transport.ts DeadPeerOptions) as RFC 9260 counts: the largest
 * Max.Init.Retransmits whose connect bound, and Association.Max.Retrans whose busy bound, fit the
 * time (at least 1 and 1); then HB.interval and Association.Max.Retrans lowered until the idle
 * bound fits. An explicit count in the options wins over a time.
 */
function withDeadPeer(r: ResolvedOptions, o: SctpOptions): ResolvedOptions {
  let out = r;
  const largest = (fits: (k: number) => boolean): number => {
    let k = 1;
    while (k < 30 && fits(k + 1)) k++;
    return k;
  };
  if (o.connectTimeoutMs !== undefined && o.maxInitRetransmits === undefined) {
    out = { ...out, maxInitRetransmits: largest((k) => connectBound({ ...out, maxInitRetransmits: k }) <= o.connectTimeoutMs!) };
  }
  if (o.userTimeoutMs !== undefined && o.associationMaxRetrans === undefined) {
    const amr = largest((k) => busyDeadPeerBound({ ...out, associationMaxRetrans: k }) <= o.userTimeoutMs!);
    out = { ...out, associationMaxRetrans: amr, pathMaxRetrans: Math.min(out.pathMaxRetrans, Math.max(0, amr - 1)) };
  }
  if (o.idleTimeoutMs !== undefined) {
    // HB.interval down to 1 s first, then Association.Max.Retrans down to 1, then HB.interval to 0.
    let hb = out.heartbeatInterval;
    let amr = out.associationMaxRetrans;
    const free = o.heartbeatInterval === undefined;
    const freeAmr = o.associationMaxRetrans === undefined;
    while (idleDeadPeerBound({ ...out, heartbeatInterval: hb, associationMaxRetrans: amr }) > o.idleTimeoutMs) {
      if (free && hb > 1000) hb -= 100;
      else if (freeAmr && amr > 1) amr--;
      else if (free && hb > 0) hb = Math.max(0, hb - 100);
      else break;
    }
    out = { ...out, heartbeatInterval: hb, associationMaxRetrans: amr, pathMaxRetrans: Math.min(out.pathMaxRetrans, Math.max(0, amr - 1)) };
  }
  return out;
}

/** The PLPMTUD settings of these options, undefined when off. */
export function resolvePlpmtud(o: SctpOptions): PlpmtudConfig | undefined {
  if (o.plpmtud === undefined || o.plpmtud === false) return undefined;
  const given = o.plpmtud === true ? {} : o.plpmtud;
  const max = given.max ?? o.mtu ?? PLPMTUD_DEFAULTS.max;
  const base = Math.min(given.base ?? PLPMTUD_DEFAULTS.base, max);
  return { ...PLPMTUD_DEFAULTS, ...given, base, max };
}

function resolveCounts(o: SctpOptions): ResolvedOptions {
  const plpmtud = resolvePlpmtud(o);
  const mtu = plpmtud?.max ?? o.mtu ?? 1280;
  const advertiseAuth = o.advertiseAuth ?? true;
  const authenticateData = advertiseAuth && (o.authenticateData ?? true);
  const largest = maxChunkSize(mtu, authenticateData);
  return {
    mode: o.mode ?? 'stream',
    mtu,
    plpmtud,
    chunkSizeLimit: o.chunkSize ?? Infinity,
    authenticateData,
    chunkSize: Math.min(o.chunkSize ?? largest, largest),
    rto: { ...SCTP_RTO, ...o.rto },
    pathMaxRetrans: o.pathMaxRetrans ?? 2,
    associationMaxRetrans: o.associationMaxRetrans ?? 5,
    maxInitRetransmits: o.maxInitRetransmits ?? 4,
    heartbeatInterval: o.heartbeatInterval ?? 5000,
    delayedSackTime: o.delayedSackTime ?? 200,
    cookieLifetime: o.cookieLifetime ?? 60000,
    outboundStreams: o.outboundStreams ?? 16,
    inboundStreams: o.inboundStreams ?? 16,
    advertiseAuth,
    authChunks: o.partialReliability === undefined ? authChunksFor(authenticateData) : [...authChunksFor(authenticateData), ChunkType.FORWARD_TSN],
    maxBurst: o.maxBurst ?? 4,
    partialReliability: o.partialReliability,
    extraInitParams: o.partialReliability === undefined ? o.extraInitParams : (chunk) => [...(o.extraInitParams?.(chunk) ?? []), FORWARD_TSN_SUPPORTED],
    ppid: o.ppid ?? 0,
    random: o.random ?? cryptoRandom,
    sendBufferSize: o.sendBufferSize ?? 4 * 1024 * 1024,
    receiveWindow: o.receiveWindow ?? 1024 * 1024,
    remotePort: o.remotePort,
  };
}
