// The parsed forms ("Repr"s, in smoltcp's words) of SCTP packets, chunks, parameters and error
// causes: RFC 9260 plus AUTH (RFC 4895) and ASCONF/ASCONF-ACK (RFC 5061), carried in UDP (RFC 6951).
// parse.ts turns checked bytes into these; emit.ts turns these into bytes. Unknown chunks,
// parameters and causes are kept as raw bytes so they can be reported or passed on.

export const ChunkType = {
  DATA: 0,
  INIT: 1,
  INIT_ACK: 2,
  SACK: 3,
  HEARTBEAT: 4,
  HEARTBEAT_ACK: 5,
  ABORT: 6,
  SHUTDOWN: 7,
  SHUTDOWN_ACK: 8,
  ERROR: 9,
  COOKIE_ECHO: 10,
  COOKIE_ACK: 11,
  ECNE: 12,
  CWR: 13,
  SHUTDOWN_COMPLETE: 14,
  AUTH: 15,
  ASCONF_ACK: 0x80,
  PAD: 0x84,
  FORWARD_TSN: 0xc0,
  ASCONF: 0xc1,
} as const;
export type ChunkTypeValue = (typeof ChunkType)[keyof typeof ChunkType];

export const ParamType = {
  HEARTBEAT_INFO: 1,
  IPV4_ADDRESS: 5,
  IPV6_ADDRESS: 6,
  STATE_COOKIE: 7,
  UNRECOGNIZED_PARAMETER: 8,
  COOKIE_PRESERVATIVE: 9,
  HOST_NAME_ADDRESS: 11,
  SUPPORTED_ADDRESS_TYPES: 12,
  ECN_CAPABLE: 0x8000,
  RANDOM: 0x8002,
  CHUNKS: 0x8003,
  HMAC_ALGO: 0x8004,
  SUPPORTED_EXTENSIONS: 0x8008,
  FORWARD_TSN_SUPPORTED: 0xc000,
  ADD_IP_ADDRESS: 0xc001,
  DELETE_IP_ADDRESS: 0xc002,
  ERROR_CAUSE_INDICATION: 0xc003,
  SET_PRIMARY_ADDRESS: 0xc004,
  SUCCESS_INDICATION: 0xc005,
  ADAPTATION_LAYER_INDICATION: 0xc006,
  // baton's own parameters. Top two bits 11: "skip this parameter and continue, reporting it"
  // would be 01; we choose 10 ("skip, do not report") so standard peers silently ignore them.
  BATON_X25519_KEY: 0xbaf1, // 32-byte x25519 public key, in INIT and INIT-ACK
  BATON_TAKEOVER: 0xbaf2, // 4-byte takeover request number, in ASCONF
} as const;

export const CauseCode = {
  INVALID_STREAM_IDENTIFIER: 1,
  MISSING_MANDATORY_PARAMETER: 2,
  STALE_COOKIE: 3,
  OUT_OF_RESOURCE: 4,
  UNRESOLVABLE_ADDRESS: 5,
  UNRECOGNIZED_CHUNK_TYPE: 6,
  INVALID_MANDATORY_PARAMETER: 7,
  UNRECOGNIZED_PARAMETERS: 8,
  NO_USER_DATA: 9,
  COOKIE_RECEIVED_WHILE_SHUTTING_DOWN: 10,
  RESTART_WITH_NEW_ADDRESSES: 11,
  USER_INITIATED_ABORT: 12,
  PROTOCOL_VIOLATION: 13,
  // RFC 5061
  REQUEST_TO_DELETE_LAST_ADDRESS: 0xa0,
  OPERATION_REFUSED_RESOURCE_SHORTAGE: 0xa1,
  REQUEST_TO_DELETE_SOURCE_ADDRESS: 0xa2,
  ASSOCIATION_ABORTED_ILLEGAL_ASCONF_ACK: 0xa3,
  REQUEST_REFUSED_NO_AUTHORIZATION: 0xa4,
  // RFC 4895
  UNSUPPORTED_HMAC_IDENTIFIER: 0x0105,
} as const;

