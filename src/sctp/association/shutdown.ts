// SctpAssociation: the end of an association — graceful SHUTDOWN (§9.2: SHUTDOWN, SHUTDOWN ACK,
// SHUTDOWN COMPLETE), ABORT on protocol violations (§9.1), and entering CLOSED.
import type { UdpAddress } from '../../transport-abstraction/address.js';
import { TransportError } from '../../transport-abstraction/errors.js';
import type { Instant } from '../../transport-abstraction/transport.js';
import type { SctpAssociation } from '../association.js';
import { Timer } from '../timers.js';
import type { Chunk, ErrorCause } from '../wire/types.js';
import { packetBytes } from './output.js';

/** States in which a SHUTDOWN's cumulative TSN ack is first taken as a SACK (the caller does that). */
export const SHUTDOWN_ACKS: ReadonlySet<string> = new Set(['ESTABLISHED', 'SHUTDOWN-PENDING', 'SHUTDOWN-RECEIVED']);

/** A SHUTDOWN (§9.2), after its cumulative TSN ack was processed as a SACK in SHUTDOWN_ACKS states. */
export function onShutdown(a: SctpAssociation, now: Instant): void {
  if (a.closed) return;
  switch (a.state) {
    case 'ESTABLISHED':
    case 'SHUTDOWN-PENDING':
    case 'SHUTDOWN-RECEIVED':
      a.transition('SHUTDOWN-RECEIVED', 'SHUTDOWN received');
      emitEnd(a);
      break;
    case 'SHUTDOWN-SENT':
      emitEnd(a);
      sendShutdownAck(a, now);
      break;
    case 'SHUTDOWN-ACK-SENT':
      sendShutdownAck(a, now);
      break;
    default:
      break;
  }
}

export function onShutdownAck(a: SctpAssociation, now: Instant, from: UdpAddress, vt: number): void {
  if (a.state === 'SHUTDOWN-SENT' || a.state === 'SHUTDOWN-ACK-SENT') {
    a.outbox.push({ source: a.local, destination: from, payload: packetBytes(a, [{ type: 14, reflectedTag: false }], a.peerTag) });
    emitEnd(a);
    terminate(a, undefined);
  } else if (a.state === 'COOKIE-WAIT' || a.state === 'COOKIE-ECHOED') {
    // §8.5.1 E / §8.4 item 5: answer as out of the blue.
    a.outbox.push({ source: a.local, destination: from, payload: packetBytes(a, [{ type: 14, reflectedTag: true }], vt) });
  }
  void now;
}

export function emitEnd(a: SctpAssociation): void {
  if (a.endEmitted) return;
  a.endEmitted = true;
  a.events.push({ type: 'end' });
}

/** Move SHUTDOWN-PENDING / SHUTDOWN-RECEIVED on once everything sent was acknowledged. */
export function progressShutdown(a: SctpAssociation, now: Instant): void {
  if (!a.sender.idle) return;
  if (a.state === 'SHUTDOWN-PENDING') {
    a.transition('SHUTDOWN-SENT', 'all data acknowledged, SHUTDOWN sent');
    sendShutdown(a, now);
    a.timers.set(Timer.T5_SHUTDOWN_GUARD, now + 5 * a.options.rto.max);
  } else if (a.state === 'SHUTDOWN-RECEIVED') {
    sendShutdownAck(a, now);
  }
}

export function sendShutdown(a: SctpAssociation, now: Instant): void {
  const r = a.receiver;
  const cum = r?.ackPoint.ackedTsn ?? 0; // the acknowledged point: a SHUTDOWN reveals no held TSN either
  const chunks: Chunk[] = [];
  // A SACK still owed goes with it: some peers (node-sctp) take only a SACK, not SHUTDOWN's
  // cumulative TSN ack, as acknowledgement of their data, and would never answer.
  if (r && (r.sackNow || a.timers.isArmed(Timer.DELAYED_SACK))) {
    chunks.push(r.makeSack());
    a.timers.stop(Timer.DELAYED_SACK);
  }
  chunks.push({ type: 7, cumulativeTsnAck: cum });
  a.outbox.push({ source: a.local, destination: a.paths[a.sendPath]!.address, payload: packetBytes(a, chunks, a.peerTag) });
  a.timers.set(Timer.T2_SHUTDOWN, now + a.paths[a.sendPath]!.rto.rto);
}

export function sendShutdownAck(a: SctpAssociation, now: Instant): void {
  a.transition('SHUTDOWN-ACK-SENT', 'SHUTDOWN ACK sent');
  a.outbox.push({ source: a.local, destination: a.paths[a.sendPath]!.address, payload: packetBytes(a, [{ type: 8, reflectedTag: false }], a.peerTag) });
  a.timers.set(Timer.T2_SHUTDOWN, now + a.paths[a.sendPath]!.rto.rto);
}

/** The peer broke the rules: ABORT with the cause and close with BATON_ERR_PROTOCOL. */
export function protocolViolation(a: SctpAssociation, code: number, text: string, info?: Uint8Array): void {
  sendAbort(a, { code, info: info ?? new TextEncoder().encode(text) });
  terminate(a, new TransportError('BATON_ERR_PROTOCOL', text, code));
}

export function sendAbort(a: SctpAssociation, cause: ErrorCause): void {
  if (a.peerTag === 0) return;
  a.outbox.push({ source: a.local, destination: a.remote, payload: packetBytes(a, [{ type: 6, reflectedTag: false, causes: [cause] }], a.peerTag) });
}

/** Enter CLOSED and report it (error undefined = clean). */
export function terminate(a: SctpAssociation, error: TransportError | undefined): void {
  if (a.state === 'CLOSED' && a.closeError !== undefined) return;
  const wasClosed = a.state === 'CLOSED' && a.events.some((e) => e?.type === 'closed');
  a.transition('CLOSED', 'terminated');
  a.timers.stopAll();
  for (const p of a.paths) {
    p.t3 = NaN;
    p.heartbeatAt = NaN;
  }
  a.control = [];
  a.closeError = error;
  if (!wasClosed) a.events.push(error ? { type: 'closed', error } : { type: 'closed' });
  a.toEndpoint({ type: 'routing-changed' });
}
