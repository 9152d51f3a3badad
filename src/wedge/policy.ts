// Pool policies (RSerPool, RFC 5356): how a pool user picks a pool element (PE) of a pool — here
// how a client picks the server of a new connection, and how the members of a support group
// decide which of them takes a dead member's connection over (policy-takeover.ts). Sans-IO: no
// clock; random draws come from the caller's RandomSource.
//
// The policies, with RFC 5356's names and definitions:
// - round-robin (§4.1, Round Robin): the elements are used in turn, in a circular order.
// - weighted-round-robin (§4.2, Weighted Round Robin): as round robin, but in one round every
//   element is selected as many times as its weight. The round is interleaved ("smooth" weighted
//   round robin: each selection adds every element's weight to its credit, takes the element with
//   the most credit, ties in list order, and takes the weight sum from its credit), so weights
//   3,1 give A A B A ... rather than A A A B.
// - random (§4.3, Random): uniform over the elements.
// - weighted-random (§4.4, Weighted Random): element i with probability weight_i / sum(weights).
// - least-used (§5.1, Least Used): the element with the lowest load; among several with the
//   lowest, round robin.
// - least-used-degradation (§5.2, Least Used with Degradation): as least used on load +
//   degradation, where an element's degradation grows by `degradation` (default one connection)
//   every time it is selected and is reset when its load is reported anew.
// - priority-least-used (§5.3, Priority Least Used): as least used on load + load increment, the
//   load the element would carry with one more request (the RFC's "load increment", announced per
//   element). Baton announces no increment; it follows from the weight instead: in the RFC's units
//   (a utilisation, load per capacity) an element of weight w carries load / w and one connection
//   more adds 1 / w, so the element with the lowest (load + 1) / w is chosen, ties in turn. With
//   equal weights this is least used; a bigger element is preferred at a higher connection count
//   (weights 4, 1 and loads 2, 0: 3/4 < 1/1, the first). Weight 0 only when nothing else is left.
// - randomized-least-used (§5.4, Randomized Least Used): random, each element with a probability
//   that grows with its unused capacity (the RFC's reference implementation, rsplib, draws with
//   weight max_load - load). Baton's load is a connection count without a maximum, so the unused
//   share is taken as 1 / (1 + load): an idle element is drawn twice as often as one with one
//   connection. Unknown loads are drawn after every known one (uniformly when none is known).
//
// Load and weight (RFC 5356 §3): the RFC's load is a utilisation 0..2^32-1 and its weight a
// capacity; baton's load is the element's connections (hosted + outstanding takeover requests,
// the backoff's load, as announced in soft state) and its weight a positive integer capacity
// (default 1; 0 is never selected while an element with weight > 0 is left). An element whose
// load is unknown counts as more loaded than every element whose load is known.
//
// A selection returns an order, not one element: the first is the policy's choice, the others
// are the fallbacks (a client dials the next when one refuses). The fallbacks follow the same
// policy on the elements left (round robin: list order after the choice; random: the remaining
// elements drawn in turn).
import { LocalUsageError } from '../transport-abstraction/errors.js';
import type { RandomSource } from '../transport-abstraction/random.js';

export const POOL_POLICIES = [
  'round-robin',
  'weighted-round-robin',
  'random',
  'weighted-random',
  'least-used',
  'least-used-degradation',
  'priority-least-used',
  'randomized-least-used',
] as const;
export type PoolPolicy = (typeof POOL_POLICIES)[number];

/** A pool element as a policy sees it. */
export interface PoolElement {
  readonly id: string;
  /** Capacity relative to the others (RFC 5356 §3.2); default 1. */
  readonly weight?: number;
  /** Connections it carries (RFC 5356 §3.1: lower is less used); undefined: unknown. */
  readonly load?: number;
}

/** Parses a policy name (command-line spelling); throws LocalUsageError. */
export function parsePoolPolicy(text: string, option = '--policy'): PoolPolicy {
  if ((POOL_POLICIES as readonly string[]).includes(text)) return text as PoolPolicy;
  throw new LocalUsageError(`${option} must be one of ${POOL_POLICIES.join(', ')}, not "${text}"`);
}

function weightOf(e: PoolElement): number {
  const w = e.weight ?? 1;
  if (!Number.isFinite(w) || w < 0) throw new LocalUsageError(`pool element ${e.id}: weight must be a number >= 0, not ${w}`);
  return w;
}

/**
 * One pool user's selector: keeps what a policy remembers between selections (the round-robin
 * position, weighted-round-robin credits, degradations). Call `select` once per new connection.
 */
export class PoolSelector {
  private turn = 0;
  private readonly credit = new Map<string, number>();
  private readonly degraded = new Map<string, number>();
  private readonly lastLoad = new Map<string, number | undefined>();

  constructor(
    readonly policy: PoolPolicy,
    private readonly random: RandomSource,
    /** Load a selection adds to the element's degradation (least-used-degradation). */
    private readonly degradation = 1,
  ) {}