export const HmacId = { SHA1: 1, SHA256: 3 } as const;

/** A TLV parameter. Known ones are decoded; anything else stays `unknown` with its raw value. */
export type Param =
  | { readonly type: 1; readonly kind: 'heartbeat-info'; readonly info: Uint8Array }
  | { readonly type: 5; readonly kind: 'ipv4'; readonly address: string }
  | { readonly type: 6; readonly kind: 'ipv6'; readonly address: string }
  | { readonly type: 7; readonly kind: 'state-cookie'; readonly cookie: Uint8Array }
  | { readonly type: 8; readonly kind: 'unrecognized-parameter'; readonly parameter: Uint8Array }
  | { readonly type: 9; readonly kind: 'cookie-preservative'; readonly increment: number }
  | { readonly type: 12; readonly kind: 'supported-address-types'; readonly types: readonly number[] }
  | { readonly type: 0x8000; readonly kind: 'ecn-capable' }
  | { readonly type: 0x8002; readonly kind: 'random'; readonly random: Uint8Array }
  | { readonly type: 0x8003; readonly kind: 'chunks'; readonly chunkTypes: readonly number[] }
  | { readonly type: 0x8004; readonly kind: 'hmac-algo'; readonly hmacIds: readonly number[] }
  | { readonly type: 0x8008; readonly kind: 'supported-extensions'; readonly chunkTypes: readonly number[] }
  | { readonly type: 0xc000; readonly kind: 'forward-tsn-supported' }
  | { readonly type: 0xc006; readonly kind: 'adaptation-layer'; readonly indication: number }
  | { readonly type: 0xbaf1; readonly kind: 'baton-x25519'; readonly publicKey: Uint8Array }
  | { readonly type: number; readonly kind: 'unknown'; readonly value: Uint8Array };

/**
 * An ASCONF request parameter (RFC 5061 §4.2): correlation id + address parameter; or a baton
 * takeover parameter; or something unknown. Responses in ASCONF-ACK use the same union.
 */
export type AsconfParam =
  | { readonly type: 0xc001 | 0xc002 | 0xc004; readonly kind: 'add-ip' | 'delete-ip' | 'set-primary'; readonly correlationId: number; readonly address: Param }
  | { readonly type: 0xc005; readonly kind: 'success'; readonly correlationId: number }
  | { readonly type: 0xc003; readonly kind: 'error-cause'; readonly correlationId: number; readonly causes: readonly ErrorCause[] }
  | { readonly type: 0xbaf2; readonly kind: 'baton-takeover'; readonly requestNumber: number }
  | { readonly type: number; readonly kind: 'unknown'; readonly value: Uint8Array };

export interface ErrorCause {
  readonly code: number;
  /** The cause-specific information, raw (for UNRECOGNIZED_*: the offending TLV; for
   * INVALID_STREAM_IDENTIFIER: stream id + reserved; for MISSING_MANDATORY_PARAMETER: the list). */
  readonly info: Uint8Array;
}

export interface GapBlock {
  /** Offsets from the cumulative TSN ack, as on the wire (start >= 1). */
  readonly start: number;
  readonly end: number;
}

export interface DataChunk {
  readonly type: 0;
  /** I (immediate SACK, RFC 7053), U (unordered), B (beginning), E (ending) flags. */
  readonly immediate: boolean;
  readonly unordered: boolean;
  readonly beginning: boolean;
  readonly ending: boolean;
  readonly tsn: number;
  readonly streamId: number;
  readonly ssn: number;
  readonly ppid: number;
  readonly userData: Uint8Array;
}

export interface InitChunk {
  /** 1 = INIT, 2 = INIT ACK (same layout). */
  readonly type: 1 | 2;
  readonly initiateTag: number;
  readonly advertisedReceiverWindow: number;
  readonly outboundStreams: number;
  readonly inboundStreams: number;
  readonly initialTsn: number;
  readonly params: readonly Param[];
}

export interface SackChunk {
  readonly type: 3;
  readonly cumulativeTsnAck: number;
  readonly advertisedReceiverWindow: number;
  readonly gapBlocks: readonly GapBlock[];
  readonly duplicateTsns: readonly number[];
}

