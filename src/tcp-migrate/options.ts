// TCP option codec (RFC 9293 §3.1, RFC 2018 SACK, RFC 7323 window scale and timestamps) plus the
// two Migrate options of draft-snoeren-tcp-migrate-00 as baton lays them out, and an extended data
// offset (EDO, after draft-ietf-tcpm-tcp-edo) for headers whose options pass 40 bytes.
//
// baton's Migrate options use experimental kinds of RFC 4727 in their original pre-RFC-6994 form,
// i.e. without an ExID (the ExID's two bytes would not fit a Migrate SYN's 40 bytes):
//
//   Migrate-Permitted   kind 253, length 34 — only on SYN and SYN/ACK
//     +--------+--------+------------------ 32 bytes ------------------+
//     |  253   |   34   |  x25519 public key (RFC 7748, little-endian u) |
//     +--------+--------+-----------------------------------------------+
//     The curve is identified by the length: 34 = x25519. (The draft put part of its ECDH key
//     in a Timestamp option; a 32-byte x25519 key fits whole.)
//
//   Migrate             kind 254, length 24 — only on a Migrate SYN (SYN without ACK)
//     byte 2:  bit 7 (0x80) P = Preload: the sender is a host other than the one that had the
//              connection (it preloaded state); bits 6..0: request number modulo 128 (the
//              32-bit takeover number's low bits; the client restores the rest, transport.ts)
//     byte 3:  flags: bit 0 (0x01) K = keep out-of-order data (baton's gap-fill mode: the
//              receiver keeps its out-of-order queue and reports SACK blocks in its SYN/ACK);
//              bits 7..1 reserved, sent as 0, covered by R
//     bytes 4..11:  token T (64 bits)
//     bytes 12..23: authenticator R (HMAC-SHA-256 truncated to 96 bits)
//
//   Migrate-Reset       kind 254, length 3 — only on RST, informational
//     byte 2: reason — 1 abort by the application, 2 taken over (the connection migrated away from
//     this address), 3 takeover refused (stale request number), 4 bad authenticator,
//     5 unknown token. A RST without it is a plain RST (the peer lost its state).
//
// The SYN: MSS (4) + SACK-Permitted (2) + Window Scale (3) + Timestamps (10) + Migrate-Permitted
// (34) = 53 bytes, past the 40 the 4-bit data offset can count. The TCP here travels inside UDP, so
// no middlebox reads its options, and baton extends the header as the TCP EDO draft does:
//
//   EDO Extension       kind 253, length 6, ExID 0x0ED0 (RFC 6994 experimental form)
//     +--------+--------+--------+--------+--------+--------+
//     |  253   |   6    |  0x0E  |  0xD0  |  Header_length  |
//     +--------+--------+--------+--------+--------+--------+
//     Header_length: the whole TCP header in bytes (fixed part, all options, padding), a
//     multiple of 4; the payload starts there.
//
//   Layout (emitHeaderOptions): EDO first, then the options in the caller's order as long as they
//   fit in 40 bytes, NOP-padded to a 4-byte boundary: that is where the data offset field points,
//   so a decoder that knows no EDO (tshark) reads these options whole. The rest follow, EOL-padded
//   to a multiple of 4, up to Header_length. Unlike the draft, baton uses EDO on a SYN (the draft
//   only negotiates it there): inside UDP both ends are baton, and the SYN is where the room is
//   needed. Only segments whose options pass 40 bytes carry it (a SYN or SYN/ACK with a key, a
//   Migrate SYN/ACK reporting more than 3 SACK blocks: migrate.ts sendMigrateReply);
//   every other segment has the plain layout: Timestamps + 3 SACK blocks fit in 40 (RFC 2018).
//
//   Group               kind 253, RFC 6994 form with ExID 0xBA70 ("baton"): clients behind NAT
//     +--------+--------+--------+--------+--------+---------------------------------+
//     |  253   | length |  0xBA  |  0x70  |  what  |  what 1: entries (4 or 16, IP)  |
//     +--------+--------+--------+--------+--------+---------------------------------+
//     what 1 = Group-List, only on a SYN/ACK: the serving wedge's support group, each entry a
//              length byte (4 or 16) and that many bytes of IPv4 / IPv6 address (README "Clients
//              behind NAT"); the client sends Group-Keepalives toward each (group.ts).
//     what 2 = Group-Keepalive (length 5): a client's keepalive toward a group member, sent on the
//              connection's ports from its UDP socket, so that a NAT keeps a binding open toward
//              the member; never answered with a RST.
//     what 3 = Group-Keepalive-Ack (length 5): a member's answer, for a connection it holds.
//     Lengths: 5 + 5a + 17b for a IPv4 and b IPv6 entries, never 34 or 6, so the kind's other
//     two uses (Migrate-Permitted: 34, EDO: 6) stay told apart by length first; a list that
//     would not fit in 255 bytes is cut (at most 50 IPv4 or 14 IPv6 addresses).
//
// parse never throws: a known kind with a wrong length is kept as { type: 'unknown', kind, data };
// only framing errors (a length < 2 or past the end) fail the whole option list.

