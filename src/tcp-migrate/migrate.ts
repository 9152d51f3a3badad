// The Migrate handshake (draft-snoeren-tcp-migrate-00 §3, as the paper refines it in §3.3.2) and
// the state export/import that lets a third host send it (getsockstate / setsockstate).
//
// Taker (new server)                                   Client
//   importState: preloaded, CLOSED
//   takeover(n): SYN  seq=S=last byte the client acked   ──►  token → connection; R checked;
//                Migrate(P=1, ReqNo=n mod 128, K?, T, R)      n 1..32 ahead of last → accept, rebind to the new
//                [payload: E, the re-keying key]               address, re-key, flush out-of-order
//                                                              data (unless K), restart in slow start
//   [blind resume: data from S+1 on, right behind]   ──►  accepted as data from the new peer
//                ◄── SYN/ACK seq=client's snd.una-1, ack=next byte it expects [, SACK blocks]
//   ESTABLISHED; receiverState() = { nextOffset: ack, heldRanges: SACK blocks }
//   ACK ──►
// Re-keying (rekey.ts): the Migrate SYN's payload is the taker's fresh x25519 public key E (32
// bytes, covered by R; the SYN still takes no sequence space). On accepting, the client switches to
// K' = f(K, n, E, x25519(its handshake key, E)); the taker, which knows the client's public key
// from the state, switches when the SYN/ACK comes, and exports K'. A state from before the
// takeover then holds a key the client no longer accepts. The client still accepts the winner's
// own retransmitted SYN under the previous key (its SYN/ACK was lost), and answers it again.
// A Migrate SYN with n not ahead of last (from another address), n too far ahead, or a wrong R is answered with RST and
// changes nothing; the same n from the address that won gets the SYN/ACK again (its reply was
// lost). The Migrate SYN and its SYN/ACK take no sequence space: each carries the number just
// below the sender's first unacknowledged byte, so pcap shows S+1 as the next byte.
import { addressKey, sameAddress, type UdpAddress } from '../transport-abstraction/address.js';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import type { TransportState } from '../transport-abstraction/state-types.js';
import {
  laterTakeoverNumber,
  TAKEOVER_STEP,
  takeoverDistance,
  takeoverNumberAcceptable,
  validateTakeoverNumber,
  type Instant,
  type ResumeMode,
  type TakeoverRefusal,
} from '../transport-abstraction/transport.js';
import type { TcpMigrateConnection } from './connection.js';
import * as keepalive from './keepalive.js';
import { authenticator, sameBytes } from './migrate-crypto.js';
import { canRekeyWith, takeoverKey, takeoverKeyPair } from '../transport-abstraction/rekey.js';
import { X25519_KEY_LENGTH } from '../transport-abstraction/x25519.js';
import {
  findOption,
  MIGRATE_FLAG_KEEP,
  MIGRATE_FLAG_PRELOAD,
  MAX_SACK_BLOCKS,
  MAX_WINDOW_SHIFT,
  RESET_BAD_AUTH,
  REQUEST_FIELD_BITS,
  REQUEST_FIELD_MASK,
  RESET_REFUSED,
  type TcpOption,
} from './options.js';
import { negotiate as negotiateTimestamps, tsOption } from './timestamps.js';
import { ACK, resetSegment, SYN, type TcpSegment } from './wire.js';

export interface PendingRequest {
  readonly requestNumber: number;
  readonly mode: ResumeMode;
  /** The Migrate SYN's sequence number S. */
  readonly seq: number;
  readonly options: TcpOption[];
  /** Offset the client had acknowledged as far as our state knows. */
  readonly knownUna: number;
  /** rcv.nxt from the state. */
  readonly knownRcvNxt: number;
  sentAt: number;
  retransmitted: boolean;
  /** Re-keying: E's public key (the SYN's payload) and K', used once the client accepts. */
  rekey?: { readonly publicKey: Uint8Array; readonly key: Uint8Array };
  /** The bytes sent blind behind the SYN (offsets blindAt ..), see sendBlind. */
  blind?: Uint8Array;
  /** The stream offset of blind's first byte: knownUna, or where the taker predicted the client stands. */
  blindAt?: number;
}

type Option<T extends TcpOption['type']> = Extract<TcpOption, { type: T }>;

