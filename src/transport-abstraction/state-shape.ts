// The shape check importState() runs before a core touches a TransportState: every field of
// proto/transport_state.proto has its type and range (uint32, uint64, bool, bytes, string,
// repeated, nested), and exactly one transport is set. Pure (no schema read from disk, unlike the
// protobuf codec in state.ts), so a sans-IO core can call it. A state that fails throws
// LocalUsageError: the caller handed the core something that is not a state.
import { LocalUsageError } from './errors.js';
import type { TransportState } from './state-types.js';
import type { TransportKind } from './transport.js';

type Field = 'u16' | 'u32' | 'u64' | 'bool' | 'bool?' | 'bytes' | 'bytes?' | 'string' | readonly [Shape] | readonly ['u32'] | Shape | Optional;
/** A nested message that may be absent (added after states were first stored). */
class Optional {
  constructor(readonly shape: Shape) {}
}
interface Shape {
  readonly [name: string]: Field;
}

const ENDPOINT: Shape = { address: 'string', port: 'u32', udpPort: 'u32' };
const TSN_RUN: Shape = { firstTsn: 'u32', streamOffset: 'u64', bytesPerTsn: 'u32', tsnCount: 'u32', streamId: 'u32', firstSsn: 'u32' };
const SCTP: Shape = {
  localVerificationTag: 'u32',
  peerVerificationTag: 'u32',
  localInitialTsn: 'u32',
  peerInitialTsn: 'u32',
  tsnMap: [TSN_RUN],
  localKeyVector: 'bytes',
  peerKeyVector: 'bytes',
  endpointPairKey: 'bytes',
  hmacId: 'u32',
  sharedKeyId: 'u32',
  x25519Agreed: 'bool',
  peerAddresses: [ENDPOINT],
  localAddresses: [ENDPOINT],
  nextAsconfSerial: 'u32',
  peerAsconfSerial: 'u32',
  // 16-bit on the wire (RFC 9260 §3.3.2); the core sizes per-stream tables by them.
  outboundStreams: 'u16',
  inboundStreams: 'u16',
  peerCumulativeTsn: 'u32',
  peerReceiverWindow: 'u32',
  inboundNextSsn: ['u32'],
  pathMtu: 'u32',
  peerStreamOffset: 'u64',
  peerX25519Key: 'bytes?',
  peerForwardTsn: 'bool?',
  outboundSsns: new Optional({ nextTsn: 'u32', nextSsn: ['u32'] }),
};
const TCP: Shape = {
  initiatorIsn: 'u32',
  acceptorIsn: 'u32',
  token: 'bytes',
  connectionKey: 'bytes',
  mss: 'u32',
  sackPermitted: 'bool',
  localWindowScale: 'u32',
  peerWindowScale: 'u32',
  lastMigrateRequest: 'u32',
  sndUna: 'u32',
  sndNxt: 'u32',
  rcvNxt: 'u32',
  peerWindow: 'u32',
  localIsInitiator: 'bool',
  unknownOptions: 'bytes',
  peerPublicKey: 'bytes?',
};
const STATE: Shape = {
  client: ENDPOINT,
  server: ENDPOINT,
  takeoverNumber: 'u32',
  ownerId: 'string',
  takenAtMs: 'u64',
  streamBytesSent: 'u64',
  streamBytesAcked: 'u64',
};

function fail(at: string, what: string, v: unknown): never {
  const shown = typeof v === 'object' && v !== null ? (Array.isArray(v) ? 'an array' : 'an object') : String(v);
  throw new LocalUsageError(`importState: ${at} must be ${what}, got ${shown}`);
}

function checkField(f: Field, v: unknown, at: string): void {
  if (f === 'u16') {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) fail(at, 'a uint16', v);
  } else if (f === 'u32') {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(at, 'a uint32', v);
  } else if (f === 'u64') {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(at, 'a non-negative safe integer', v);
  } else if (f === 'bool' || f === 'bool?') {
    if (typeof v !== 'boolean' && !(f === 'bool?' && v === undefined)) fail(at, 'a boolean', v);
  } else if (f === 'bytes' || f === 'bytes?') {
    if (!(v instanceof Uint8Array) && !(f === 'bytes?' && v === undefined)) fail(at, 'a Uint8Array', v);
  } else if (f === 'string') {
    if (typeof v !== 'string') fail(at, 'a string', v);
  } else if (f instanceof Optional) {
    if (v !== undefined) checkShape(f.shape, v, at);
  } else if (Array.isArray(f)) {
    if (!Array.isArray(v)) fail(at, 'an array', v);
    (v as unknown[]).forEach((x, i) => checkField(f[0] as Field, x, `${at}[${i}]`));
  } else {
    checkShape(f as Shape, v, at);
  }
}

function checkShape(shape: Shape, v: unknown, at: string): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(at, 'an object', v);
  const o = v as Record<string, unknown>;
  for (const [name, f] of Object.entries(shape)) checkField(f, o[name], `${at}.${name}`);
}

/**
 * Throw LocalUsageError unless `state` is a TransportState of `kind` with every field of its type
 * (the optional `stream` mapping is not a core's business and is not checked).
 */
export function checkTransportState(state: unknown, kind: TransportKind): asserts state is TransportState {
  checkShape(STATE, state, 'state');
  const s = state as Record<string, unknown>;
  const own = kind === 'sctp' ? 'sctp' : 'tcp';
  const other = kind === 'sctp' ? 'tcp' : 'sctp';
  if (s[own] === undefined || s[own] === null) {
    throw new LocalUsageError(`importState: not ${kind === 'sctp' ? 'an SCTP' : 'a TCP-Migrate'} state (${own} is unset${s[other] ? `; it is a ${other} state` : ''})`);
  }
  if (s[other] !== undefined && s[other] !== null) throw new LocalUsageError('importState: exactly one of sctp/tcp must be set');
  checkShape(kind === 'sctp' ? SCTP : TCP, s[own], `state.${own}`);
}