export const OPT_EOL = 0;
export const OPT_NOP = 1;
export const OPT_MSS = 2;
export const OPT_WINDOW_SCALE = 3;
export const OPT_SACK_PERMITTED = 4;
export const OPT_SACK = 5;
export const OPT_TIMESTAMP = 8;
export const OPT_MIGRATE_PERMITTED = 253;
export const OPT_MIGRATE = 254;

export const MIGRATE_PERMITTED_LENGTH = 34;
/** The EDO Extension option's kind, length and RFC 6994 experiment identifier. */
export const OPT_EDO = 253;
export const EDO_LENGTH = 6;
export const EDO_EXID = 0x0ed0;
/** The Group option's kind and RFC 6994 experiment identifier, and its three uses ("what"). */
export const OPT_GROUP = 253;
export const GROUP_EXID = 0xba70;
export const GROUP_LIST = 1;
export const GROUP_KEEPALIVE = 2;
export const GROUP_KEEPALIVE_ACK = 3;
const GROUP_HEADER = 5;
const MAX_OPTION_LENGTH = 255;
/** RFC 7323 §2.3: the largest shift a window scale option may ask for. */
export const MAX_WINDOW_SHIFT = 14;
export const MIGRATE_LENGTH = 24;
export const MIGRATE_RESET_LENGTH = 3;
export const TOKEN_LENGTH = 8;
export const AUTHENTICATOR_LENGTH = 12;
export const MAX_OPTIONS_LENGTH = 40;
/** The most blocks one SACK option holds: its length byte counts 2 + 8 per block, at most 255. */
export const MAX_SACK_BLOCKS = 31;

export const MIGRATE_FLAG_PRELOAD = 0x80;
/** The Migrate option's ReqNo field: 7 bits, the takeover number modulo 128. */
export const REQUEST_FIELD_BITS = 7;
export const REQUEST_FIELD_MASK = (1 << REQUEST_FIELD_BITS) - 1;
export const MIGRATE_FLAG_KEEP = 0x01;

export const RESET_ABORT = 1;
export const RESET_TAKEN_OVER = 2;
export const RESET_REFUSED = 3;
export const RESET_BAD_AUTH = 4;
export const RESET_UNKNOWN_TOKEN = 5;

/** A SACK block [left, right) in wire sequence numbers. */
export interface SackBlock {
  readonly left: number;
  readonly right: number;
}

