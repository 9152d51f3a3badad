// Parameters (RFC 9260 §3.2.1, §3.3.2.1; RFC 4895 §3; RFC 5061 §4.2), ASCONF parameters and error
// causes (RFC 9260 §3.3.10): parse from checked ranges, emit into a caller's buffer.
//
// Parsing works on absolute offsets into one packet buffer and throws WireError; parse.ts catches
// it, so nothing escapes parsePacket. Byte fields are subarrays of the input (zero copy).
import { LocalUsageError } from '../../transport-abstraction/errors.js';
import { ipv4FromBytes, ipv4ToBytes, ipv6FromBytes, ipv6ToBytes } from './address.js';
import { put16, put32, u16, u32, zero } from './bytes.js';
import { WireError } from './errors.js';
import { AsconfParam as AP, Tlv, pad4 } from './layout.js';
import { ParamType, type AsconfParam, type ErrorCause, type Param } from './types.js';

/** What the upper two bits of an unrecognized chunk or parameter type ask for (RFC 9260 §3.2, §3.2.1). */
export type UnknownAction =
  | 'stop' // 00: stop processing (the packet / the chunk), discard, do not report
  | 'stop-report' // 01: the same, and report it (ERROR with Unrecognized Chunk Type / Unrecognized Parameter)
  | 'skip' // 10: skip it and continue processing
  | 'skip-report'; // 11: skip it, continue, and report it

const ACTIONS: readonly UnknownAction[] = ['stop', 'stop-report', 'skip', 'skip-report'];

/** Action bits of an 8-bit chunk type (upper two bits). */
export function unknownChunkAction(type: number): UnknownAction {
  return ACTIONS[(type >>> 6) & 3]!;
}

/** Action bits of a 16-bit parameter type (upper two bits). */
export function unknownParamAction(type: number): UnknownAction {
  return ACTIONS[(type >>> 14) & 3]!;
}

/**
 * Walk the TLVs in b[start, end). Each must have length >= 4 and fit inside `end`; the last one's
 * padding may be missing (RFC 9260 §3.2: accept either). `visit` returns false to stop early.
 */
export function walkTlvs(
  b: Uint8Array,
  start: number,
  end: number,
  visit: (type: number, tlvStart: number, length: number) => boolean,
): void {
  let o = start;
  while (o < end) {
    if (end - o < Tlv.HEADER_LENGTH) throw new WireError('SCTP_WIRE_PARAM_LENGTH', 'truncated parameter header', o);
    const length = u16(b, o + Tlv.LENGTH);
    if (length < Tlv.HEADER_LENGTH || o + length > end) {
      throw new WireError('SCTP_WIRE_PARAM_LENGTH', `parameter length ${length} impossible here`, o);
    }
    if (!visit(u16(b, o + Tlv.TYPE), o, length)) return;
    o += pad4(length);
  }
}

function expectLength(o: number, length: number, want: number, what: string): void {
  if (length !== want) throw new WireError('SCTP_WIRE_PARAM_LENGTH', `${what} parameter length ${length}, want ${want}`, o);
}