function isns(c: TcpMigrateConnection): [number, number] {
  return c.localIsInitiator ? [c.iss, c.irs] : [c.irs, c.iss];
}

// -----------------------------------------------------------------------------------------------
// Export / import

export function exportState(c: TcpMigrateConnection, _now: Instant): TransportState {
  const [initiatorIsn, acceptorIsn] = isns(c);
  const localEp = { address: c.local.address, port: c.localPort, udpPort: c.local.port };
  const remoteEp = { address: c.remote.address, port: c.remotePort, udpPort: c.remote.port };
  const acked = Math.min(c.sndUna, c.snd.end);
  // A takeover still in flight may win: the next taker must use a larger number.
  const number = laterTakeoverNumber(c.lastRequest, c.migrateRequest?.requestNumber ?? c.lastRequest);
  return {
    client: c.localIsInitiator ? localEp : remoteEp,
    server: c.localIsInitiator ? remoteEp : localEp,
    tcp: {
      initiatorIsn,
      acceptorIsn,
      token: c.token ? new Uint8Array(c.token) : new Uint8Array(0),
      connectionKey: c.key ? new Uint8Array(c.key) : new Uint8Array(0),
      mss: c.effectiveMss(),
      sackPermitted: c.sackOk,
      localWindowScale: c.rcvShift,
      peerWindowScale: c.sndShift,
      lastMigrateRequest: number,
      sndUna: c.sndWire(acked),
      sndNxt: c.sndWire(Math.min(c.sndMax, c.snd.end)),
      // The acknowledged point, not RCV.NXT: bytes held by an acknowledge limit are the client's to resend.
      rcvNxt: c.rcvWire(c.acknowledgedOffset()),
      peerWindow: c.peerWindow,
      localIsInitiator: c.localIsInitiator,
      unknownOptions: new Uint8Array(0),
      ...(c.peerPublicKey ? { peerPublicKey: new Uint8Array(c.peerPublicKey) } : {}),
    },
    takeoverNumber: number,
    ownerId: '',
    takenAtMs: 0,
    streamBytesSent: c.snd.end,
    streamBytesAcked: acked,
  };
}

/** setsockstate: load another host's state into a fresh connection of this endpoint (CLOSED). */
export function preload(c: TcpMigrateConnection, state: TransportState): void {
  const t = state.tcp;
  if (t === undefined) throw new LocalUsageError('importState: not a TCP-Migrate state (tcp is unset)');
  if (t.token.length !== 8) throw new LocalUsageError(`importState: token must be 8 bytes, got ${t.token.length}`);
  c.preloaded = true;
  c.localIsInitiator = t.localIsInitiator;
  c.iss = t.localIsInitiator ? t.initiatorIsn : t.acceptorIsn;
  c.irs = t.localIsInitiator ? t.acceptorIsn : t.initiatorIsn;
  c.key = new Uint8Array(t.connectionKey);
  c.token = new Uint8Array(t.token);
  c.peerPublicKey = canRekeyWith(t.peerPublicKey) ? new Uint8Array(t.peerPublicKey) : undefined;
  c.peerMss = t.mss > 0 ? t.mss : 536;
  c.sackOk = t.sackPermitted;
  c.lastRequest = laterTakeoverNumber(t.lastMigrateRequest, state.takeoverNumber);
  c.peerWindow = t.peerWindow;
  // The scale factors both ends agreed on at the handshake hold for the connection's life (RFC 7323 §2.2).
  c.windowScaling = t.localWindowScale > 0 || t.peerWindowScale > 0;
  c.rcvShift = Math.min(MAX_WINDOW_SHIFT, t.localWindowScale);
  c.sndShift = Math.min(MAX_WINDOW_SHIFT, t.peerWindowScale);
  // Offsets: the uint64 counters resolve the 32-bit wire numbers beyond 4 GiB.
  const una = state.streamBytesAcked;
  c.snd.reset(una);
  c.sndUna = c.sndNxt = c.sndMax = una;
  c.rcvNxt = c.rcvAckSent = (t.rcvNxt - ((c.irs + 1) >>> 0)) >>> 0;
  c.cwnd = c.initialWindow();
  exportedSent.set(c, una + ((t.sndNxt - c.sndWire(una)) | 0));
  c.transition('CLOSED', 'preloaded from exported state');
}

