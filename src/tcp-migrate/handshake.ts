// Opening a connection: the three-way handshake of RFC 9293 §3.5 with MSS, SACK-Permitted, Window
// Scale and Timestamps (RFC 7323) and Migrate-Permitted (the initiator's and the acceptor's x25519
// keys) on SYN and SYN/ACK — 53 bytes of options, sent in the EDO layout (options.ts); both ends
// derive K and the token T once they hold both keys and both ISNs.
import type { Instant } from '../transport-abstraction/transport.js';
import { TransportError } from '../transport-abstraction/errors.js';
import type { TcpMigrateConnection } from './connection.js';
import { deriveConnectionKey, deriveToken, generateKeyPair, type KeyPair } from './migrate-crypto.js';
import { negotiateScale, offeredShift } from './connection/window.js';
import { groupListOptions, readGroupList } from './group.js';
import { emitHeaderOptions, findOption, headerOptionsLength, type TcpOption } from './options.js';
import { negotiate as negotiateTimestamps, tsOption } from './timestamps.js';
import type { CookieContents, FourTuple } from './syn-cookie.js';
import { ACK, fillChecksum, HEADER_LENGTH, pseudoHeaderSum, RST, SYN, writeHeader, type TcpSegment } from './wire.js';
import type { Transmit } from '../transport-abstraction/transport.js';

export function open(c: TcpMigrateConnection, now: Instant): void {
  c.localIsInitiator = true;
  c.iss = c.random.uint32();
  c.keyPair = generateKeyPair(c.random);
  c.transition('SYN-SENT', 'SYN sent');
  if (c.config.connectTimeoutMs > 0) c.giveUpAt = now + c.config.connectTimeoutMs;
  sendSyn(c, now, false);
}

/**
 * Passive open from a SYN that reached a listening endpoint (with room in its SYN queue). Our
 * Migrate-Permitted key is the endpoint's key of the epoch (`keyPair`, the one SYN cookies use):
 * a SYN costs no key generation and no agreement (issue 14 item 9, a flood of SYNs spent x25519
 * work on each half-open connection). The agreement is made when the client's ACK, which repeats
 * its key, completes the handshake (handleSynReceived), as for a cookie.
 */
export function acceptSyn(c: TcpMigrateConnection, now: Instant, seg: TcpSegment, keyPair: KeyPair): void {
  c.localIsInitiator = false;
  c.irs = seg.seq;
  c.iss = c.random.uint32();
  readSynOptions(c, seg.options);
  if (findOption(seg.options, 'migrate-permitted')) c.keyPair = keyPair;
  c.peerWindow = seg.window;
  c.transition('SYN-RECEIVED', 'SYN received, SYN/ACK sent');
  if (c.config.connectTimeoutMs > 0) c.giveUpAt = now + c.config.connectTimeoutMs;
  sendSyn(c, now, true);
}

/**
 * A listening endpoint's answer to a SYN, without a connection (syn-cookie.ts): the SYN/ACK with
 * the cookie as its sequence number, our MSS, SACK-Permitted if the SYN had it, and the epoch's
 * key as Migrate-Permitted if the SYN offered one.
 */
export function cookieSynAck(t: FourTuple, seg: TcpSegment, iss: number, mss: number, window: number, publicKey: Uint8Array, group?: readonly string[]): Transmit {
  const options: TcpOption[] = [{ type: 'mss', mss }];
  if (findOption(seg.options, 'sack-permitted')) options.push({ type: 'sack-permitted' });
  if (findOption(seg.options, 'migrate-permitted')) options.push({ type: 'migrate-permitted', curve: 'x25519', publicKey });
  options.push(...groupListOptions(group, t.remote));
  const buf = new Uint8Array(HEADER_LENGTH + headerOptionsLength(options));
  writeHeader(buf, t.localPort, t.remotePort, iss, (seg.seq + 1) >>> 0, 0, SYN | ACK, Math.min(65535, window));
  emitHeaderOptions(options, buf, 0);
  fillChecksum(buf, pseudoHeaderSum(t.local.address, t.remote.address));
  return { source: t.local, destination: t.remote, payload: buf };
}

