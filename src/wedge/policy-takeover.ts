// Takeover selection by a pool policy (policy.ts), beside the paper's backoff (backoff.ts).
//
// With the backoff every live candidate of the dead member's support group sends a takeover
// request for each connection after a load-dependent random delay, and the client accepts the
// first to arrive (the others are refused and withdraw). With a pool policy the candidates agree
// instead, without a message, on who takes each connection: every candidate computes the same
// plan from the same inputs —
//   candidates:  this wedge and the group's live members other than the dead one, sorted by id,
//                each with its weight (the pool listing) and load (hosted + outstanding, as last
//                announced in soft state; its own as it last announced it);
//   connections: the table keys of the dead member's connections, sorted;
//   randomness:  the random policies draw from a generator seeded by SHA-256("baton takeover
//                policy v1" 0x00 dead-id), so every candidate draws the same numbers.
// The plan gives every connection an order of candidates; the first sends its request at once
// (no backoff: it has no competitor to outrun), the r-th waits r × fallbackMs and sends only if
// the table still shows the dead member's state (the re-check of takeover.ts: a winner announces
// its higher takeover number at once, so the others skip with reason `newer-state`). The
// fallback covers a chosen candidate that died too, missed the state, or saw a different pool.
// Views that differ (one candidate heard a load the others did not) can make two candidates
// send at once; the client accepts one, refuses the other, and the loser withdraws, as with the
// backoff: a plan decides who tries first, the transport still decides who wins.
import { createHash } from 'node:crypto';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import { SeededRandom } from '../transport-abstraction/random.js';
import { POOL_POLICIES, PoolSelector, type PoolElement, type PoolPolicy } from './policy.js';

/** `baton serve --takeover-policy`: the paper's backoff or a pool policy. */
export type TakeoverPolicy = 'backoff' | PoolPolicy;
export const TAKEOVER_POLICIES: readonly TakeoverPolicy[] = ['backoff', ...POOL_POLICIES];

export function parseTakeoverPolicy(text: string): TakeoverPolicy {
  if ((TAKEOVER_POLICIES as readonly string[]).includes(text)) return text as TakeoverPolicy;
  throw new LocalUsageError(`--takeover-policy must be one of ${TAKEOVER_POLICIES.join(', ')}, not "${text}"`);
}

export interface TakeoverPlanInput {
  readonly policy: PoolPolicy;
  /** The dead member (seeds the random policies). */
  readonly dead: string;
  /** Every live candidate, this wedge included (any order). */
  readonly candidates: readonly PoolElement[];
  /** The dead member's connections (table keys, any order). */
  readonly connections: readonly string[];
}

/** connection key -> candidate ids, the policy's choice first. Same input, same plan, on every candidate. */
export function planTakeover(input: TakeoverPlanInput): Map<string, string[]> {
  const candidates = [...input.candidates].sort((a, b) => compare(a.id, b.id));
  const selector = new PoolSelector(input.policy, new SeededRandom(seedOf(input.dead)));
  const plan = new Map<string, string[]>();
  for (const key of [...input.connections].sort(compare)) plan.set(key, selector.select(candidates).map((e) => e.id));
  return plan;
}

/** When `self` sends its request for each connection: its rank in the plan × fallbackMs (absent: not a candidate). */
export function takeoverDelays(plan: ReadonlyMap<string, readonly string[]>, self: string, fallbackMs: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, order] of plan) {
    const rank = order.indexOf(self);
    if (rank >= 0) out.set(key, rank * fallbackMs);
  }
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function seedOf(dead: string): number {
  return createHash('sha256').update(`baton takeover policy v1\0${dead}`, 'utf8').digest().readUInt32BE(0);
}
