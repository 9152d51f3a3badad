// TcpMigrateConnection: the end of a connection — close() and abort(), TIME-WAIT, and finish(),
// the one way to CLOSED (emits 'closed' once and releases the connection from its endpoint).
import { TransportError, type TransportErrorCode } from '../../transport-abstraction/errors.js';
import type { Instant } from '../../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from '../connection.js';
import { RESET_ABORT } from '../options.js';

export function close(c: TcpMigrateConnection, now: Instant): void {
  if (c.finQueued || c.released) return;
  switch (c.state) {
    case 'ESTABLISHED':
    case 'SYN-RECEIVED':
      c.finQueued = true;
      c.transition('FIN-WAIT-1', 'close() called');
      break;
    case 'CLOSE-WAIT':
      c.finQueued = true;
      c.transition('LAST-ACK', 'close() called after the FIN of the peer');
      break;
    case 'SYN-SENT':
    case 'CLOSED':
    case 'MIGRATE-WAIT':
      c.finish(now, undefined);
      c.owner?.wake(c);
      return;
    default:
      return;
  }
  c.owner?.wake(c);
}

export function abort(c: TcpMigrateConnection, now: Instant, reason?: string): void {
  if (c.released) return;
  if (c.state !== 'CLOSED' && c.state !== 'MIGRATE-WAIT' && c.state !== 'TIME-WAIT') {
    c.queueReset(c.sndWire(c.sndNxt), c.rcvWire(c.rcvNxt), RESET_ABORT);
  }
  c.finish(now, new TransportError('BATON_ERR_LOCAL_ABORT', reason ?? 'aborted locally'));
  c.owner?.wake(c);
}

export function enterTimeWait(c: TcpMigrateConnection, now: Instant): void {
  c.transition('TIME-WAIT', 'both FINs acknowledged');
  c.rtoAt = undefined;
  c.giveUpAt = undefined;
  c.persistAt = undefined;
  c.keepaliveAt = undefined;
  c.groupKeepaliveAt = undefined;
  c.lingerAt = now + c.config.timeWaitMs;
  if (c.closedError === undefined) c.emit({ type: 'closed' });
  c.closedEmitted = true;
}

/** Stops the retransmission, give-up, persist, delayed-ACK and keep-alive timers. */
export function stopTimers(c: TcpMigrateConnection): void {
  c.rtoAt = undefined;
  c.giveUpAt = undefined;
  c.persistAt = undefined;
  c.delackAt = undefined;
  c.keepaliveAt = undefined;
}

/** The connection is over: emit 'closed' (once) and tell the endpoint. */
export function finish(c: TcpMigrateConnection, _now: Instant, error: TransportError | undefined): void {
  if (c.released) return;
  c.transition('CLOSED', 'finished');
  stopTimers(c);
  c.groupKeepaliveAt = undefined; // not in stopTimers: MIGRATE-WAIT keeps the group's bindings
  c.lingerAt = undefined;
  c.migrateRequest = undefined;
  c.closedError = error;
  if (!c.closedEmitted) c.emit(error ? { type: 'closed', error } : { type: 'closed' });
  c.closedEmitted = true;
  c.released = true;
  c.toEndpoint({ type: 'released' });
}

export function fail(c: TcpMigrateConnection, now: Instant, code: TransportErrorCode, message: string): void {
  c.finish(now, new TransportError(code, message));
}
