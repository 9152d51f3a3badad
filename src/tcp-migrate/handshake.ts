// Opening a connection: the three-way handshake of RFC 9293 §3.5 with MSS, SACK-Permitted and
// Migrate-Permitted (the initiator's and the acceptor's x25519 keys) on SYN and SYN/ACK; both ends
// derive K and the token T once they hold both keys and both ISNs.
import type { Instant } from '../transport-abstraction/transport.js';
import { TransportError } from '../transport-abstraction/errors.js';
import type { TcpMigrateConnection } from './connection.js';
import { deriveConnectionKey, deriveToken, generateKeyPair } from './migrate-crypto.js';
import { findOption, type TcpOption } from './options.js';
import { ACK, RST, SYN, type TcpSegment } from './wire.js';

export function open(c: TcpMigrateConnection, now: Instant): void {
  c.localIsInitiator = true;
  c.iss = c.random.uint32();
  c.keyPair = generateKeyPair(c.random);
  c.transition('SYN-SENT', 'SYN sent');
  if (c.config.connectTimeoutMs > 0) c.giveUpAt = now + c.config.connectTimeoutMs;
  sendSyn(c, now, false);
}

/** Passive open from a SYN that reached a listening endpoint. */
export function acceptSyn(c: TcpMigrateConnection, now: Instant, seg: TcpSegment): void {
  c.localIsInitiator = false;
  c.irs = seg.seq;
  c.iss = c.random.uint32();
  readSynOptions(c, seg.options);
  const mp = findOption(seg.options, 'migrate-permitted');
  if (mp) {
    c.keyPair = generateKeyPair(c.random);
    c.key = deriveConnectionKey(c.keyPair, mp.publicKey, false);
    if (c.key) c.token = deriveToken(c.key, c.irs, c.iss);
    else c.keyPair = undefined;
  }
  c.peerWindow = seg.window;
  c.transition('SYN-RECEIVED', 'SYN received, SYN/ACK sent');
  if (c.config.connectTimeoutMs > 0) c.giveUpAt = now + c.config.connectTimeoutMs;
  sendSyn(c, now, true);
}

export function readSynOptions(c: TcpMigrateConnection, options: readonly TcpOption[]): void {
  const mss = findOption(options, 'mss');
  c.peerMss = mss ? Math.max(64, mss.mss) : 536;
  c.sackOk = findOption(options, 'sack-permitted') !== undefined;
  c.cwnd = c.initialWindow();
}

export function sendSyn(c: TcpMigrateConnection, now: Instant, withAck: boolean): void {
  const options: TcpOption[] = [{ type: 'mss', mss: c.config.mss }, { type: 'sack-permitted' }];
  if (c.keyPair && (!withAck || c.key)) options.push({ type: 'migrate-permitted', curve: 'x25519', publicKey: c.keyPair.publicKey });
  const seq = c.iss;
  c.pushTransmit(c.build(withAck ? SYN | ACK : SYN, seq, withAck ? (c.irs + 1) >>> 0 : 0, options, 0, 0));
  if (c.rtoAt === undefined) c.rtoAt = now + c.rtt.rto;
  if (c.rttEnd < 0 && c.retries === 0) {
    c.rttEnd = 0;
    c.rttSentAt = now;
  }
}


export function handleSynSent(c: TcpMigrateConnection, now: Instant, seg: TcpSegment): void {
  const f = seg.flags;
  if (f & ACK && seg.ack !== ((c.iss + 1) >>> 0)) {
    if (!(f & RST)) c.queueReset(seg.ack, 0, 0);
    return;
  }
  if (f & RST) {
    if (f & ACK) c.finish(now, new TransportError('BATON_ERR_REFUSED', `connection refused by ${c.remote.address}:${c.remote.port}`));
    return;
  }
  if (!(f & SYN) || !(f & ACK)) return;
  c.irs = seg.seq;
  readSynOptions(c, seg.options);
  const mp = findOption(seg.options, 'migrate-permitted');
  if (mp && c.keyPair) {
    c.key = deriveConnectionKey(c.keyPair, mp.publicKey, true);
    if (c.key) c.token = deriveToken(c.key, c.iss, c.irs);
  }
  if (!c.key) c.keyPair = undefined;
  c.peerWindow = seg.window;
  synAcked(c, now);
  c.transition('ESTABLISHED', 'SYN/ACK received');
  c.ackNow = true;
  if (c.token) c.toEndpoint({ type: 'token' });
  c.emit({ type: 'connected' });
}

export function handleSynReceived(c: TcpMigrateConnection, now: Instant, seg: TcpSegment): void {
  const f = seg.flags;
  if (f & RST) {
    if (seg.seq === c.rcvWire(0)) c.finish(now, new TransportError('BATON_ERR_ABORTED', 'reset during handshake'));
    return;
  }
  if (f & SYN) {
    if (seg.seq === c.irs) sendSyn(c, now, true); // our SYN/ACK was lost
    return;
  }
  if (!(f & ACK)) return;
  if (seg.ack !== ((c.iss + 1) >>> 0)) {
    c.queueReset(seg.ack, 0, 0);
    return;
  }
  synAcked(c, now);
  c.transition(c.finQueued ? 'FIN-WAIT-1' : 'ESTABLISHED', 'ACK of our SYN/ACK received');
  if (c.token) c.toEndpoint({ type: 'token' });
  c.toEndpoint({ type: 'established' });
  c.emit({ type: 'connected' });
  if (c.key) c.emit({ type: 'state-changed' });
  c.handleSynchronized(now, seg);
}

/** Our SYN was acknowledged: sample the RTT (unless it was retransmitted), stop the timer. */
export function synAcked(c: TcpMigrateConnection, now: Instant): void {
  if (c.rttEnd === 0 && c.retries === 0) c.rtt.sample(now - c.rttSentAt);
  c.rttEnd = -1;
  c.retries = 0;
  c.rtoAt = undefined;
  c.stopGiveUpClock();
  c.rtt.clearBackoff();
}