export type TcpOption =
  | { readonly type: 'mss'; readonly mss: number }
  | { readonly type: 'window-scale'; readonly shift: number }
  | { readonly type: 'sack-permitted' }
  | { readonly type: 'sack'; readonly blocks: readonly SackBlock[] }
  | { readonly type: 'timestamp'; readonly value: number; readonly echo: number }
  | { readonly type: 'migrate-permitted'; readonly curve: 'x25519'; readonly publicKey: Uint8Array }
  | {
      readonly type: 'migrate';
      readonly preload: boolean;
      readonly requestNumber: number;
      readonly keepOutOfOrder: boolean;
      /** The whole flags byte (byte 3), reserved bits included, as R covers it. */
      readonly flags: number;
      readonly token: Uint8Array;
      readonly authenticator: Uint8Array;
    }
  | { readonly type: 'migrate-reset'; readonly reason: number }
  /** Group-List: IPv4 (4 bytes) and IPv6 (16 bytes) addresses of the server's support group. */
  | { readonly type: 'group-list'; readonly addresses: readonly Uint8Array[] }
  | { readonly type: 'group-keepalive'; readonly ack: boolean }
  /** Framing, not a feature: parseSegment reads it and leaves it out of the segment's options. */
  | { readonly type: 'edo'; readonly headerLength: number }
  | { readonly type: 'unknown'; readonly kind: number; readonly data: Uint8Array };

export type OptionsResult = { readonly ok: true; readonly options: TcpOption[] } | { readonly ok: false; readonly error: string };

const NO_OPTIONS: TcpOption[] = [];

function u32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function putU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

/** Parses an option list. Never throws. Sub-arrays alias `bytes`. */
export function parseOptions(bytes: Uint8Array, start = 0, end = bytes.length): OptionsResult {
  if (start >= end) return { ok: true, options: NO_OPTIONS };
  const out: TcpOption[] = [];
  let i = start;
  while (i < end) {
    const kind = bytes[i]!;
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return { ok: false, error: `option kind ${kind} at ${i - start} has no length byte` };
    const len = bytes[i + 1]!;
    if (len < 2 || i + len > end) return { ok: false, error: `option kind ${kind} at ${i - start} has impossible length ${len}` };
    out.push(parseOne(bytes, kind, i, len));
    i += len;
  }
  return { ok: true, options: out };
}

function parseOne(b: Uint8Array, kind: number, i: number, len: number): TcpOption {
  const d = i + 2;
  switch (kind) {
    case OPT_MSS:
      if (len === 4) return { type: 'mss', mss: (b[d]! << 8) | b[d + 1]! };
      break;
    case OPT_WINDOW_SCALE:
      if (len === 3) return { type: 'window-scale', shift: b[d]! };
      break;
    case OPT_SACK_PERMITTED:
      if (len === 2) return { type: 'sack-permitted' };
      break;
    case OPT_SACK:
      if (len >= 10 && (len - 2) % 8 === 0) {
        const blocks: SackBlock[] = [];
        for (let p = d; p < i + len; p += 8) blocks.push({ left: u32(b, p), right: u32(b, p + 4) });
        return { type: 'sack', blocks };
      }
      break;
    case OPT_TIMESTAMP:
      if (len === 10) return { type: 'timestamp', value: u32(b, d), echo: u32(b, d + 4) };
      break;
    case OPT_MIGRATE_PERMITTED: // also OPT_EDO: the two are told apart by length (and ExID)
      if (len === MIGRATE_PERMITTED_LENGTH) return { type: 'migrate-permitted', curve: 'x25519', publicKey: b.subarray(d, d + 32) };
      if (len === EDO_LENGTH && ((b[d]! << 8) | b[d + 1]!) === EDO_EXID) return { type: 'edo', headerLength: (b[d + 2]! << 8) | b[d + 3]! };
      if (len >= GROUP_HEADER && ((b[d]! << 8) | b[d + 1]!) === GROUP_EXID) {
        const group = parseGroup(b, d + 3, i + len, b[d + 2]!);
        if (group !== undefined) return group;
      }
      break;
    case OPT_MIGRATE:
      if (len === MIGRATE_LENGTH) {
        const first = b[d]!;
        const flags = b[d + 1]!;
        return {
          type: 'migrate',
          preload: (first & MIGRATE_FLAG_PRELOAD) !== 0,
          requestNumber: first & REQUEST_FIELD_MASK,
          keepOutOfOrder: (flags & MIGRATE_FLAG_KEEP) !== 0,
          flags,
          token: b.subarray(d + 2, d + 2 + TOKEN_LENGTH),
          authenticator: b.subarray(d + 2 + TOKEN_LENGTH, d + 2 + TOKEN_LENGTH + AUTHENTICATOR_LENGTH),
        };
      }
      if (len === MIGRATE_RESET_LENGTH) return { type: 'migrate-reset', reason: b[d]! };
      break;
  }
  return { type: 'unknown', kind, data: b.subarray(d, i + len) };
}

