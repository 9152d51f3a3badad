// TCP keep-alive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6) for a connection that has nothing to send:
// a receiver whose server died, and whose support group never takes over, would otherwise wait
// forever. When nothing has come from the peer for keepaliveIdleMs, we send a probe — an empty ACK
// at SND.NXT - 1, a sequence number the peer has already acknowledged, so its acceptability test
// fails and it must answer with an ACK (connection.ts isProbe) — then one every keepaliveIntervalMs.
// Any segment from the peer resets the clock and the count; after keepaliveProbes unanswered probes
// the connection closes with BATON_ERR_TIMEOUT.
//
// A connection with data (or a FIN) in flight, or stalled behind a closed window, does not probe:
// its retransmission or persist timer already watches the peer. MIGRATE-WAIT has its own deadline
// (migrateWaitMs), and an accepted Migrate SYN restarts the clock (migrate.ts).
import type { Instant } from '../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from './connection.js';
import { ACK } from './wire.js';

/** States in which everything we sent can be acknowledged and a probe is answered. */
const KEEPALIVE_STATES: ReadonlySet<string> = new Set(['ESTABLISHED', 'CLOSE-WAIT', 'FIN-WAIT-2']);

/** Something came from the peer (or a takeover rebound us): restart the idle clock. */
export function restart(c: TcpMigrateConnection, now: Instant): void {
  c.keepaliveSent = 0;
  c.keepaliveAt = c.config.keepaliveIdleMs > 0 && KEEPALIVE_STATES.has(c.state) ? now + c.config.keepaliveIdleMs : undefined;
}

/** The keep-alive deadline passed: probe, wait longer, or give up. */
export function onTimeout(c: TcpMigrateConnection, now: Instant): void {
  c.keepaliveAt = undefined;
  if (c.config.keepaliveIdleMs <= 0 || !KEEPALIVE_STATES.has(c.state)) return;
  if (busy(c)) {
    // Sending: the retransmission / persist timer judges the peer. Look again an idle period later.
    c.keepaliveSent = 0;
    c.keepaliveAt = now + c.config.keepaliveIdleMs;
    return;
  }
  if (c.keepaliveSent >= c.config.keepaliveProbes) {
    const silent = (c.config.keepaliveIdleMs + c.keepaliveSent * c.config.keepaliveIntervalMs) / 1000;
    c.fail(now, 'BATON_ERR_TIMEOUT', `no answer from the peer for ${silent} s (${c.remote.address}:${c.remote.port} answered none of ${c.keepaliveSent} keep-alive probes)`);
    return;
  }
  c.keepaliveSent++;
  c.keepalivesSentTotal++;
  c.pushTransmit(c.build(ACK, (c.sndWire(c.sndNxt) - 1) >>> 0, c.ackNumber(), c.sackOptions(), 0, 0));
  c.keepaliveAt = now + Math.max(1, c.config.keepaliveIntervalMs);
}

/** Data or a FIN outstanding, queued, or held back by the peer's window. */
function busy(c: TcpMigrateConnection): boolean {
  return c.sndMax > c.sndUna || c.snd.end > c.sndNxt || (c.finQueued && !c.finAcked) || c.rtoAt !== undefined || c.persistAt !== undefined;
}