export interface HeartbeatChunk {
  /** 4 = HEARTBEAT, 5 = HEARTBEAT ACK; both carry one Heartbeat Info parameter (kept raw). */
  readonly type: 4 | 5;
  readonly info: Uint8Array;
}

export interface AbortChunk {
  /** 6 = ABORT, 9 = ERROR (same layout, ERROR has no T bit). */
  readonly type: 6 | 9;
  /** T bit: the verification tag is the reflected one. */
  readonly reflectedTag: boolean;
  readonly causes: readonly ErrorCause[];
}

export interface ShutdownChunk {
  readonly type: 7;
  readonly cumulativeTsnAck: number;
}

export interface FlagOnlyChunk {
  /** SHUTDOWN ACK (8), COOKIE ACK (11), SHUTDOWN COMPLETE (14, T bit meaningful). */
  readonly type: 8 | 11 | 14;
  readonly reflectedTag: boolean;
}

export interface CookieEchoChunk {
  readonly type: 10;
  readonly cookie: Uint8Array;
}

export interface EcnChunk {
  /** ECNE (12) and CWR (13): one lowest-TSN field. */
  readonly type: 12 | 13;
  readonly tsn: number;
}

export interface AuthChunk {
  readonly type: 15;
  readonly sharedKeyId: number;
  readonly hmacId: number;
  readonly hmac: Uint8Array;
}

export interface ForwardTsnChunk {
  readonly type: 0xc0;
  readonly newCumulativeTsn: number;
  readonly streams: ReadonlyArray<{ readonly streamId: number; readonly ssn: number }>;
}

export interface AsconfChunk {
  readonly type: 0xc1;
  readonly serial: number;
  /** The mandatory address parameter (IPv4/IPv6) that identifies the association's sender. */
  readonly address: Param;
  readonly params: readonly AsconfParam[];
}

export interface AsconfAckChunk {
  readonly type: 0x80;
  readonly serial: number;
  readonly params: readonly AsconfParam[];
}

/**
 * PAD (RFC 4820 §3): filler that makes a packet a given size, e.g. a path MTU probe (RFC 8899
 * §6.2.1.2, HEARTBEAT + PAD). Type 0x84: a peer that does not know it skips it without reporting;
 * a receiver that knows it ignores the padding bytes, so only their number is kept.
 */
export interface PadChunk {
  readonly type: 0x84;
  /** Padding bytes after the 4-byte chunk header (the chunk's length field is 4 + padding). */
  readonly padding: number;
}

export interface UnknownChunk {
  readonly type: number;
  readonly kind: 'unknown';
  readonly flags: number;
  /** The whole chunk as received (header included, padding excluded), for ERROR reports. */
  readonly raw: Uint8Array;
}

export type Chunk =
  | DataChunk
  | InitChunk
  | SackChunk
  | HeartbeatChunk
  | AbortChunk
  | ShutdownChunk
  | FlagOnlyChunk
  | CookieEchoChunk
  | EcnChunk
  | AuthChunk
  | ForwardTsnChunk
  | AsconfChunk
  | AsconfAckChunk
  | PadChunk
  | UnknownChunk;

export interface Packet {
  readonly sourcePort: number;
  readonly destinationPort: number;
  readonly verificationTag: number;
  readonly chunks: readonly Chunk[];
}

// ------------------------------------------------------------------------------------------------
// Helpers (added by the wire layer; nothing above changed).

/** Every chunk parse.ts decodes. `switch (chunk.type)` narrows a KnownChunk to its interface. */
export type KnownChunk = Exclude<Chunk, UnknownChunk>;

/** True for a chunk type parse.ts did not recognise (kept raw). */
export function isUnknownChunk(c: Chunk): c is UnknownChunk {
  return (c as { kind?: unknown }).kind === 'unknown';
}

/** The same chunk, typed so that `switch (c.type)` narrows; undefined for an unknown chunk. */
export function asKnownChunk(c: Chunk): KnownChunk | undefined {
  return isUnknownChunk(c) ? undefined : (c as KnownChunk);
}