/** The body of a Group option (after its "what" byte); undefined when malformed (kept as unknown). */
function parseGroup(b: Uint8Array, at: number, end: number, what: number): TcpOption | undefined {
  if (what === GROUP_KEEPALIVE || what === GROUP_KEEPALIVE_ACK) return at === end ? { type: 'group-keepalive', ack: what === GROUP_KEEPALIVE_ACK } : undefined;
  if (what !== GROUP_LIST) return undefined;
  const addresses: Uint8Array[] = [];
  for (let p = at; p < end; ) {
    const n = b[p]!;
    if ((n !== 4 && n !== 16) || p + 1 + n > end) return undefined;
    addresses.push(b.subarray(p + 1, p + 1 + n));
    p += 1 + n;
  }
  return { type: 'group-list', addresses };
}

/** The entries of a Group-List that fit in one option, in order. */
function groupEntries(addresses: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let len = GROUP_HEADER;
  for (const a of addresses) {
    if (a.length !== 4 && a.length !== 16) continue;
    if (len + 1 + a.length > MAX_OPTION_LENGTH) break;
    out.push(a);
    len += 1 + a.length;
  }
  return out;
}

/** Encoded length of one option. */
export function optionLength(o: TcpOption): number {
  switch (o.type) {
    case 'mss':
      return 4;
    case 'window-scale':
      return 3;
    case 'sack-permitted':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'timestamp':
      return 10;
    case 'migrate-permitted':
      return MIGRATE_PERMITTED_LENGTH;
    case 'migrate':
      return MIGRATE_LENGTH;
    case 'migrate-reset':
      return MIGRATE_RESET_LENGTH;
    case 'edo':
      return EDO_LENGTH;
    case 'group-list':
      return groupEntries(o.addresses).reduce((n, a) => n + 1 + a.length, GROUP_HEADER);
    case 'group-keepalive':
      return GROUP_HEADER;
    case 'unknown':
      return 2 + o.data.length;
  }
}

/** Encoded length of a list, padded to a multiple of 4 (the data offset counts 32-bit words). */
export function optionsLength(options: readonly TcpOption[]): number {
  let n = 0;
  for (const o of options) n += optionLength(o);
  return (n + 3) & ~3;
}

/** Writes `options` at `at` and pads with EOL to a multiple of 4; returns the padded length. */
export function emitOptions(options: readonly TcpOption[], out: Uint8Array, at: number): number {
  let i = at;
  for (const o of options) {
    const len = optionLength(o);
    switch (o.type) {
      case 'mss':
        out[i] = OPT_MSS;
        out[i + 2] = o.mss >>> 8;
        out[i + 3] = o.mss;
        break;
      case 'window-scale':
        out[i] = OPT_WINDOW_SCALE;
        out[i + 2] = o.shift;
        break;
      case 'sack-permitted':
        out[i] = OPT_SACK_PERMITTED;
        break;
      case 'sack':
        out[i] = OPT_SACK;
        for (let k = 0; k < o.blocks.length; k++) {
          putU32(out, i + 2 + 8 * k, o.blocks[k]!.left);
          putU32(out, i + 6 + 8 * k, o.blocks[k]!.right);
        }
        break;
      case 'timestamp':
        out[i] = OPT_TIMESTAMP;
        putU32(out, i + 2, o.value);
        putU32(out, i + 6, o.echo);
        break;
      case 'migrate-permitted':
        out[i] = OPT_MIGRATE_PERMITTED;
        out.set(o.publicKey.subarray(0, 32), i + 2);
        break;
      case 'migrate':
        out[i] = OPT_MIGRATE;
        out[i + 2] = (o.preload ? MIGRATE_FLAG_PRELOAD : 0) | (o.requestNumber & REQUEST_FIELD_MASK);
        out[i + 3] = o.flags;
        out.set(o.token.subarray(0, TOKEN_LENGTH), i + 4);
        out.set(o.authenticator.subarray(0, AUTHENTICATOR_LENGTH), i + 4 + TOKEN_LENGTH);
        break;
      case 'migrate-reset':
        out[i] = OPT_MIGRATE;
        out[i + 2] = o.reason;
        break;
      case 'edo':
        out[i] = OPT_EDO;
        out[i + 2] = EDO_EXID >>> 8;
        out[i + 3] = EDO_EXID & 0xff;
        out[i + 4] = o.headerLength >>> 8;
        out[i + 5] = o.headerLength;
        break;
      case 'group-list':
      case 'group-keepalive': {
        out[i] = OPT_GROUP;
        out[i + 2] = GROUP_EXID >>> 8;
        out[i + 3] = GROUP_EXID & 0xff;
        out[i + 4] = o.type === 'group-list' ? GROUP_LIST : o.ack ? GROUP_KEEPALIVE_ACK : GROUP_KEEPALIVE;
        if (o.type === 'group-list') {
          let p = i + GROUP_HEADER;
          for (const a of groupEntries(o.addresses)) {
            out[p] = a.length;
            out.set(a, p + 1);
            p += 1 + a.length;
          }
        }
        break;
      }
      case 'unknown':
        out[i] = o.kind;
        out.set(o.data, i + 2);
        break;
    }
    out[i + 1] = len;
    i += len;
  }
  const padded = (i - at + 3) & ~3;
  out.fill(OPT_EOL, i, at + padded);
  return padded;
}