/** A preloaded connection: the stream offset its state had sent up to (SND.NXT), for the blind resume. */
const exportedSent = new WeakMap<TcpMigrateConnection, number>();

// -----------------------------------------------------------------------------------------------
// Taker side

export function startTakeover(c: TcpMigrateConnection, now: Instant, requestNumber: number, mode: ResumeMode, resumeFrom?: Uint8Array, resumeAt?: number): void {
  if (!c.preloaded || c.key === undefined || c.token === undefined) throw new LocalUsageError('takeover() needs a connection built by importState()');
  if (c.state !== 'CLOSED' || c.migrateRequest !== undefined || c.released) throw new LocalUsageError(`takeover() already called (state ${c.state})`);
  validateTakeoverNumber(requestNumber);
  const at = resumeAt ?? c.sndUna;
  if (!Number.isSafeInteger(at) || at < c.sndUna) throw new LocalUsageError(`takeover: resumeAt ${at} is not a stream offset at or above the state's acknowledged point ${c.sndUna}`);
  const seq = (c.sndWire(c.sndUna) - 1) >>> 0;
  // The 7-bit ReqNo carries the number modulo 128 (the takeover-number rule in transport.ts).
  const wire = requestNumber & REQUEST_FIELD_MASK;
  const first = MIGRATE_FLAG_PRELOAD | wire;
  const flags = mode === 'gap-fill' ? MIGRATE_FLAG_KEEP : 0;
  const [ii, ia] = isns(c);
  const rekey = rekeyFor(c, requestNumber);
  const options: TcpOption[] = [
    { type: 'mss', mss: c.config.mss },
    { type: 'sack-permitted' },
    {
      type: 'migrate',
      preload: true,
      requestNumber: wire,
      keepOutOfOrder: mode === 'gap-fill',
      flags,
      token: c.token,
      // Bound to where the client will see this SYN come from (a NAT in front of us: publicAddress).
      authenticator: authenticator(c.key, ii, ia, seq, first, flags, { taker: c.publicAddress ?? c.local, takerPort: c.localPort, clientPort: c.remotePort }, rekey?.publicKey),
    },
  ];
  if (c.config.timestamps) options.push(tsOption(c, now, 0)); // the client's SYN/ACK says whether they stay in use
  c.migrateRequest = {
    requestNumber,
    mode,
    seq,
    options,
    knownUna: c.sndUna,
    knownRcvNxt: c.rcvNxt,
    sentAt: now,
    retransmitted: false,
    ...(rekey ? { rekey } : {}),
  };
  c.transition('SYN-SENT', 'Migrate SYN sent (takeover)');
  c.retries = 0;
  if (c.config.connectTimeoutMs > 0) c.giveUpAt = now + c.config.connectTimeoutMs;
  resendRequest(c, now);
  c.migrateRequest.retransmitted = false;
  if (resumeFrom !== undefined) sendBlind(c, resumeFrom, at);
}

/**
 * The blind resume: right behind the Migrate SYN, the stream from `at` (the state's acknowledged
 * point, or where the taker predicts the client stands), as many bytes as the old server's flight
 * (the client may hold any of it) plus one initial window, within the client's last known window,
 * sent once. The client accepts them once it has accepted the SYN ahead of them, so the byte it
 * misses next arrives half a round trip after the request when it lies in that span. A byte it
 * already had arrives once more; a lost or refused one is simply never counted: after the SYN/ACK
 * the sender starts over at the client's next byte (the span, when that lies in it), so each blind
 * byte reaches the client at most twice. Without the SYN ahead of them (lost, refused) the
 * client's endpoint answers them with a RST carrying no ACK, which a SYN-SENT connection ignores
 * (RFC 9293 §3.10.7.3).
 */