/** One parameter at b[o, o + length). */
export function parseParam(b: Uint8Array, o: number, length: number): Param {
  const type = u16(b, o);
  const v = o + Tlv.VALUE;
  const end = o + length;
  switch (type) {
    case ParamType.HEARTBEAT_INFO:
      return { type, kind: 'heartbeat-info', info: b.subarray(v, end) };
    case ParamType.IPV4_ADDRESS:
      expectLength(o, length, 8, 'IPv4 address');
      return { type, kind: 'ipv4', address: ipv4FromBytes(b, v) };
    case ParamType.IPV6_ADDRESS:
      expectLength(o, length, 20, 'IPv6 address');
      return { type, kind: 'ipv6', address: ipv6FromBytes(b, v) };
    case ParamType.STATE_COOKIE:
      return { type, kind: 'state-cookie', cookie: b.subarray(v, end) };
    case ParamType.UNRECOGNIZED_PARAMETER:
      return { type, kind: 'unrecognized-parameter', parameter: b.subarray(v, end) };
    case ParamType.COOKIE_PRESERVATIVE:
      expectLength(o, length, 8, 'Cookie Preservative');
      return { type, kind: 'cookie-preservative', increment: u32(b, v) };
    case ParamType.SUPPORTED_ADDRESS_TYPES:
      return { type, kind: 'supported-address-types', types: list16(b, o, v, end) };
    case ParamType.ECN_CAPABLE:
      expectLength(o, length, 4, 'ECN Capable');
      return { type, kind: 'ecn-capable' };
    case ParamType.RANDOM:
      return { type, kind: 'random', random: b.subarray(v, end) };
    case ParamType.CHUNKS:
      return { type, kind: 'chunks', chunkTypes: Array.from(b.subarray(v, end)) };
    case ParamType.HMAC_ALGO:
      return { type, kind: 'hmac-algo', hmacIds: list16(b, o, v, end) };
    case ParamType.SUPPORTED_EXTENSIONS:
      return { type, kind: 'supported-extensions', chunkTypes: Array.from(b.subarray(v, end)) };
    case ParamType.FORWARD_TSN_SUPPORTED:
      expectLength(o, length, 4, 'Forward-TSN-Supported');
      return { type, kind: 'forward-tsn-supported' };
    case ParamType.ADAPTATION_LAYER_INDICATION:
      expectLength(o, length, 8, 'Adaptation Layer Indication');
      return { type, kind: 'adaptation-layer', indication: u32(b, v) };
    case ParamType.BATON_X25519_KEY:
      expectLength(o, length, 36, 'baton x25519 key');
      return { type, kind: 'baton-x25519', publicKey: b.subarray(v, end) };
    default:
      return { type, kind: 'unknown', value: b.subarray(v, end) };
  }
}

function list16(b: Uint8Array, o: number, v: number, end: number): number[] {
  if ((end - v) & 1) throw new WireError('SCTP_WIRE_PARAM_LENGTH', 'odd length for a list of 16-bit values', o);
  const out: number[] = [];
  for (let i = v; i < end; i += 2) out.push(u16(b, i));
  return out;
}

/**
 * The parameters in b[start, end). Parsing stops after an unknown parameter whose action is
 * stop/stop-report: it is the last element, and the receiver discards the chunk anyway.
 */
export function parseParams(b: Uint8Array, start: number, end: number): Param[] {
  const out: Param[] = [];
  walkTlvs(b, start, end, (_type, o, length) => {
    const p = parseParam(b, o, length);
    out.push(p);
    return !(p.kind === 'unknown' && (p.type & 0x8000) === 0);
  });
  return out;
}

export function parseErrorCauses(b: Uint8Array, start: number, end: number): ErrorCause[] {
  const out: ErrorCause[] = [];
  walkTlvs(b, start, end, (code, o, length) => {
    out.push({ code, info: b.subarray(o + Tlv.VALUE, o + length) });
    return true;
  });
  return out;
}

/** One ASCONF / ASCONF-ACK parameter at b[o, o + length) (RFC 5061 §4.2; baton takeover). */
export function parseAsconfParam(b: Uint8Array, o: number, length: number): AsconfParam {
  const type = u16(b, o);
  const end = o + length;
  switch (type) {
    case ParamType.ADD_IP_ADDRESS:
    case ParamType.DELETE_IP_ADDRESS:
    case ParamType.SET_PRIMARY_ADDRESS: {
      if (length < AP.BODY + Tlv.HEADER_LENGTH) {
        throw new WireError('SCTP_WIRE_PARAM_LENGTH', `ASCONF address parameter length ${length} too short`, o);
      }
      let address: Param | undefined;
      walkTlvs(b, o + AP.BODY, end, (_t, to, tl) => {
        if (address !== undefined) throw new WireError('SCTP_WIRE_MALFORMED', 'more than one address in an ASCONF parameter', to);
        address = parseParam(b, to, tl);
        return true;
      });
      const kind = type === ParamType.ADD_IP_ADDRESS ? 'add-ip' : type === ParamType.DELETE_IP_ADDRESS ? 'delete-ip' : 'set-primary';
      return { type, kind, correlationId: u32(b, o + AP.CORRELATION_ID), address: address! };
    }
    case ParamType.SUCCESS_INDICATION:
      expectLength(o, length, 8, 'Success Indication');
      return { type, kind: 'success', correlationId: u32(b, o + AP.CORRELATION_ID) };
    case ParamType.ERROR_CAUSE_INDICATION:
      if (length < AP.BODY) throw new WireError('SCTP_WIRE_PARAM_LENGTH', `Error Cause Indication length ${length}`, o);
      return {
        type,
        kind: 'error-cause',
        correlationId: u32(b, o + AP.CORRELATION_ID),
        causes: parseErrorCauses(b, o + AP.BODY, end),
      };
    case ParamType.BATON_TAKEOVER:
      expectLength(o, length, 8, 'baton takeover');
      return { type, kind: 'baton-takeover', requestNumber: u32(b, o + Tlv.VALUE) };
    default:
      return { type, kind: 'unknown', value: b.subarray(o + Tlv.VALUE, end) };
  }
}

