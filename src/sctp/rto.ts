// Retransmission timeout per destination (RFC 9260 §6.3.1): SRTT/RTTVAR with alpha 1/8, beta 1/4,
// clamped to [RTO.Min, RTO.Max], doubled on expiry (backoff), Karn's rule applied by the caller
// (only chunks sent once are measured).

export interface RtoConfig {
  /** RTO.Initial, ms (default 1000). */
  readonly initial: number;
  /** RTO.Min, ms (default 1000; loopback setups may use less). */
  readonly min: number;
  /** RTO.Max, ms (default 60000). */
  readonly max: number;
}

export const DEFAULT_RTO: RtoConfig = { initial: 1000, min: 1000, max: 60000 };

export class RtoEstimator {
  srtt: number | undefined;
  rttvar = 0;
  rto: number;

  constructor(readonly config: RtoConfig = DEFAULT_RTO) {
    this.rto = config.initial;
  }

  /** A new round-trip measurement r (ms). */
  update(r: number): void {
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    // G (clock granularity) is taken as 1 ms of virtual time.
    this.rto = this.clamp(this.srtt + Math.max(1, 4 * this.rttvar));
  }

  /** The timer expired: RTO = RTO * 2 (bounded by RTO.Max). */
  backoff(): void {
    this.rto = this.clamp(this.rto * 2);
  }

  private clamp(v: number): number {
    return Math.min(this.config.max, Math.max(this.config.min, v));
  }
}
