// Typed encode/decode of proto/transport_state.proto (TransportState, Announcement).
//
// Decoding is checked: before protobufjs sees the bytes, a schema-driven walker validates the wire
// format (tags, wire types, lengths, varints, UTF-8, integer ranges), so every fault in untrusted
// bytes becomes a StateDecodeError with a stable code and nothing else is ever thrown. Unknown
// fields (wire types 0, 1, 2, 5) are skipped as proto3 requires; groups (3, 4) are refused.
// The result is converted to the plain shapes of state-types.ts: camelCase, uint64 -> number,
// bytes -> fresh Uint8Array (never aliasing the input), every field present with its default.
import protobuf from 'protobufjs';
import { BatonError, LocalUsageError } from './errors.js';
import type { Announcement, AnnouncementAck, MonitorCommand, TransportState } from './state-types.js';
import { TRANSPORT_STATE_PROTO } from './state-schema.js';

export type StateDecodeErrorCode =
  | 'BATON_ERR_STATE_TRUNCATED' // the input ends inside a field
  | 'BATON_ERR_STATE_LENGTH' // a length prefix overruns its enclosing message, or exceeds MAX_STATE_BYTES
  | 'BATON_ERR_STATE_WIRE_TYPE' // wire type 3, 4, 6 or 7, or a known field with the wrong wire type
  | 'BATON_ERR_STATE_TAG' // field number 0, or a tag beyond 32 bits
  | 'BATON_ERR_STATE_VARINT' // a varint longer than 10 bytes or beyond 64 bits
  | 'BATON_ERR_STATE_UTF8' // a string field that is not valid UTF-8
  | 'BATON_ERR_STATE_RANGE' // uint32 >= 2^32, or uint64 > Number.MAX_SAFE_INTEGER
  | 'BATON_ERR_STATE_INVALID'; // schema rule broken (oneof not exactly one), or anything else

/** Bad bytes handed to decodeTransportState / decodeAnnouncement. */
export class StateDecodeError extends BatonError {
  declare readonly code: StateDecodeErrorCode;
  /** Byte offset in the input where the fault was found, when known. */
  readonly offset: number | undefined;
  constructor(code: StateDecodeErrorCode, message: string, offset?: number, options?: { cause?: unknown }) {
    super(code, offset === undefined ? message : `${message} (at byte ${offset})`, options);
    this.offset = offset;
  }
}

/** No length prefix may exceed this (64 MiB); larger lengths are BATON_ERR_STATE_LENGTH. */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Schema: parsed once from the embedded copy of proto/transport_state.proto (no file is read).

type Kind = 'uint32' | 'uint64' | 'bool' | 'string' | 'bytes' | 'message';

interface FieldInfo {
  readonly id: number;
  readonly name: string;
  readonly kind: Kind;
  readonly repeated: boolean;
  /** Absent from the plain object when not on the wire (oneof members, TransportState.stream). */
  readonly optional: boolean;
  message?: MessageInfo;
}

interface MessageInfo {
  readonly type: protobuf.Type;
  readonly byId: Map<number, FieldInfo>;
  readonly fields: FieldInfo[];
  /** Each oneof's member names; exactly one must be present. */
  readonly oneofs: string[][];
}

/** Singular message fields that stay undefined when absent (state-types.ts marks them `?`). */
const OPTIONAL_MESSAGE_FIELDS = new Set(['baton.v1.TransportState.stream', 'baton.v1.StreamMapping.resumeContext', 'baton.v1.StreamMapping.mediaClock', 'baton.v1.SctpState.outboundSsns']);

interface Schema {
  readonly transportState: MessageInfo;
  readonly announcement: MessageInfo;
  readonly announcementAck: MessageInfo;
  readonly monitorCommand: MessageInfo;
}

let schema: Schema | undefined;

