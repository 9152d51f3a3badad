// RFC 6298 retransmission timer computation: SRTT/RTTVAR from samples (Karn's algorithm is the
// caller's: it never samples a retransmitted segment), exponential backoff, bounds.

export class RtoEstimator {
  srtt: number | undefined;
  rttvar = 0;
  /** The current RTO, backed off. */
  rto: number;
  private backoff = 0;

  constructor(
    private readonly initial: number,
    private readonly min: number,
    private readonly max: number,
  ) {
    this.rto = initial;
  }

  sample(rtt: number): void {
    if (this.srtt === undefined) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    this.backoff = 0;
    this.rto = this.base();
  }

  private base(): number {
    if (this.srtt === undefined) return Math.min(this.max, Math.max(this.min, this.initial));
    return Math.min(this.max, Math.max(this.min, this.srtt + Math.max(1, 4 * this.rttvar)));
  }

  /** Timer expired: double (RFC 6298 5.5). */
  backOff(): void {
    this.backoff++;
    this.rto = Math.min(this.max, this.rto * 2);
  }

  /** New data was acknowledged: drop the backoff. */
  clearBackoff(): void {
    if (this.backoff !== 0) {
      this.backoff = 0;
      this.rto = this.base();
    }
  }

  /** Forget the path (after migration to a new peer address). */
  reset(): void {
    this.srtt = undefined;
    this.rttvar = 0;
    this.backoff = 0;
    this.rto = this.base();
  }
}