export function parseAsconfParams(b: Uint8Array, start: number, end: number): AsconfParam[] {
  const out: AsconfParam[] = [];
  walkTlvs(b, start, end, (_type, o, length) => {
    const p = parseAsconfParam(b, o, length);
    out.push(p);
    return !(p.kind === 'unknown' && (p.type & 0x8000) === 0);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Emit. Lengths are unpadded; a list's length counts the padding of every element but the last
// (RFC 9260 §3.2: the chunk length includes the padding of all parameters except the last).

const H = Tlv.HEADER_LENGTH;

/** A list of TLVs laid end to end: every element padded except the last. */
export function listLength<T>(items: readonly T[], length: (item: T) => number): number {
  let n = 0;
  for (let i = 0; i < items.length; i++) n += i === items.length - 1 ? length(items[i]!) : pad4(length(items[i]!));
  return n;
}

/** Write a list at b[o]; returns the unpadded length written (padding between items is zeroed). */
export function writeList<T>(b: Uint8Array, o: number, items: readonly T[], write: (b: Uint8Array, o: number, item: T) => number): number {
  let at = o;
  for (let i = 0; i < items.length; i++) {
    const n = write(b, at, items[i]!);
    if (i === items.length - 1) return at + n - o;
    zero(b, at + n, at + pad4(n));
    at += pad4(n);
  }
  return 0;
}

/** Unpadded length of a parameter's TLV. */
export function paramLength(p: Param): number {
  switch (p.kind) {
    case 'heartbeat-info':
      return H + p.info.length;
    case 'ipv4':
      return H + 4;
    case 'ipv6':
      return 20;
    case 'state-cookie':
      return H + p.cookie.length;
    case 'unrecognized-parameter':
      return H + p.parameter.length;
    case 'cookie-preservative':
    case 'adaptation-layer':
      return H + 4;
    case 'supported-address-types':
      return H + 2 * p.types.length;
    case 'ecn-capable':
    case 'forward-tsn-supported':
      return H;
    case 'random':
      return H + p.random.length;
    case 'chunks':
    case 'supported-extensions':
      return H + p.chunkTypes.length;
    case 'hmac-algo':
      return H + 2 * p.hmacIds.length;
    case 'baton-x25519':
      return H + p.publicKey.length;
    case 'unknown':
      return H + p.value.length;
  }
}

/** Write a parameter at b[o]; returns its unpadded length. */
export function writeParam(b: Uint8Array, o: number, p: Param): number {
  const n = paramLength(p);
  if (n > 0xffff) throw new LocalUsageError(`parameter type ${p.type} of ${n} bytes does not fit the 16-bit length field`);
  put16(b, o + Tlv.TYPE, p.type);
  put16(b, o + Tlv.LENGTH, n);
  const v = o + Tlv.VALUE;
  switch (p.kind) {
    case 'heartbeat-info':
      b.set(p.info, v);
      break;
    case 'ipv4':
      b.set(ipv4ToBytes(p.address), v);
      break;
    case 'ipv6':
      b.set(ipv6ToBytes(p.address), v);
      break;
    case 'state-cookie':
      b.set(p.cookie, v);
      break;
    case 'unrecognized-parameter':
      b.set(p.parameter, v);
      break;
    case 'cookie-preservative':
      put32(b, v, p.increment);
      break;
    case 'adaptation-layer':
      put32(b, v, p.indication);
      break;
    case 'supported-address-types':
      for (let i = 0; i < p.types.length; i++) put16(b, v + 2 * i, p.types[i]!);
      break;
    case 'ecn-capable':
    case 'forward-tsn-supported':
      break;
    case 'random':
      b.set(p.random, v);
      break;
    case 'chunks':
    case 'supported-extensions':
      for (let i = 0; i < p.chunkTypes.length; i++) b[v + i] = p.chunkTypes[i]!;
      break;
    case 'hmac-algo':
      for (let i = 0; i < p.hmacIds.length; i++) put16(b, v + 2 * i, p.hmacIds[i]!);
      break;
    case 'baton-x25519':
      b.set(p.publicKey, v);
      break;
    case 'unknown':
      b.set(p.value, v);
      break;
  }
  return n;
}

export function errorCauseLength(c: ErrorCause): number {
  return H + c.info.length;
}

export function writeErrorCause(b: Uint8Array, o: number, c: ErrorCause): number {
  const n = errorCauseLength(c);
  if (n > 0xffff) throw new LocalUsageError(`error cause ${c.code} of ${n} bytes does not fit the 16-bit length field`);
  put16(b, o + Tlv.TYPE, c.code);
  put16(b, o + Tlv.LENGTH, n);
  b.set(c.info, o + Tlv.VALUE);
  return n;
}

export function asconfParamLength(p: AsconfParam): number {
  switch (p.kind) {
    case 'add-ip':
    case 'delete-ip':
    case 'set-primary':
      return AP.BODY + paramLength(p.address);
    case 'success':
    case 'baton-takeover':
      return H + 4;
    case 'error-cause':
      return AP.BODY + listLength(p.causes, errorCauseLength);
    case 'unknown':
      return H + p.value.length;
  }
}

export function writeAsconfParam(b: Uint8Array, o: number, p: AsconfParam): number {
  const n = asconfParamLength(p);
  if (n > 0xffff) throw new LocalUsageError(`ASCONF parameter type ${p.type} of ${n} bytes does not fit the 16-bit length field`);
  put16(b, o + Tlv.TYPE, p.type);
  put16(b, o + Tlv.LENGTH, n);
  switch (p.kind) {
    case 'add-ip':
    case 'delete-ip':
    case 'set-primary':
      put32(b, o + AP.CORRELATION_ID, p.correlationId);
      writeParam(b, o + AP.BODY, p.address);
      break;
    case 'success':
      put32(b, o + AP.CORRELATION_ID, p.correlationId);
      break;
    case 'error-cause':
      put32(b, o + AP.CORRELATION_ID, p.correlationId);
      writeList(b, o + AP.BODY, p.causes, writeErrorCause);
      break;
    case 'baton-takeover':
      put32(b, o + Tlv.VALUE, p.requestNumber);
      break;
    case 'unknown':
      b.set(p.value, o + Tlv.VALUE);
      break;
  }
  return n;
}

/** A parameter as its own byte string (unpadded), e.g. to put inside an Unrecognized Parameter cause. */
export function emitParam(p: Param): Uint8Array {
  const b = new Uint8Array(paramLength(p));
  writeParam(b, 0, p);
  return b;
}

/** An error cause as its own byte string (unpadded), e.g. for an ERROR or ABORT built by hand. */
export function emitErrorCause(c: ErrorCause): Uint8Array {
  const b = new Uint8Array(errorCauseLength(c));
  writeErrorCause(b, 0, c);
  return b;
}

export function emitAsconfParam(p: AsconfParam): Uint8Array {
  const b = new Uint8Array(asconfParamLength(p));
  writeAsconfParam(b, 0, p);
  return b;
}
