// The distributed methods of Table 1 as an event simulation in virtual time. Every server walks
// the dead server's clients in some order and sends each a takeover offer; before each offer it
// waits takeoverDelay(hosted, outstanding) from src/wedge/backoff.ts, the wedge's own rule, with
// its load at that moment. An offer arrives one latency after it is sent; the client takes the
// first offer to arrive and rejects the later ones; the server hears "won" or "lost" one latency
// after that, and until then the offer is outstanding. A server hosts a client once it hears it won.
//
// - Backoff (the paper's method): every server walks the clients in the dead server's table
//   order (the soft-state table all candidates share), with no cap. A loaded server falls behind
//   in the table and a lighter one reaches the client first.
// - Nearest-Capped (ours): every server walks the clients nearest first (by its own latency
//   estimate) and never lets hosted + outstanding exceed the capacity: at the cap it sends nothing
//   until an answer comes back. It can therefore never host more than the capacity however the
//   races turn out, and its places go to its nearest clients still unserved.
import { DeadlineHeap } from '../../src/transport-abstraction/deadline-heap.js';
import type { RandomSource } from '../../src/transport-abstraction/random.js';
import { DEFAULT_BACKOFF, takeoverDelay, type BackoffRule } from '../../src/wedge/backoff.js';
import type { Assignment, Grid } from './table1.js';

export interface OfferOptions {
  readonly random: RandomSource;
  readonly rule?: BackoffRule;
  /** Most clients a server may host or have offers out to at once; none by default. */
  readonly capacity?: number;
  /** The order a server offers in: the dead server's table order (the same for all, default) or its nearest client first. */
  readonly order?: 'table' | 'nearest';
}

const SEND = 0;
const ARRIVE = 1;
const ANSWER = 2;

interface Event {
  readonly kind: typeof SEND | typeof ARRIVE | typeof ANSWER;
  readonly server: number;
  readonly client: number;
  readonly won: boolean;
}

interface Server {
  readonly order: Int32Array;
  next: number;
  hosted: number;
  outstanding: number;
  /** A send is scheduled (false: the server is at its cap or has offered to every client). */
  busy: boolean;
}

/** Who got which client, and when (virtual ms from the death notice) the clients were placed. */
export interface OfferOutcome {
  readonly assignment: Assignment;
  readonly meanPlacedMs: number;
  readonly lastPlacedMs: number;
}

export function simulateOffers(grid: Grid, options: OfferOptions): OfferOutcome {
  const n = grid.servers;
  const rule = options.rule ?? DEFAULT_BACKOFF;
  const capacity = options.capacity ?? Infinity;
  const lat = (c: number, s: number) => grid.latencies[c * n + s]!;
  const assign = new Int32Array(grid.clients).fill(-1);
  let unserved = grid.clients;
  let placedSum = 0;
  let lastPlaced = 0;
  const events = new DeadlineHeap<Event>();
  const table = Int32Array.from({ length: grid.clients }, (_, c) => c);
  const servers: Server[] = Array.from({ length: n }, (_, s) => {
    const order = options.order === 'nearest' ? Int32Array.from(table).sort((a, b) => lat(a, s) - lat(b, s)) : table;
    return { order, next: 0, hosted: 0, outstanding: 0, busy: false };
  });
  const ready = (s: number, now: number) => {
    const server = servers[s]!;
    if (server.busy || server.next >= grid.clients || server.hosted + server.outstanding >= capacity) return;
    server.busy = true;
    const delay = takeoverDelay(server, options.random, rule);
    events.push(now + delay, { kind: SEND, server: s, client: server.order[server.next++]!, won: false });
  };
  for (let s = 0; s < n; s++) ready(s, 0);
  while (unserved > 0) {
    const now = events.peekTime();
    if (now === undefined) throw new Error(`offer simulation stalled with ${unserved} clients unserved`);
    const event = events.peekItem()!;
    events.pop();
    const server = servers[event.server]!;
    const latency = lat(event.client, event.server);
    if (event.kind === SEND) {
      server.outstanding++;
      server.busy = false;
      events.push(now + latency, { ...event, kind: ARRIVE });
      ready(event.server, now);
    } else if (event.kind === ARRIVE) {
      const won = assign[event.client] === -1;
      if (won) {
        assign[event.client] = event.server;
        unserved--;
        placedSum += now;
        lastPlaced = now;
      }
      events.push(now + latency, { ...event, kind: ANSWER, won });
    } else {
      server.outstanding--;
      if (event.won) server.hosted++;
      ready(event.server, now);
    }
  }
  return { assignment: assign, meanPlacedMs: placedSum / Math.max(1, grid.clients), lastPlacedMs: lastPlaced };
}