  /** The elements in the order to try them: the policy's choice first. Empty in, empty out. */
  select(elements: readonly PoolElement[]): PoolElement[] {
    if (elements.length === 0) return [];
    for (const e of elements) weightOf(e);
    const order = this.order(elements);
    this.turn++;
    return order;
  }

  private order(elements: readonly PoolElement[]): PoolElement[] {
    switch (this.policy) {
      case 'round-robin':
        return rotate(elements, this.turn % elements.length);
      case 'weighted-round-robin': {
        const first = this.smoothPick(elements);
        return [first, ...rotate(elements, elements.indexOf(first)).slice(1)];
      }
      case 'random':
        return drawAll(elements, this.random, () => 1);
      case 'weighted-random':
        return drawAll(elements, this.random, weightOf);
      case 'least-used':
        return byLoad(elements, this.turn, (e) => e.load);
      case 'least-used-degradation': {
        for (const e of elements) {
          if (this.lastLoad.get(e.id) !== e.load) this.degraded.delete(e.id); // a new report resets it
          this.lastLoad.set(e.id, e.load);
        }
        const order = byLoad(elements, this.turn, (e) => (e.load === undefined ? undefined : e.load + (this.degraded.get(e.id) ?? 0)));
        const chosen = order[0]!;
        this.degraded.set(chosen.id, (this.degraded.get(chosen.id) ?? 0) + this.degradation);
        return order;
      }
      case 'priority-least-used':
        return byLoad(elements, this.turn, (e) => {
          if (e.load === undefined) return undefined;
          const w = weightOf(e);
          return w > 0 ? (e.load + 1) / w : Number.MAX_VALUE;
        });
      case 'randomized-least-used': {
        const known = elements.some((e) => e.load !== undefined);
        return drawAll(elements, this.random, (e) => (!known ? 1 : e.load === undefined ? 0 : 1 / (1 + e.load)));
      }
    }
  }

  /** Smooth weighted round robin: every element earns its weight, the richest is chosen and pays the total. */
  private smoothPick(elements: readonly PoolElement[]): PoolElement {
    const total = elements.reduce((s, e) => s + weightOf(e), 0);
    if (total === 0) return elements[this.turn % elements.length]!;
    let best: PoolElement | undefined;
    for (const e of elements) {
      const c = (this.credit.get(e.id) ?? 0) + weightOf(e);
      this.credit.set(e.id, c);
      if (weightOf(e) > 0 && (best === undefined || c > this.credit.get(best.id)!)) best = e;
    }
    this.credit.set(best!.id, this.credit.get(best!.id)! - total);
    return best!;
  }
}

function rotate<T>(list: readonly T[], start: number): T[] {
  return [...list.slice(start), ...list.slice(0, start)];
}

/** Lowest load first; unknown loads last; ties in round-robin order from `turn`. */
function byLoad(elements: readonly PoolElement[], turn: number, load: (e: PoolElement) => number | undefined): PoolElement[] {
  const n = elements.length;
  const rank = (i: number): number => (i - (turn % n) + n) % n;
  return elements
    .map((e, i) => ({ e, i, l: load(e) }))
    .sort((a, b) => (a.l ?? Infinity) - (b.l ?? Infinity) || rank(a.i) - rank(b.i))
    .map((x) => x.e);
}

/** Successive draws without replacement, each with probability weight / (weights left); weight 0 last. */
function drawAll(elements: readonly PoolElement[], random: RandomSource, weight: (e: PoolElement) => number): PoolElement[] {
  const left = [...elements];
  const out: PoolElement[] = [];
  while (left.length > 0) {
    const total = left.reduce((s, e) => s + weight(e), 0);
    let index = 0;
    if (total > 0) {
      let u = random.float() * total;
      index = left.findIndex((e) => (u -= weight(e)) < 0);
      // Rounding at the top end: the last element with weight.
      if (index < 0) for (let i = left.length - 1; i >= 0 && index < 0; i--) if (weight(left[i]!) > 0) index = i;
    }
    out.push(left.splice(index, 1)[0]!);
  }
  return out;
}

/**
 * A pool listing's optional weight suffix, `ENTRY=W` (W a number >= 0): `w2@10.0.0.2=3` in a peers
 * list, `10.0.0.2:9899=3` in a client's server list. No suffix: weight 1. Throws LocalUsageError.
 */
export function splitWeight(entry: string, where: string): { text: string; weight: number } {
  const m = /^(.*)=([^=]*)$/.exec(entry);
  if (m === null) return { text: entry, weight: 1 };
  const weight = Number(m[2]);
  if (m[2]!.trim() === '' || !Number.isFinite(weight) || weight < 0) throw new LocalUsageError(`${where}: the weight in "${entry}" must be a number >= 0`);
  return { text: m[1]!, weight };
}
