// The retransmission timeout of one path, the same rules in RFC 6298 §2 (TCP) and RFC 9260
// §6.3.1 (SCTP, per destination): SRTT/RTTVAR with alpha 1/8 and beta 1/4, RTO = SRTT +
// max(G, 4·RTTVAR) clamped to [min, max], doubled when the timer expires. Karn's rule is the
// caller's: it samples only what was sent once.

export interface RtoConfig {
  /** RTO.Initial, ms (default 1000). */
  readonly initial: number;
  /** RTO.Min, ms (default 1000; loopback setups may use less). */
  readonly min: number;
  /** RTO.Max, ms (default 60000). */
  readonly max: number;
}

export const DEFAULT_RTO: RtoConfig = { initial: 1000, min: 1000, max: 60000 };

/** G, the clock granularity: 1 ms (of virtual or real time). */
const GRANULARITY = 1;

export class RtoEstimator {
  srtt: number | undefined;
  rttvar = 0;
  /** The current RTO, backed off. */
  rto: number;
  private backedOff = false;

  constructor(readonly config: RtoConfig = DEFAULT_RTO) {
    this.rto = config.initial;
  }

  /** A new round-trip measurement r (ms); it also ends any backoff. */
  sample(r: number): void {
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.backedOff = false;
    this.rto = this.base();
  }

  /** The timer expired: RTO = RTO · 2, bounded by RTO.Max (RFC 6298 5.5, RFC 9260 E2). */
  backOff(): void {
    this.backedOff = true;
    this.rto = this.clamp(this.rto * 2);
  }

  /** New data was acknowledged: drop the backoff (RFC 6298 §5, note 2). */
  clearBackoff(): void {
    if (this.backedOff) {
      this.backedOff = false;
      this.rto = this.base();
    }
  }

  /** Forget the measurements (the path now leads to another peer). */
  reset(): void {
    this.srtt = undefined;
    this.rttvar = 0;
    this.backedOff = false;
    this.rto = this.base();
  }

  private base(): number {
    return this.clamp(this.srtt === undefined ? this.config.initial : this.srtt + Math.max(GRANULARITY, 4 * this.rttvar));
  }

  private clamp(v: number): number {
    return Math.min(this.config.max, Math.max(this.config.min, v));
  }
}
