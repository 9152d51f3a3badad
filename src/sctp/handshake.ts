// INIT / INIT ACK parameters (RFC 9260 §3.3.2-3, §5.1): what we offer — addresses, Supported
// Extensions (ASCONF, ASCONF-ACK, AUTH), the AUTH key-vector parameters RANDOM / CHUNKS / HMAC-ALGO
// (RFC 4895 §3, as usrsctp requires), extra parameters from hooks (baton's x25519 key) — and
// what we read from the peer's, including the unrecognized parameters to report (§3.2.1).
import { concat } from './wire/bytes.js';
import { emitParam, unknownParamAction } from './wire/params.js';
import { ChunkType, HmacId, ParamType, type InitChunk, type Param } from './wire/types.js';

/** Chunk types we ask the peer to authenticate (CHUNKS parameter). */
export const AUTH_CHUNKS: readonly number[] = [ChunkType.ASCONF, ChunkType.ASCONF_ACK];
export const SUPPORTED_EXTENSIONS: readonly number[] = [ChunkType.ASCONF, ChunkType.ASCONF_ACK, ChunkType.AUTH];
export const HMAC_ALGOS: readonly number[] = [HmacId.SHA256, HmacId.SHA1];

/** Our AUTH key-vector parameters, in the order RFC 4895 §6.1 concatenates them. */
export function authParams(random: Uint8Array, chunks: readonly number[] = AUTH_CHUNKS): Param[] {
  return [
    { type: ParamType.RANDOM, kind: 'random', random },
    { type: ParamType.CHUNKS, kind: 'chunks', chunkTypes: chunks },
    { type: ParamType.HMAC_ALGO, kind: 'hmac-algo', hmacIds: HMAC_ALGOS },
  ];
}

/** The parameters of our INIT or INIT ACK (cookie not included); `authChunks`: our CHUNKS list. */
export function offerParams(random: Uint8Array, localIps: readonly string[], extra: readonly Param[], advertiseAuth: boolean, authChunks: readonly number[] = AUTH_CHUNKS): Param[] {
  const out: Param[] = [];
  if (localIps.length > 1) {
    for (const ip of localIps) out.push(ip.includes(':') ? { type: 6, kind: 'ipv6', address: ip } : { type: 5, kind: 'ipv4', address: ip });
  }
  if (advertiseAuth) {
    out.push({ type: ParamType.SUPPORTED_EXTENSIONS, kind: 'supported-extensions', chunkTypes: SUPPORTED_EXTENSIONS });
    out.push(...authParams(random, authChunks));
  }
  out.push(...extra);
  return out;
}

/** The key vector (RFC 4895 §6.1): RANDOM, CHUNKS, HMAC-ALGO parameters as sent, concatenated. */
export function keyVector(params: readonly Param[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const kind of ['random', 'chunks', 'hmac-algo'] as const) {
    const p = params.find((x) => x.kind === kind);
    if (p) parts.push(emitParam(p));
  }
  return concat(parts);
}

export interface PeerInit {
  readonly tag: number;
  readonly rwnd: number;
  readonly outboundStreams: number;
  readonly inboundStreams: number;
  readonly initialTsn: number;
  /** IP addresses listed in the chunk (the packet's source is added by the caller). */
  readonly addresses: string[];
  readonly supportedExtensions: readonly number[];
  readonly keyVector: Uint8Array;
  readonly cookie: Uint8Array | undefined;
  readonly cookiePreservative: number;
  /** Unrecognized parameters whose action bits ask for a report, as raw TLVs. */
  readonly unrecognized: Uint8Array[];
  /** Every parameter, for hooks (x25519, AUTH). */
  readonly params: readonly Param[];
}

export type InitCheck = { readonly ok: true; readonly init: PeerInit } | { readonly ok: false; readonly problem: 'zero-tag' | 'zero-streams' };

export function readPeerInit(c: InitChunk): InitCheck {
  if (c.initiateTag === 0) return { ok: false, problem: 'zero-tag' };
  if (c.outboundStreams === 0 || c.inboundStreams === 0) return { ok: false, problem: 'zero-streams' };
  const addresses: string[] = [];
  const unrecognized: Uint8Array[] = [];
  let supportedExtensions: readonly number[] = [];
  let cookie: Uint8Array | undefined;
  let cookiePreservative = 0;
  for (const p of c.params) {
    switch (p.kind) {
      case 'ipv4':
      case 'ipv6':
        addresses.push(p.address);
        break;
      case 'supported-extensions':
        supportedExtensions = p.chunkTypes;
        break;
      case 'state-cookie':
        cookie = p.cookie;
        break;
      case 'cookie-preservative':
        cookiePreservative = p.increment;
        break;
      case 'unknown': {
        const action = unknownParamAction(p.type);
        if (action === 'stop-report' || action === 'skip-report') unrecognized.push(emitParam(p));
        break;
      }
      default:
        break;
    }
  }
  return {
    ok: true,
    init: {
      tag: c.initiateTag,
      rwnd: c.advertisedReceiverWindow,
      outboundStreams: c.outboundStreams,
      inboundStreams: c.inboundStreams,
      initialTsn: c.initialTsn,
      addresses,
      supportedExtensions,
      keyVector: keyVector(c.params),
      cookie,
      cookiePreservative,
      unrecognized,
      params: c.params,
    },
  };
}
