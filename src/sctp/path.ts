// One destination transport address of the peer (RFC 9260 §2.5.4 "path"): its RTO, congestion
// state (§7.2), error counter (§8.2) and its two timers, T3-rtx and HEARTBEAT.
import type { UdpAddress } from '../transport-abstraction/address.js';
import { RtoEstimator, type RtoConfig } from '../transport-abstraction/rto.js';
import { Plpmtud, type PlpmtudConfig } from './plpmtud.js';

export class Path {
  readonly rto: RtoEstimator;
  cwnd: number;
  ssthresh: number;
  partialBytesAcked = 0;
  flightSize = 0;
  /** Consecutive unanswered retransmission timeouts / heartbeats (§8.2). */
  errorCount = 0;
  /** Reachable (error count within Path.Max.Retrans). */
  active = true;
  /** A HEARTBEAT to this address was answered, or it carried the handshake (§5.4). */
  confirmed: boolean;
  /** T3-rtx deadline, NaN when stopped. */
  t3 = NaN;
  /** Next HEARTBEAT deadline, NaN when stopped. */
  heartbeatAt = NaN;
  /** Nonce and send time of the HEARTBEAT awaiting its ACK. */
  heartbeatNonce = 0;
  heartbeatSentAt = NaN;
  /** TSN being timed for an RTT measurement, and when it was sent (NaN: none). */
  rttTsn = 0;
  rttSentAt = NaN;
  /**
   * Max.Burst (§6.1 rule D): bytes of new DATA that may still go out, Max.Burst packets for each
   * SACK since the last send; cwnd itself is not changed. Infinity: no SACK yet / no limit. The
   * allowance of SACKs that arrive together (a driver feeds a burst of datagrams before it drains)
   * adds up, as if each SACK had been answered in turn; once this path has sent, the next SACK
   * starts afresh, so an allowance left unused never turns into a later burst.
   */
  burstAllowance = Infinity;
  /** New DATA went out on this path since its last SACK (Max.Burst bookkeeping). */
  sentSinceSack = false;
  /** Fast recovery (§7.2.4): the highest outstanding TSN when it began; undefined outside. */
  fastRecoveryExit: number | undefined;
  /** Path MTU discovery (RFC 8899) of this address, undefined when off; `mtu` follows its PLPMTU. */
  readonly pmtud: Plpmtud | undefined;
  /** Nonce of this path's PMTU probes (HEARTBEAT + PAD), checked in their HEARTBEAT ACKs. */
  probeNonce = 0;
  /** T3-rtx expiries since DATA on this path was last acknowledged (black-hole detection). */
  timeoutsWithoutAck = 0;

  constructor(
    public address: UdpAddress,
    /** The packet size in use (IP datagram): the fixed MTU, or the path's PLPMTU with discovery on. */
    public mtu: number,
    rtoConfig: RtoConfig,
    peerRwnd: number,
    confirmed: boolean,
    plpmtud?: PlpmtudConfig,
  ) {
    if (plpmtud) {
      this.pmtud = new Plpmtud(plpmtud);
      mtu = this.mtu = this.pmtud.plpmtu;
    }
    this.rto = new RtoEstimator(rtoConfig);
    this.confirmed = confirmed;
    this.cwnd = Math.min(4 * mtu, Math.max(2 * mtu, 4380));
    this.ssthresh = peerRwnd;
  }

  /**
   * Bytes acknowledged (cumulatively or newly) by a SACK; §7.2.1 / §7.2.2 growth. `sacks`: how many
   * SACKs of the RFC's schedule this one stands for (a baton peer's batch SACK, sender.ts ackWeight);
   * slow start grows by at most one MTU for each.
   */
  onAcked(bytesAcked: number, cumAdvanced: boolean, flightBefore: number, sacks = 1): void {
    if (this.fastRecoveryExit !== undefined || bytesAcked === 0) return;
    if (this.cwnd <= this.ssthresh) {
      // Slow start: grow only when the window was in use and the cumulative point moved.
      if (cumAdvanced && flightBefore >= this.cwnd - this.mtu) this.cwnd += Math.min(bytesAcked, sacks * this.mtu);
      return;
    }
    this.partialBytesAcked += bytesAcked;
    if (this.partialBytesAcked >= this.cwnd && flightBefore >= this.cwnd - this.mtu) {
      this.partialBytesAcked -= this.cwnd;
      this.cwnd += this.mtu;
    }
  }

  /** Fast retransmit begins (§7.2.4 step 1-2). */
  enterFastRecovery(highestOutstanding: number): void {
    this.ssthresh = Math.max(Math.floor(this.cwnd / 2), 4 * this.mtu);
    this.cwnd = this.ssthresh;
    this.partialBytesAcked = 0;
    this.fastRecoveryExit = highestOutstanding;
  }

  /** T3-rtx expired (§7.2.3, §6.3.3). */
  onRetransmissionTimeout(): void {
    this.ssthresh = Math.max(Math.floor(this.cwnd / 2), 4 * this.mtu);
    this.cwnd = this.mtu;
    this.partialBytesAcked = 0;
    this.fastRecoveryExit = undefined;
    this.rto.backOff();
  }

  /** When DATA last went to this address (NaN: never). */
  lastSendAt = NaN;
  /**
   * When a DATA chunk last went to this address for the first time (NaN: never): a chunk that can
   * measure the RTT, which makes the address not idle for HEARTBEAT purposes (RFC 9260 §8.3).
   */
  lastNewDataAt = NaN;

  /**
   * §7.2.1: an address that sent nothing for a while has its cwnd adjusted to
   * max(cwnd / 2, 4 * MTU) per RTO of silence. Applied lazily, when sending resumes.
   */
  decayIfIdle(now: number): void {
    if (this.flightSize > 0 || Number.isNaN(this.lastSendAt)) return;
    const idle = Math.floor((now - this.lastSendAt) / this.rto.rto);
    for (let i = 0; i < idle && i < 32 && this.cwnd > 4 * this.mtu; i++) this.cwnd = Math.max(Math.floor(this.cwnd / 2), 4 * this.mtu);
  }
}

/**
 * Address scoping (RFC 9260 §5.1.2 and the UDP encapsulation): a listed peer address is used only
 * if it has the family of the address the association runs on (one UDP socket family) and the same
 * loopback-ness — an association over 127.0.0.1 never probes the peer's other host addresses.
 */
export function inScope(ip: string, reference: string): boolean {
  const v6 = ip.includes(':');
  if (v6 !== reference.includes(':')) return false;
  return isLoopback(ip) === isLoopback(reference);
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip === '0:0:0:0:0:0:0:1';
}
