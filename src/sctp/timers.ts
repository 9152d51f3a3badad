// The association's named timer table (quinn's `Timer` enum + deadlines). Per-path timers (T3-rtx,
// HEARTBEAT) live on each Path; pollTimeout() is the minimum over both tables.

export const Timer = {
  T1_INIT: 0,
  T1_COOKIE: 1,
  T2_SHUTDOWN: 2,
  T5_SHUTDOWN_GUARD: 3,
  DELAYED_SACK: 4,
} as const;
export type TimerName = (typeof Timer)[keyof typeof Timer];
export const TIMER_NAMES = ['T1-init', 'T1-cookie', 'T2-shutdown', 'T5-shutdown-guard', 'delayed-SACK'] as const;

/** Deadlines by timer; NaN means stopped. */
export class TimerTable {
  private readonly deadlines = new Float64Array(TIMER_NAMES.length).fill(NaN);

  set(timer: TimerName, deadline: number): void {
    this.deadlines[timer] = deadline;
  }
  stop(timer: TimerName): void {
    this.deadlines[timer] = NaN;
  }
  stopAll(): void {
    this.deadlines.fill(NaN);
  }
  isArmed(timer: TimerName): boolean {
    return !Number.isNaN(this.deadlines[timer]!);
  }
  get(timer: TimerName): number | undefined {
    const d = this.deadlines[timer]!;
    return Number.isNaN(d) ? undefined : d;
  }
  /** True (and the timer stopped) when `timer` is armed with a deadline <= now. */
  expire(timer: TimerName, now: number): boolean {
    const d = this.deadlines[timer]!;
    if (d <= now) {
      this.deadlines[timer] = NaN;
      return true;
    }
    return false;
  }
  earliest(): number | undefined {
    let min = Infinity;
    for (const d of this.deadlines) if (d < min) min = d;
    return min === Infinity ? undefined : min;
  }
}
