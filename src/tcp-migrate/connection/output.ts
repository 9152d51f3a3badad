// TcpMigrateConnection: outbound segments — the next data segment or ACK for pollTransmit, SACK
// blocks (bounded by the acknowledge limit), one-allocation segment assembly and resets.
import type { Instant, Transmit } from '../../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from '../connection.js';
import { emitHeaderOptions, headerOptionsLength, type TcpOption } from '../options.js';
import * as sender from '../sender.js';
import { tsOption } from '../timestamps.js';
import { ACK, SYN, allocSegment, fillChecksum, resetSegment, writeHeader, HEADER_LENGTH } from '../wire.js';
import { SYNCHRONIZED } from './states.js';

export function pollTransmit(c: TcpMigrateConnection, now: Instant): Transmit | undefined {
  c.clock = now;
  if (c.outbox.length > 0) return c.outbox.shift();
  if (c.released && c.state === 'CLOSED') return undefined;
  if (SYNCHRONIZED.has(c.state) && c.state !== 'TIME-WAIT') {
    const tx = sender.nextSegment(c, now);
    if (tx !== undefined) return tx;
  }
  if (c.ackNow && SYNCHRONIZED.has(c.state)) return c.buildAck();
  return undefined;
}

/** Queue an ACK now, with the SACK blocks of this moment. */
export function ackImmediately(c: TcpMigrateConnection): void {
  c.outbox.push(c.buildAck());
}

export function buildAck(c: TcpMigrateConnection): Transmit {
  return c.build(ACK, c.sndWire(c.sndNxt), c.ackNumber(), c.sackOptions(), 0, 0);
}

/**
 * SACK blocks for our out-of-order data: by default what fits in 40 bytes of options (RFC 2018: up
 * to 4 without timestamps, 3 with); `max` more for a segment sent in the EDO layout (options.ts).
 */
export function sackOptions(c: TcpMigrateConnection, max = c.tsOk ? 3 : 4): TcpOption[] {
  if (!c.sackOk || c.reasm.isEmpty) return NO_OPTIONS;
  // Under an acknowledge limit, a block never reveals a byte at or beyond it.
  const limit = c.ackLimit === undefined ? Infinity : c.acknowledgedOffset() < c.rcvNxt ? c.rcvNxt : c.ackLimit;
  const blocks = c.reasm
    .sackRanges(max)
    .filter((r) => r.start < limit)
    .map((r) => ({ left: c.rcvWire(r.start), right: c.rcvWire(Math.min(r.end, limit)) }));
  return blocks.length === 0 ? NO_OPTIONS : [{ type: 'sack', blocks }];
}

/**
 * Builds one segment to the current peer in one allocation; data comes from the send buffer. A
 * segment other than a SYN gets the Timestamps option first when timestamps are in use (a SYN's
 * caller puts its own); options past 40 bytes go in the EDO layout (options.ts). `inline` is
 * data that is not in the send buffer (the Migrate SYN's key payload, migrate.ts).
 */
export function build(
  c: TcpMigrateConnection,
  flags: number,
  seq: number,
  ack: number,
  options: readonly TcpOption[],
  dataOffset: number,
  dataLength: number,
  inline?: Uint8Array,
): Transmit {
  if (inline !== undefined) dataLength = inline.length;
  if (c.echoKey && flags & ACK && !(flags & SYN) && c.keyPair !== undefined) {
    // 34 bytes of key leave no room for SACK blocks: none are due this early anyway.
    options = [{ type: 'migrate-permitted', curve: 'x25519', publicKey: c.keyPair.publicKey }];
  }
  if (c.tsOk && !(flags & SYN)) options = [tsOption(c, c.clock), ...options];
  const optLen = options.length === 0 ? 0 : headerOptionsLength(options);
  const buf = allocSegment(HEADER_LENGTH + optLen + dataLength);
  writeHeader(buf, c.localPort, c.remotePort, seq, ack, 0, flags, c.advertisedWindow((flags & SYN) !== 0));
  if (optLen > 0) emitHeaderOptions(options, buf, 0);
  if (inline !== undefined) buf.set(inline, HEADER_LENGTH + optLen);
  else if (dataLength > 0) c.snd.copyOut(dataOffset, dataLength, buf, HEADER_LENGTH + optLen);
  fillChecksum(buf, c.pseudoOut);
  if (flags & ACK) {
    c.rcvAckSent = Math.max(c.rcvAckSent, c.acknowledgedOffset());
    c.ackNow = false;
    c.unackedSegments = 0;
    c.delackAt = undefined;
  }
  return { source: c.local, destination: c.remote, payload: buf };
}

/** A RST to the current peer: <SEQ=seq><ACK=ack>, with a Migrate-Reset reason when non-zero. */
export function queueReset(c: TcpMigrateConnection, seq: number, ack: number, reason: number): void {
  c.outbox.push(resetSegment(c.local, c.localPort, c.remote, c.remotePort, seq, ack, reason, true));
}

const NO_OPTIONS: TcpOption[] = [];