function loadSchema(): Schema {
  if (schema) return schema;
  let root: protobuf.Root;
  try {
    root = protobuf.parse(TRANSPORT_STATE_PROTO).root;
    root.resolveAll();
  } catch (e) {
    throw new BatonError('BATON_ERR_STATE_SCHEMA', `cannot parse the embedded transport_state.proto: ${(e as Error).message}`, { cause: e });
  }
  const infos = new Map<string, MessageInfo>();
  const info = (type: protobuf.Type): MessageInfo => {
    const known = infos.get(type.fullName);
    if (known) return known;
    const m: MessageInfo = { type, byId: new Map(), fields: [], oneofs: type.oneofsArray.map((o) => [...o.oneof]) };
    infos.set(type.fullName, m);
    for (const f of type.fieldsArray) {
      f.resolve();
      const kind = fieldKind(f);
      const fi: FieldInfo = {
        id: f.id,
        name: f.name,
        kind,
        repeated: f.repeated,
        optional: kind === 'message' && (f.partOf !== null || OPTIONAL_MESSAGE_FIELDS.has(f.fullName.replace(/^\./, ''))),
      };
      m.byId.set(f.id, fi);
      m.fields.push(fi);
      if (kind === 'message') fi.message = info(f.resolvedType as protobuf.Type);
    }
    return m;
  };
  schema = {
    transportState: info(root.lookupType('baton.v1.TransportState')),
    announcement: info(root.lookupType('baton.v1.Announcement')),
    announcementAck: info(root.lookupType('baton.v1.AnnouncementAck')),
    monitorCommand: info(root.lookupType('baton.v1.MonitorCommand')),
  };
  return schema;
}

