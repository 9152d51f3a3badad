// The takeover backoff: how long a candidate server waits before it sends its next takeover
// request, given its own load. Pure: no I/O, no clock; the random draw comes from the caller's
// RandomSource. The wedge's takeover and the implosion experiment (bench/experiments/table1.ts)
// both call this one function, so Table 1 measures the rule the wedge runs.
//
// The paper (sections 3.1 and 5.3) says only "an exponential backoff based on the number of
// clients hosted at the server and the number of outstanding offers". The exact rule here:
//
//   load   = hosted + outstanding
//   window = min(maxMs, baseMs * 2 ** (load / doublingLoad))
//   delay  = window * (1 - jitter + jitter * u),        u = random.float(), uniform in [0, 1)
//
// with the defaults baseMs = 1, doublingLoad = 400, maxMs = 1000, jitter = 1, i.e. the classic
// randomized exponential backoff: the delay is uniform in [0, window) and the window doubles
// with every 400 connections of load.
//
// How a caller uses it: a candidate sends its takeover requests one after another; before each it
// waits takeoverDelay(its load at that moment). The first waits from the death notice, each next
// one from the previous send. So a loaded server walks through the dead server's connections more
// slowly and a lighter one reaches a client first; the client takes the first request to arrive.
//
// Why these terms and numbers:
// - hosted: connections the server serves now. outstanding: takeover requests it has sent and not
//   yet seen won or lost. An outstanding request counts as much as a hosted connection because
//   each may become one: a server with many requests in flight is about to be that loaded.
// - baseMs = 1: an idle server sends about two requests per millisecond, so its first requests go
//   out well within any wide-area latency and the nearest idle server wins, as the paper's
//   first-to-arrive rule intends.
// - doublingLoad = 400: a server 400 connections busier than another waits twice as long per
//   request. Over the hundreds of requests of a mass takeover these differences add up to tens or
//   hundreds of milliseconds, the scale of wide-area latency differences (0-250 ms in Table 1),
//   so both load and distance decide who wins. The value was chosen among round numbers (100 to
//   600) as the one whose Table 1 Backoff row comes nearest the paper's 67 ms /
//   1334 clients (README, "Takeover backoff"); it is a tuned parameter, not a derived one.
// - maxMs = 1000: the bound. A request paced slower than the minimum retransmission timeout
//   (RFC 6298's 1 s) gains nothing, and the bound keeps 2 ** x finite.
// - jitter = 1: the whole window is random, so servers with the same load do not send in
//   lock-step. jitter = 0 gives the deterministic delay window.
// For a fixed draw u the delay is non-decreasing in hosted and in outstanding, and never above
// maxMs.
//
// The cost, for the wedge to weigh: the pacing applies even to a candidate with no competitor.
// Starting idle, one server taking over N connections alone spends about sum(window / 2): 1.3 s
// for N = 1,000, 9 s for 2,000, 5 min for 4,000, 55 min for 10,000 (every request beyond ~4,000
// waits maxMs / 2 on average). A candidate that knows it is the only live one should not back off.
import { LocalUsageError } from '../transport-abstraction/errors.js';
import type { RandomSource } from '../transport-abstraction/random.js';

/** What a candidate server knows about its own load when it is about to send a takeover request. */
export interface TakeoverLoad {
  /** Connections this server hosts now. */
  readonly hosted: number;
  /** Takeover requests it has sent and not yet seen won or lost. */
  readonly outstanding: number;
}

export interface BackoffRule {
  /** Window of an idle server, ms. */
  readonly baseMs: number;
  /** Load (hosted + outstanding) that doubles the window. */
  readonly doublingLoad: number;
  /** Upper bound of the window and so of the delay, ms. */
  readonly maxMs: number;
  /** Share of the window that is random, 0..1: delay = window * (1 - jitter + jitter * u). */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffRule = Object.freeze({ baseMs: 1, doublingLoad: 400, maxMs: 1000, jitter: 1 });

/**
 * Milliseconds to wait before sending the next takeover request, from this server's load.
 * Draws exactly one float from `random`. Throws LocalUsageError on a malformed rule.
 */
export function takeoverDelay(load: TakeoverLoad, random: RandomSource, rule: BackoffRule = DEFAULT_BACKOFF): number {
  checkRule(rule);
  const u = random.float();
  const total = Math.max(0, load.hosted) + Math.max(0, load.outstanding);
  const window = Math.min(rule.maxMs, rule.baseMs * 2 ** Math.min(total / rule.doublingLoad, 1023));
  return window * (1 - rule.jitter + rule.jitter * u);
}

function checkRule(rule: BackoffRule): void {
  const ok =
    rule.baseMs >= 0 && rule.doublingLoad > 0 && rule.maxMs >= 0 && rule.jitter >= 0 && rule.jitter <= 1 && Number.isFinite(rule.maxMs);
  if (!ok) throw new LocalUsageError(`bad backoff rule ${JSON.stringify(rule)}`);
}
