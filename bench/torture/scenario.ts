// One torture run drawn from a seed: the pool, the objects, the clients, the links' faults (loss
// 0-10 %, duplication, reordering, jitter) and a timeline of server faults (deaths, cascaded
// deaths of the taker, erroneous death reports, lost announcements, joins, leaves, restarts).
// The same seed draws the same scenario for both transports.
import { deriveSeed } from '../../src/sim/network.js';
import type { LinkConfig } from '../../src/sim/network.js';
import { SeededRandom } from '../../src/transport-abstraction/random.js';

export type Fault =
  /** The host dies at once. */
  | { readonly type: 'kill'; readonly wedge: string }
  /** The next wedge to win a takeover dies `delayMs` after it (a cascaded failure). */
  | { readonly type: 'kill-next-taker'; readonly delayMs: number }
  /** The monitor declares a wedge dead that may well be alive. */
  | { readonly type: 'report'; readonly wedge: string }
  /** A wedge's soft-state traffic to and from the pool is lost for `ms` (announcements, heartbeats). */
  | { readonly type: 'silence'; readonly wedge: string; readonly ms: number }
  /** An orderly leave: the wedge closes (its connections are left to the group). */
  | { readonly type: 'leave'; readonly wedge: string }
  /** The wedge (re)starts with empty state: a join, or a restart after a death or a leave. */
  | { readonly type: 'start'; readonly wedge: string };

export interface TimedFault {
  readonly at: number;
  readonly fault: Fault;
}

export interface ClientPlan {
  readonly at: number;
  readonly wedge: string;
  /** Paths requested in order on one persistent connection; the last asks to close. */
  readonly paths: readonly string[];
}

export interface Scenario {
  readonly seed: number;
  readonly wedges: number;
  readonly groups: number;
  readonly rate: number;
  readonly updateMs: number;
  /** Wedges running from the start. */
  readonly initial: readonly string[];
  readonly objects: ReadonlyMap<string, Uint8Array>;
  readonly clients: readonly ClientPlan[];
  /** [a, b, config]: every client link and every wedge-to-wedge link. */
  readonly links: ReadonlyArray<readonly [string, string, LinkConfig]>;
  readonly faults: readonly TimedFault[];
}

export function drawScenario(seed: number): Scenario {
  const r = new SeededRandom(deriveSeed(seed, 'torture-scenario'));
  const int = (lo: number, hi: number): number => lo + Math.floor(r.float() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r.float() * xs.length)]!;
  const chance = (p: number): boolean => r.float() < p;

  const wedges = int(2, 5);
  const ids = Array.from({ length: wedges }, (_, i) => `w${i + 1}`);
  const groups = wedges >= 4 && chance(0.3) ? 2 : 1;
  const joiner = wedges >= 3 && chance(0.3) ? ids[wedges - 1]! : undefined;
  const initial = ids.filter((id) => id !== joiner);

  const objects = new Map<string, Uint8Array>();
  for (let i = 0; i < 3; i++) objects.set(`/o${i}`, new SeededRandom(deriveSeed(seed, `object-${i}`)).bytes(int(1, 250_000)));

  const clients: ClientPlan[] = [];
  for (let i = int(2, 6); i > 0; i--) {
    clients.push({ at: int(0, 1500), wedge: pick(initial), paths: Array.from({ length: int(1, 2) }, () => pick([...objects.keys()])) });
  }

  const lossy = (): LinkConfig => ({
    delayMs: int(1, 30),
    loss: r.float() * 0.1,
    duplicate: chance(0.5) ? r.float() * 0.05 : 0,
    reorder: chance(0.5) ? r.float() * 0.05 : 0,
    reorderDelayMs: int(1, 40),
  });
  const links: Array<readonly [string, string, LinkConfig]> = [];
  for (const id of ids) links.push(['clients', id, lossy()]);
  for (let i = 0; i < wedges; i++) for (let j = i + 1; j < wedges; j++) links.push([ids[i]!, ids[j]!, lossy()]);

  const faults: TimedFault[] = [];
  if (joiner !== undefined) faults.push({ at: int(500, 6000), fault: { type: 'start', wedge: joiner } });
  for (let n = int(1, 4); n > 0; n--) {
    const at = int(300, 8000);
    const wedge = pick(ids);
    const kind = pick(['kill', 'kill', 'kill', 'kill-next-taker', 'report', 'silence', 'leave'] as const);
    switch (kind) {
      case 'kill':
        faults.push({ at, fault: { type: 'kill', wedge } });
        if (chance(0.4)) faults.push({ at: at + int(1000, 8000), fault: { type: 'start', wedge } });
        break;
      case 'kill-next-taker':
        faults.push({ at, fault: { type: 'kill-next-taker', delayMs: int(0, 1500) } });
        break;
      case 'report':
        faults.push({ at, fault: { type: 'report', wedge } });
        break;
      case 'silence':
        faults.push({ at, fault: { type: 'silence', wedge, ms: int(500, 5000) } });
        break;
      case 'leave':
        faults.push({ at, fault: { type: 'leave', wedge } });
        if (chance(0.4)) faults.push({ at: at + int(1000, 8000), fault: { type: 'start', wedge } });
        break;
    }
  }
  faults.sort((a, b) => a.at - b.at);
  return { seed, wedges, groups, rate: int(100_000, 400_000), updateMs: pick([250, 500, 1000]), initial, objects, clients, links, faults };
}