function fieldKind(f: protobuf.Field): Kind {
  if (f.map) throw new BatonError('BATON_ERR_STATE_SCHEMA', `map field ${f.fullName} not supported`);
  if (f.resolvedType instanceof protobuf.Type) return 'message';
  switch (f.type) {
    case 'uint32':
    case 'uint64':
    case 'bool':
    case 'string':
    case 'bytes':
      return f.type;
    default:
      throw new BatonError('BATON_ERR_STATE_SCHEMA', `field ${f.fullName} has unsupported type ${f.type}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

export function encodeTransportState(state: TransportState): Uint8Array {
  return encode(loadSchema().transportState, state);
}

export function decodeTransportState(bytes: Uint8Array): TransportState {
  return decode(loadSchema().transportState, bytes) as unknown as TransportState;
}

export function encodeAnnouncement(announcement: Announcement): Uint8Array {
  return encode(loadSchema().announcement, announcement);
}

/**
 * One connection as the bytes of Announcement.connections (its tag and length included). An
 * announcement's other fields (encodeAnnouncement with no connections) followed by any number of
 * these decode as that announcement with those connections (protobuf appends repeated fields), so
 * a sender encodes each state once however it cuts its announcements.
 */
export function encodeAnnouncedConnection(state: TransportState): Uint8Array {
  return encode(loadSchema().announcement, { connections: [state] });
}

export function decodeAnnouncement(bytes: Uint8Array): Announcement {
  return decode(loadSchema().announcement, bytes) as unknown as Announcement;
}

export function encodeAnnouncementAck(ack: AnnouncementAck): Uint8Array {
  return encode(loadSchema().announcementAck, ack);
}

export function decodeAnnouncementAck(bytes: Uint8Array): AnnouncementAck {
  return decode(loadSchema().announcementAck, bytes) as unknown as AnnouncementAck;
}

export function encodeMonitorCommand(command: MonitorCommand): Uint8Array {
  return encode(loadSchema().monitorCommand, command);
}

export function decodeMonitorCommand(bytes: Uint8Array): MonitorCommand {
  return decode(loadSchema().monitorCommand, bytes) as unknown as MonitorCommand;
}

// ---------------------------------------------------------------------------------------------
// Encoding: local misuse (wrong types, out-of-range numbers, oneof not exactly one) throws
// LocalUsageError before protobufjs sees the object.

function encode(info: MessageInfo, value: object): Uint8Array {
  checkObject(info, value, [info.type.name]);
  const out = info.type.encode(value).finish();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Where a check is: the message name, then field names and array indexes, pushed and popped as the
 * check walks (a state is checked at every announcement; the text is made only for an error).
 */
type CheckPath = Array<string | number>;

function misuse(path: CheckPath, message: string): never {
  const at = path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  throw new LocalUsageError(`${at}: ${message}`);
}

function checkObject(info: MessageInfo, value: unknown, path: CheckPath): void {
  if (typeof value !== 'object' || value === null) misuse(path, 'object expected');
  const obj = value as Record<string, unknown>;
  for (const f of info.fields) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    path.push(f.name);
    if (f.repeated) {
      if (!Array.isArray(v)) misuse(path, 'array expected');
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        checkValue(f, v[i], path);
        path.pop();
      }
    } else {
      checkValue(f, v, path);
    }
    path.pop();
  }
  for (const members of info.oneofs) {
    let present = 0;
    for (const n of members) if (obj[n] !== undefined && obj[n] !== null) present++;
    if (present !== 1) misuse(path, `exactly one of ${members.join('/')} must be set, got ${present}`);
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkValue(f: FieldInfo, v: unknown, path: CheckPath): void {
  switch (f.kind) {
    case 'uint32':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) misuse(path, `uint32 expected, got ${String(v)}`);
      return;
    case 'uint64':
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) misuse(path, `non-negative safe integer expected, got ${String(v)}`);
      return;
    case 'bool':
      if (typeof v !== 'boolean') misuse(path, 'boolean expected');
      return;
    case 'string':
      if (typeof v !== 'string') misuse(path, 'string expected');
      // A lone surrogate would be written as bytes that are not UTF-8, which decoding refuses.
      if (LONE_SURROGATE.test(v)) misuse(path, 'string has a lone surrogate (not encodable as UTF-8)');
      return;
    case 'bytes':
      if (!(v instanceof Uint8Array)) misuse(path, 'Uint8Array expected');
      return;
    case 'message':
      checkObject(f.message!, v, path);
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

function decode(info: MessageInfo, bytes: Uint8Array): Record<string, unknown> {
  if (!(bytes instanceof Uint8Array)) {
    throw new StateDecodeError('BATON_ERR_STATE_INVALID', 'input is not a Uint8Array');
  }
  new Walker(bytes).message(info, 0, bytes.length);
  let message: protobuf.Message;
  try {
    message = info.type.decode(bytes);
  } catch (e) {
    // The walker accepted the bytes, so this is not expected; still never leak a foreign type.
    throw new StateDecodeError('BATON_ERR_STATE_INVALID', `protobufjs: ${(e as Error)?.message}`, undefined, { cause: e });
  }
  return toPlain(info, message as unknown as Record<string, unknown>);
}

const TEXT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Validates the wire format of one message region against the schema. */
class Walker {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  private overrun(end: number, what: string): never {
    if (end === this.buf.length) throw new StateDecodeError('BATON_ERR_STATE_TRUNCATED', `input ends inside ${what}`, this.pos);
    throw new StateDecodeError('BATON_ERR_STATE_LENGTH', `${what} runs past the end of its enclosing message`, this.pos);
  }

  /** Reads a varint of up to 64 bits as [low32, high32]; sets this.hi. */
  private hi = 0;
  private varint(end: number, what: string): number {
    let lo = 0;
    let hi = 0;
    const start = this.pos;
    for (let i = 0; ; i++) {
      if (this.pos >= end) this.overrun(end, what);
      if (i === 10) throw new StateDecodeError('BATON_ERR_STATE_VARINT', `${what}: varint longer than 10 bytes`, start);
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else if (i < 9) hi |= bits << (7 * i - 32);
      else if (bits > 1) throw new StateDecodeError('BATON_ERR_STATE_VARINT', `${what}: varint beyond 64 bits`, start);
      else hi |= bits << 31;
      if (b < 0x80) break;
    }
    this.hi = hi >>> 0;
    return lo >>> 0;
  }

  private length(end: number, what: string): number {
    const start = this.pos;
    const lo = this.varint(end, `${what} length`);
    const len = this.hi * 2 ** 32 + lo;
    if (len > MAX_STATE_BYTES) {
      throw new StateDecodeError('BATON_ERR_STATE_LENGTH', `${what} length ${len} exceeds ${MAX_STATE_BYTES}`, start);
    }
    if (this.pos + len > end) {
      this.pos = start;
      this.overrun(end, `${what} (length ${len})`);
    }
    return len;
  }

  message(info: MessageInfo, start: number, end: number): void {
    this.pos = start;
    const seen = info.oneofs.length > 0 ? new Set<string>() : undefined;
    while (this.pos < end) {
      const tagAt = this.pos;
      const tag = this.varint(end, 'tag');
      if (this.hi !== 0) throw new StateDecodeError('BATON_ERR_STATE_TAG', 'tag beyond 32 bits', tagAt);
      const id = tag >>> 3;
      const wire = tag & 7;
      if (id === 0) throw new StateDecodeError('BATON_ERR_STATE_TAG', 'field number 0', tagAt);
      const f = info.byId.get(id);
      if (!f) {
        this.skip(wire, end, tagAt, `unknown field ${id}`);
        continue;
      }
      const what = `${info.type.name}.${f.name}`;
      seen?.add(f.name);
      if (f.kind === 'message') {
        if (wire !== 2) throw wrongWire(what, wire, tagAt);
        const len = this.length(end, what);
        const bodyEnd = this.pos + len;
        this.message(f.message!, this.pos, bodyEnd);
        this.pos = bodyEnd;
      } else if (f.kind === 'string' || f.kind === 'bytes') {
        if (wire !== 2) throw wrongWire(what, wire, tagAt);
        const len = this.length(end, what);
        if (f.kind === 'string') {
          try {
            TEXT.decode(this.buf.subarray(this.pos, this.pos + len));
          } catch {
            throw new StateDecodeError('BATON_ERR_STATE_UTF8', `${what} is not valid UTF-8`, this.pos);
          }
        }
        this.pos += len;
      } else if (wire === 0) {
        this.scalar(f, end, what);
      } else if (wire === 2 && f.repeated) {
        const len = this.length(end, what);
        const bodyEnd = this.pos + len;
        while (this.pos < bodyEnd) this.scalar(f, bodyEnd, what);
      } else {
        throw wrongWire(what, wire, tagAt);
      }
    }
    for (const members of info.oneofs) {
      const present = members.filter((n) => seen!.has(n));
      if (present.length !== 1) {
        throw new StateDecodeError(
          'BATON_ERR_STATE_INVALID',
          `${info.type.name}: exactly one of ${members.join('/')} must be present, found ${present.length}`,
          start,
        );
      }
    }
  }

  private scalar(f: FieldInfo, end: number, what: string): void {
    const at = this.pos;
    this.varint(end, what);
    if (f.kind === 'uint32' && this.hi !== 0) {
      throw new StateDecodeError('BATON_ERR_STATE_RANGE', `${what} does not fit in 32 bits`, at);
    }
    if (f.kind === 'uint64' && this.hi > 0x1fffff) {
      throw new StateDecodeError('BATON_ERR_STATE_RANGE', `${what} exceeds Number.MAX_SAFE_INTEGER`, at);
    }
  }

  private skip(wire: number, end: number, tagAt: number, what: string): void {
    switch (wire) {
      case 0:
        this.varint(end, what);
        return;
      case 1:
      case 5: {
        const n = wire === 1 ? 8 : 4;
        if (this.pos + n > end) this.overrun(end, what);
        this.pos += n;
        return;
      }
      case 2:
        this.pos += this.length(end, what);
        return;
      default:
        throw new StateDecodeError('BATON_ERR_STATE_WIRE_TYPE', `${what}: unsupported wire type ${wire}`, tagAt);
    }
  }
}

function wrongWire(what: string, wire: number, at: number): StateDecodeError {
  return new StateDecodeError('BATON_ERR_STATE_WIRE_TYPE', `${what}: wrong wire type ${wire}`, at);
}

/**
 * Fields added after states were first stored (the client's x25519 key for re-keying): optional in
 * state-types.ts, absent from the plain object when empty, so an older state decodes as it was.
 */
const ABSENT_WHEN_EMPTY: ReadonlySet<string> = new Set(['peerX25519Key', 'peerPublicKey', 'peerForwardTsn']);

/** protobufjs message -> plain object of state-types.ts, defaults filled. */
function toPlain(info: MessageInfo, m: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of info.fields) {
    const v = m?.[f.name];
    if (f.repeated) {
      out[f.name] = Array.isArray(v) ? v.map((x) => plainValue(f, x)) : [];
    } else if (f.kind === 'message') {
      if (v !== null && v !== undefined) out[f.name] = toPlain(f.message!, v as Record<string, unknown>);
      else if (!f.optional) out[f.name] = toPlain(f.message!, undefined);
    } else {
      const value = plainValue(f, v);
      if (ABSENT_WHEN_EMPTY.has(f.name) && ((value instanceof Uint8Array && value.length === 0) || value === false)) continue;
      out[f.name] = value;
    }
  }
  return out;
}

function plainValue(f: FieldInfo, v: unknown): unknown {
  switch (f.kind) {
    case 'uint32':
      return typeof v === 'number' ? v >>> 0 : 0;
    case 'uint64': {
      if (v === null || v === undefined) return 0;
      if (typeof v === 'number') return v;
      const long = v as { low: number; high: number };
      const n = (long.high >>> 0) * 2 ** 32 + (long.low >>> 0);
      if (!Number.isSafeInteger(n)) throw new StateDecodeError('BATON_ERR_STATE_RANGE', `${f.name} exceeds Number.MAX_SAFE_INTEGER`);
      return n;
    }
    case 'bool':
      return v === true;
    case 'string':
      return typeof v === 'string' ? v : '';
    case 'bytes':
      return v instanceof Uint8Array ? new Uint8Array(v) : new Uint8Array(0);
    case 'message':
      return toPlain(f.message!, v as Record<string, unknown>);
  }
}
