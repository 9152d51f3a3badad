// Optimal for Table 1: the exact minimum-latency assignment of clients to servers with at most
// `capacity` clients per server (a transportation problem), by successive shortest paths.
//
// Clients are added one at a time. Before client k is added, the assignment of clients 0..k-1 is
// optimal for them, i.e. its residual graph has no negative cycle. Client k's cheapest way in is a
// shortest path in that residual graph: k joins server a, and a chain of clients moves a -> b ->
// ... -> t, ending at a server t that has room. Each move of client j from a to b costs
// latency(j, b) - latency(j, a), so the residual graph collapses to the servers: the edge a -> b
// weighs the least such cost over the clients now on a (kept in one lazy heap per edge). Bellman-Ford
// over the n servers finds the path; augmenting along a shortest path keeps the residual graph free
// of negative cycles, so after the last client the assignment is a minimum-cost one (the standard
// successive-shortest-path argument; test/experiment-table1.test.ts checks it against brute force).
import { DeadlineHeap } from '../../src/transport-abstraction/deadline-heap.js';
import type { Assignment, Grid } from './table1.js';

const EPSILON = 1e-9;

export function minCostAssignment(grid: Grid, capacity: number): Assignment {
  const n = grid.servers;
  if (capacity * n < grid.clients) throw new RangeError(`${grid.clients} clients do not fit on ${n} servers of ${capacity}`);
  const lat = (c: number, s: number) => grid.latencies[c * n + s]!;
  const assign = new Int32Array(grid.clients).fill(-1);
  const count = new Array<number>(n).fill(0);
  // moves[a * n + b]: clients on a, keyed by the cost of moving them to b (entries go stale when a client leaves a).
  const moves = Array.from({ length: n * n }, () => new DeadlineHeap<number>());
  const place = (c: number, s: number) => {
    assign[c] = s;
    for (let b = 0; b < n; b++) if (b !== s) moves[s * n + b]!.push(lat(c, b) - lat(c, s), c);
  };
  const cheapestMove = (a: number, b: number): number | undefined => {
    const heap = moves[a * n + b]!;
    while (heap.size > 0 && assign[heap.peekItem()!] !== a) heap.pop();
    return heap.peekItem();
  };
  const dist = new Float64Array(n);
  const pred = new Int32Array(n);
  const predClient = new Int32Array(n);
  for (let k = 0; k < grid.clients; k++) {
    for (let s = 0; s < n; s++) {
      dist[s] = lat(k, s);
      pred[s] = -1;
    }
    for (let round = 0; round < n; round++) {
      let changed = false;
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          if (a === b) continue;
          const j = cheapestMove(a, b);
          if (j === undefined) continue;
          const d = dist[a]! + lat(j, b) - lat(j, a);
          if (d < dist[b]! - EPSILON) {
            dist[b] = d;
            pred[b] = a;
            predClient[b] = j;
            changed = true;
          }
        }
      }
      if (!changed) break;
    }
    let t = -1;
    for (let s = 0; s < n; s++) if (count[s]! < capacity && (t < 0 || dist[s]! < dist[t]!)) t = s;
    count[t]!++;
    let b = t;
    while (pred[b] !== -1) {
      const a = pred[b]!;
      place(predClient[b]!, b);
      b = a;
    }
    place(k, b);
  }
  return assign;
}