function sendBlind(c: TcpMigrateConnection, bytes: Uint8Array, at: number): void {
  const r = c.migrateRequest!;
  const flight = Math.max(0, (exportedSent.get(c) ?? r.knownUna) - r.knownUna);
  const taken = Math.min(bytes.length, flight + c.initialWindow(), Math.max(c.peerWindow, c.initialWindow()));
  r.blind = bytes.subarray(0, taken);
  r.blindAt = at;
  const mss = c.effectiveMss();
  const ack = c.rcvWire(r.knownRcvNxt);
  for (let off = 0; off < taken; off += mss) {
    const len = Math.min(mss, taken - off);
    c.pushTransmit(c.build(ACK, c.sndWire(at + off), ack, [], at + off, len, r.blind.subarray(off, off + len)));
  }
}

/** E and K' for a re-keying request, when the state names the client's public key. */
function rekeyFor(c: TcpMigrateConnection, requestNumber: number): PendingRequest['rekey'] {
  if (!canRekeyWith(c.peerPublicKey) || c.key === undefined) return undefined;
  const e = takeoverKeyPair(c.random);
  const key = takeoverKey(c.key, requestNumber, e.privateKey, c.peerPublicKey, e.publicKey);
  return key === undefined ? undefined : { publicKey: e.publicKey, key };
}

export function resendRequest(c: TcpMigrateConnection, now: Instant): void {
  const r = c.migrateRequest;
  if (!r) return;
  r.retransmitted = true;
  r.sentAt = now;
  c.pushTransmit(c.build(SYN, r.seq, 0, r.options, 0, 0, r.rekey?.publicKey));
  c.rtoAt = now + c.rtt.rto;
}

/** The client's answer to our Migrate SYN: SYN/ACK (won) or RST (refused). */
export function handleMigrateReply(c: TcpMigrateConnection, now: Instant, seg: TcpSegment): void {
  const r = c.migrateRequest!;
  if (seg.flags & 0x04) {
    // RFC 9293 §3.10.7.3 (SYN-SENT): only a reset that acknowledges our SYN counts.
    if (seg.flags & ACK && seg.ack === ((r.seq + 1) >>> 0)) {
      const reason = findOption(seg.options, 'migrate-reset')?.reason;
      const why = reason === RESET_BAD_AUTH ? 'bad authenticator' : reason === RESET_REFUSED ? `request number not 1..${TAKEOVER_STEP} ahead of the last accepted` : 'reset';
      c.fail(now, 'BATON_ERR_TAKEOVER_REJECTED', `the client refused takeover number ${r.requestNumber}: ${why}`);
    }
    return;
  }
  if ((seg.flags & (SYN | ACK)) !== (SYN | ACK)) return;
  // Our send side resumes at the byte the client expects next.
  const nextOffset = r.knownUna + ((seg.ack - c.sndWire(r.knownUna)) | 0);
  if (nextOffset < r.knownUna) return; // the client cannot have un-acknowledged what our state saw acked
  const peerUna = r.knownRcvNxt + ((((seg.seq + 1) >>> 0) - c.rcvWire(r.knownRcvNxt)) | 0);
  c.rcvNxt = Math.max(r.knownRcvNxt, peerUna);
  c.snd.reset(nextOffset);
  c.sndUna = c.sndNxt = c.sndMax = c.rtxNext = c.recoverPoint = nextOffset;
  c.scoreboard.clear();
  const blindAt = r.blindAt ?? r.knownUna;
  const blindEnd = blindAt + (r.blind?.length ?? 0);
  if (nextOffset >= blindAt && nextOffset < blindEnd && !r.retransmitted) {
    // Blind bytes the client did not have when it answered are on their way (right behind the
    // SYN it answered): keep them as in flight instead of sending them twice, under the RTO like
    // any flight; the application continues at nextOffset and send() passes over the bytes
    // already here (resumeSkip). After a retransmitted SYN they went ahead of it: lost. A client
    // behind the span (a hole before it) is resumed at its next byte as without a blind resume.
    const kept = c.snd.push(r.blind!.subarray(nextOffset - blindAt));
    c.sndNxt = c.sndMax = nextOffset + kept;
    c.resumeSkip = kept;
  }
  const held: { start: number; end: number }[] = [];
  const sack = findOption(seg.options, 'sack');
  if (sack && r.mode === 'gap-fill') {
    for (const b of sack.blocks) {
      const start = nextOffset + ((b.left - seg.ack) | 0);
      const end = nextOffset + ((b.right - seg.ack) | 0);
      if (start > nextOffset && end > start) held.push({ start, end });
    }
    held.sort((a, b) => a.start - b.start);
    for (const h of held) c.scoreboard.add(h.start, h.end);
  }
  c.heldHigh = c.scoreboard.high;
  const mss = findOption(seg.options, 'mss');
  if (mss) c.peerMss = Math.max(64, mss.mss);
  c.peerWindow = seg.window;
  negotiateTimestamps(c, seg.options);
  if (!r.retransmitted) c.rtt.sample(now - r.sentAt);
  c.rtoAt = c.sndNxt > c.sndUna ? now + c.rtt.rto : undefined;
  c.retries = 0;
  c.stopGiveUpClock();
  c.cwnd = c.initialWindow();
  c.ssthresh = 0x7fffffff;
  c.lastRequest = r.requestNumber;
  if (r.rekey) c.key = r.rekey.key; // the client switched when it accepted
  c.migrateRequest = undefined;
  c.transition('ESTABLISHED', 'Migrate SYN/ACK received: takeover complete');
  c.ackNow = true;
  c.receiver = { nextOffset, heldRanges: c.scoreboard.ranges(), cumulativeAck: seg.ack };
  c.toEndpoint({ type: 'token' });
  c.emit({ type: 'connected' });
  c.emit({ type: 'takeover-complete', receiver: c.receiver });
  c.emit({ type: 'state-changed' });
  if (c.wantWritable) {
    c.wantWritable = false;
    c.emit({ type: 'writable' });
  }
}