/**
 * Passive open from an ACK that echoed a valid SYN cookie: the connection is made now, with what
 * the cookie kept (MSS, SACK) and, if the client repeated its Migrate-Permitted key, the x25519
 * agreement with the epoch's key; then the ACK (and any data on it) is processed as in SYN-RECEIVED.
 */
export function acceptCookie(c: TcpMigrateConnection, now: Instant, seg: TcpSegment, peerIsn: number, iss: number, cookie: CookieContents): void {
  c.localIsInitiator = false;
  c.irs = peerIsn;
  c.iss = iss;
  c.peerMss = cookie.mss;
  c.sackOk = cookie.sackPermitted;
  c.cwnd = c.initialWindow();
  const mp = findOption(seg.options, 'migrate-permitted');
  if (mp) {
    c.keyPair = cookie.keyPair;
    c.key = deriveConnectionKey(c.keyPair, mp.publicKey, false);
    c.peerPublicKey = mp.publicKey.slice(); // a taker re-keys with it (migrate.ts)
    if (c.key) c.token = deriveToken(c.key, c.irs, c.iss);
    else c.keyPair = undefined;
  }
  c.peerWindow = seg.window;
  c.transition('SYN-RECEIVED', 'ACK with a valid SYN cookie');
  handleSynReceived(c, now, seg);
}

/** The handshake's ACK came back: K and T from the client's key, which it repeats on it; none, no migration. */
function agreeOnAck(c: TcpMigrateConnection, seg: TcpSegment): void {
  const mp = findOption(seg.options, 'migrate-permitted');
  if (mp) {
    c.key = deriveConnectionKey(c.keyPair!, mp.publicKey, false);
    c.peerPublicKey = mp.publicKey.slice(); // a taker re-keys with it (migrate.ts)
  }
  if (c.key) c.token = deriveToken(c.key, c.irs, c.iss);
  else c.keyPair = undefined;
}

/** The peer's SYN or SYN/ACK: MSS, SACK, and (RFC 7323) window scaling and timestamps, each in use when both SYNs had it. */
export function readSynOptions(c: TcpMigrateConnection, options: readonly TcpOption[]): void {
  const mss = findOption(options, 'mss');
  c.peerMss = mss ? Math.max(64, mss.mss) : 536;
  c.sackOk = findOption(options, 'sack-permitted') !== undefined;
  negotiateScale(c, findOption(options, 'window-scale')?.shift);
  negotiateTimestamps(c, options);
  c.cwnd = c.initialWindow();
}

/** Our SYN, or our SYN/ACK (which answers only the options the peer's SYN offered). */
export function sendSyn(c: TcpMigrateConnection, now: Instant, withAck: boolean): void {
  const options: TcpOption[] = [{ type: 'mss', mss: c.config.mss }, { type: 'sack-permitted' }];
  if (!withAck || c.windowScaling) options.push({ type: 'window-scale', shift: offeredShift(c) });
  if (withAck ? c.tsOk : c.config.timestamps) options.push(tsOption(c, now, withAck ? c.tsRecent : 0));
  if (c.keyPair) options.push({ type: 'migrate-permitted', curve: 'x25519', publicKey: c.keyPair.publicKey });
  if (withAck) options.push(...groupListOptions(c.groupAddresses, c.remote));
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
  readGroupList(c, seg.options, now);
  const mp = findOption(seg.options, 'migrate-permitted');
  if (mp && c.keyPair) {
    c.key = deriveConnectionKey(c.keyPair, mp.publicKey, true);
    if (c.key) c.token = deriveToken(c.key, c.iss, c.irs);
  }
  if (!c.key) c.keyPair = undefined;
  // The listener kept no state (SYN cookies): our key goes with our segments until it answers.
  c.echoKey = c.key !== undefined;
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
  if (c.keyPair && c.key === undefined) agreeOnAck(c, seg);
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