/**
 * Where an option list too long for the data offset splits (EDO layout, see the top): the number
 * of options, after the EDO option, that go before the data offset, and the padded length of that
 * first part (EDO included).
 */
function edoSplit(options: readonly TcpOption[]): { count: number; firstLength: number } {
  let n = EDO_LENGTH;
  let count = 0;
  while (count < options.length && n + optionLength(options[count]!) <= MAX_OPTIONS_LENGTH) n += optionLength(options[count++]!);
  return { count, firstLength: (n + 3) & ~3 };
}

/** Bytes `options` take in a header: optionsLength up to 40, the EDO layout beyond. */
export function headerOptionsLength(options: readonly TcpOption[]): number {
  const plain = optionsLength(options);
  if (plain <= MAX_OPTIONS_LENGTH) return plain;
  const { count, firstLength } = edoSplit(options);
  return firstLength + optionsLength(options.slice(count));
}

/** The fixed TCP header's length (wire.ts's HEADER_LENGTH; wire.ts imports this file). */
const FIXED_HEADER = 20;

/**
 * Writes the options of a header that starts at `header` (options at header + 20), in the EDO
 * layout when they pass 40 bytes, and sets the header's data offset field to match (writeHeader
 * wrote the fixed part before). The header length is 20 + headerOptionsLength(options).
 */
export function emitHeaderOptions(options: readonly TcpOption[], out: Uint8Array, header: number): void {
  const at = header + FIXED_HEADER;
  if (optionsLength(options) <= MAX_OPTIONS_LENGTH) {
    out[header + 12] = ((FIXED_HEADER + emitOptions(options, out, at)) >>> 2) << 4;
    return;
  }
  const { count, firstLength } = edoSplit(options);
  const first: TcpOption[] = [{ type: 'edo', headerLength: FIXED_HEADER + headerOptionsLength(options) }, ...options.slice(0, count)];
  let end = at;
  for (const o of first) end += optionLength(o);
  emitOptions(first, out, at);
  // NOP, not EOL, up to the data offset: a decoder that stops there sees no end of list.
  out.fill(OPT_NOP, end, at + firstLength);
  emitOptions(options.slice(count), out, at + firstLength);
  out[header + 12] = ((FIXED_HEADER + firstLength) >>> 2) << 4;
}

/** First option of a type, typed. */
export function findOption<T extends TcpOption['type']>(options: readonly TcpOption[], type: T): Extract<TcpOption, { type: T }> | undefined {
  for (const o of options) if (o.type === type) return o as Extract<TcpOption, { type: T }>;
  return undefined;
}