// -----------------------------------------------------------------------------------------------
// Client side

/** A Migrate SYN reached this connection (by token, or by its 4-tuple). */
export function handleMigrateSyn(c: TcpMigrateConnection, now: Instant, seg: TcpSegment, mig: Option<'migrate'>, from: UdpAddress, local: UdpAddress): void {
  // The full number the 7-bit ReqNo stands for: the one nearest the last accepted.
  const step = takeoverDistance(mig.requestNumber, c.lastRequest, REQUEST_FIELD_BITS);
  const requestNumber = (c.lastRequest + ((step << (32 - REQUEST_FIELD_BITS)) >> (32 - REQUEST_FIELD_BITS))) >>> 0;
  const refuse = (reason: number, refusal: TakeoverRefusal): void => {
    c.pushTransmit(resetSegment(local, seg.dstPort, from, seg.srcPort, 0, (seg.seq + 1) >>> 0, reason, true));
    c.emit({ type: 'takeover-refused', requestNumber, peer: from, reason: refusal });
  };
  const synchronized = c.state !== 'CLOSED' && c.state !== 'SYN-SENT' && c.state !== 'SYN-RECEIVED' && c.state !== 'TIME-WAIT';
  if (c.key === undefined || c.token === undefined || !synchronized || c.preloaded && c.receiver === undefined) {
    refuse(RESET_REFUSED, 'not-migratable');
    return;
  }
  const [ii, ia] = isns(c);
  const first = (mig.preload ? MIGRATE_FLAG_PRELOAD : 0) | mig.requestNumber;
  const takerKey = seg.payload.length === X25519_KEY_LENGTH ? seg.payload.slice() : undefined;
  const binding = { taker: from, takerPort: seg.srcPort, clientPort: seg.dstPort };
  const fromCurrent = sameAddress(from, c.remote);
  const signedBy = (key: Uint8Array): boolean => sameBytes(authenticator(key, ii, ia, seg.seq, first, mig.flags, binding, takerKey), mig.authenticator);
  if (step === 0 && fromCurrent && c.previousKey !== undefined && sameBytes(c.token, mig.token) && !signedBy(c.key) && signedBy(c.previousKey)) {
    sendMigrateReply(c, mig.keepOutOfOrder); // the winner of the re-keying takeover retransmitted: our SYN/ACK was lost
    return;
  }
  const newKey = takerKey === undefined || c.keyPair === undefined ? undefined : takeoverKey(c.key, requestNumber, c.keyPair.privateKey, takerKey, takerKey);
  if (!signedBy(c.key) || !sameBytes(c.token, mig.token) || (takerKey !== undefined && newKey === undefined && step !== 0)) {
    // A wrong key, or a genuine Migrate SYN relayed from another address than its taker's.
    c.toEndpoint({ type: 'drop', reason: 'not-authenticated' });
    refuse(RESET_BAD_AUTH, 'not-authenticated');
    return;
  }
  if ((step === 0 && !fromCurrent) || (step !== 0 && (!takeoverNumberAcceptable(mig.requestNumber, c.lastRequest, REQUEST_FIELD_BITS) || requestNumber === 0))) {
    refuse(RESET_REFUSED, step === 0 || step > 1 << (REQUEST_FIELD_BITS - 1) ? 'number-used' : 'number-too-far');
    return;
  }
  if (step === 0) {
    sendMigrateReply(c, mig.keepOutOfOrder); // the winner retransmitted: our SYN/ACK was lost
    return;
  }
  // Accept: rebind to the new address, and re-key.
  if (newKey !== undefined) {
    c.previousKey = c.key;
    c.key = newKey;
  }
  const oldLocal = c.local;
  const oldRemote = c.remote;
  const oldLocalPort = c.localPort;
  const oldRemotePort = c.remotePort;
  c.lastRequest = requestNumber;
  c.remote = from;
  c.remotePort = seg.srcPort;
  c.local = local;
  c.updatePseudo();
  if (addressKey(oldRemote) !== addressKey(from) || addressKey(oldLocal) !== addressKey(local) || oldRemotePort !== seg.srcPort) {
    c.toEndpoint({ type: 'rebind', oldLocal, oldRemote, oldLocalPort, oldRemotePort });
  }
  if (mig.preload && !mig.keepOutOfOrder) c.reasm.flush(); // the paper: a new host's TCP knows nothing of them
  // Both ends restart in slow start towards the new peer, resending what it has not acknowledged.
  c.peerWindow = seg.window;
  const mss = findOption(seg.options, 'mss');
  if (mss) c.peerMss = Math.max(64, mss.mss);
  if (c.tsOk) negotiateTimestamps(c, seg.options); // TS.Recent starts again from the new server's clock
  c.sndNxt = c.rtxNext = c.sndUna;
  c.recoverPoint = c.sndUna;
  c.scoreboard.clear();
  c.inRecovery = false;
  c.dupAcks = 0;
  c.cwnd = c.initialWindow();
  c.ssthresh = 0x7fffffff;
  c.rtt.reset();
  c.rttEnd = -1;
  c.retries = 0;
  c.persistUnanswered = 0;
  c.stopGiveUpClock(); // a new peer: its time to answer starts with its first timeout
  c.rtoAt = c.sndUna < c.sndMax ? now + c.rtt.rto : undefined;
  if (c.state === 'MIGRATE-WAIT') {
    c.transition(c.stateBeforeWait, 'taken over while in MIGRATE-WAIT');
    c.lingerAt = undefined;
  }
  keepalive.restart(c, now); // a new peer: forget the probes the old one left unanswered
  c.emit({ type: 'taken-over', requestNumber, peer: from });
  c.emit({ type: 'state-changed' });
  sendMigrateReply(c, mig.keepOutOfOrder);
}

/**
 * The SYN/ACK answering an accepted Migrate SYN. Its ack is the next data byte expected, without
 * the +1 of a FIN already received: the taker resumes the stream at a data offset and sends the
 * FIN again, which the ACKs that follow acknowledge.
 *
 * With KEEP its SACK blocks are everything the taker will know of what we hold: its scoreboard
 * starts from them, and gap-filling resends every byte they do not cover. The 3 blocks that fit
 * beside timestamps in 40 bytes miss ranges whenever more are held (a queue overflow in slow start
 * leaves one every other segment), so the reply reports them all, up to one SACK option's 31, in
 * the EDO layout (options.ts) when they pass 40 bytes: both ends are baton.
 */
function sendMigrateReply(c: TcpMigrateConnection, keep: boolean): void {
  const options: TcpOption[] = [{ type: 'mss', mss: c.config.mss }];
  if (c.tsOk) options.push(tsOption(c, c.clock));
  if (keep) options.push(...c.sackOptions(MAX_SACK_BLOCKS));
  c.pushTransmit(c.build(SYN | ACK, (c.sndWire(c.sndUna) - 1) >>> 0, c.rcvWire(c.acknowledgedOffset()), options, 0, 0));
}
