// Table 1 of the paper (section 5.3, "Implosion"): 10,000 clients whose server died pick one of
// 10 candidate servers, laid out on a random 2-D grid. For each method: the clients' average
// latency to the server they end up on, and the most clients on any one server.
//
// The grid: clients and servers are points drawn uniformly on the unit square from a seeded
// SeededRandom; the latency between two points is their Euclidean distance scaled so the square's
// diagonal is 250 ms (latency_ms = distance * 250 / sqrt 2), so latencies range over 0-250 ms as in
// the paper. Pure computation: no clock, no I/O; progress is reported through a callback.
//
// Methods: Distance (nearest server), Optimal (exact minimum total latency with at most
// `capacity` clients per server, min-cost-assignment.ts), Backoff (the paper's distributed method
// with the wedge's backoff rule, offers.ts), Round-Robin, Random, and ours, Nearest-Capped
// (offers.ts: the same backoff, nearest client first, never above the capacity).
import { LocalUsageError } from '../../src/transport-abstraction/errors.js';
import { SeededRandom, type RandomSource } from '../../src/transport-abstraction/random.js';
import { DEFAULT_BACKOFF } from '../../src/wedge/backoff.js';
import { integerOption, type Experiment } from './experiment.js';
import { minCostAssignment } from './min-cost-assignment.js';
import { simulateOffers } from './offers.js';
import { markdownTable, type ExperimentOutput } from './report.js';

export const DIAGONAL_MS = 250;

/** A seeded layout: latencies[c * servers + s] is client c's latency to server s, in ms. */
export interface Grid {
  readonly clients: number;
  readonly servers: number;
  readonly latencies: Float64Array;
}

export function makeGrid(seed: number, clients: number, servers: number): Grid {
  const random = new SeededRandom(seed);
  const point = (): [number, number] => [random.float(), random.float()];
  const serverAt = Array.from({ length: servers }, point);
  const latencies = new Float64Array(clients * servers);
  const scale = DIAGONAL_MS / Math.SQRT2;
  for (let c = 0; c < clients; c++) {
    const [x, y] = point();
    for (let s = 0; s < servers; s++) {
      const [sx, sy] = serverAt[s]!;
      latencies[c * servers + s] = Math.hypot(x - sx, y - sy) * scale;
    }
  }
  return { clients, servers, latencies };
}

/** assignment[c] is the server client c ends up on. */
export type Assignment = Int32Array;

export interface MethodResult {
  readonly avgLatencyMs: number;
  readonly maxClients: number;
}

export function summarize(grid: Grid, assignment: Assignment): MethodResult {
  const counts = new Array<number>(grid.servers).fill(0);
  let sum = 0;
  for (let c = 0; c < grid.clients; c++) {
    const s = assignment[c]!;
    counts[s]!++;
    sum += grid.latencies[c * grid.servers + s]!;
  }
  return { avgLatencyMs: sum / grid.clients, maxClients: Math.max(...counts) };
}

/** Distance: every client on its nearest server. */
export function distance(grid: Grid): Assignment {
  const out = new Int32Array(grid.clients);
  for (let c = 0; c < grid.clients; c++) out[c] = nearest(grid, c);
  return out;
}

function nearest(grid: Grid, c: number): number {
  let best = 0;
  for (let s = 1; s < grid.servers; s++) {
    if (grid.latencies[c * grid.servers + s]! < grid.latencies[c * grid.servers + best]!) best = s;
  }
  return best;
}

/** Round-Robin: client c on server c mod n (servers are at random places, so effectively random). */
export function roundRobin(grid: Grid): Assignment {
  return Int32Array.from({ length: grid.clients }, (_, c) => c % grid.servers);
}

/** Random: each client on a server drawn uniformly. */
export function randomChoice(grid: Grid, random: RandomSource): Assignment {
  return Int32Array.from({ length: grid.clients }, () => random.uint32() % grid.servers);
}

export interface Table1Options {
  readonly clients?: number;
  readonly servers?: number;
  /** Optimal's and Nearest-Capped's most clients per server. */
  readonly capacity?: number;
  readonly seeds?: number;
  readonly firstSeed?: number;
  readonly progress?: (message: string) => void;
}

export interface Table1Row {
  readonly method: string;
  /** Mean over seeds of the clients' average latency to their server, ms. */
  readonly avgLatencyMs: number;
  /** Mean over seeds of the most clients on one server. */
  readonly maxClients: number;
  /** Distributed methods: mean over seeds of the mean and of the last client's placement time (virtual ms after the death notice). */
  readonly meanPlacedMs?: number;
  readonly lastPlacedMs?: number;
}

/** The paper's Table 1 (avg latency ms, most clients on one server); ours has no paper row. */
export const PAPER_TABLE1: Readonly<Record<string, readonly [number, number]>> = {
  Distance: [34, 2146],
  Optimal: [38, 1399],
  Backoff: [67, 1334],
  'Round-Robin': [94, 1112],
  Random: [94, 1160],
};

/** A method's placement; the distributed ones also say when (virtual time) clients were placed. */
interface Placement {
  readonly assignment: Assignment;
  readonly meanPlacedMs?: number;
  readonly lastPlacedMs?: number;
}

type Method = (grid: Grid, random: RandomSource, capacity: number) => Placement;

export const TABLE1_METHODS: readonly (readonly [string, Method])[] = [
  ['Distance', (grid) => ({ assignment: distance(grid) })],
  ['Optimal', (grid, _random, capacity) => ({ assignment: minCostAssignment(grid, capacity) })],
  ['Backoff', (grid, random) => simulateOffers(grid, { random, rule: DEFAULT_BACKOFF, order: 'table' })],
  ['Round-Robin', (grid) => ({ assignment: roundRobin(grid) })],
  ['Random', (grid, random) => ({ assignment: randomChoice(grid, random) })],
  ['Nearest-Capped', (grid, random, capacity) => simulateOffers(grid, { random, rule: DEFAULT_BACKOFF, order: 'nearest', capacity })],
];

/** Every method on `seeds` grids (seeds firstSeed, firstSeed + 1, ...), averaged. */
export function runTable1(options: Table1Options = {}): Table1Row[] {
  const { clients = 10_000, servers = 10, capacity = 1400, seeds = 20, firstSeed = 1 } = options;
  const sums = TABLE1_METHODS.map(() => ({ latency: 0, max: 0, meanPlaced: 0, lastPlaced: 0, timed: false }));
  for (let i = 0; i < seeds; i++) {
    const seed = firstSeed + i;
    const grid = makeGrid(seed, clients, servers);
    TABLE1_METHODS.forEach(([, method], m) => {
      const placement = method(grid, new SeededRandom(Math.imul(seed, 7919) + m + 1), capacity);
      const result = summarize(grid, placement.assignment);
      const sum = sums[m]!;
      sum.latency += result.avgLatencyMs;
      sum.max += result.maxClients;
      if (placement.meanPlacedMs !== undefined && placement.lastPlacedMs !== undefined) {
        sum.timed = true;
        sum.meanPlaced += placement.meanPlacedMs;
        sum.lastPlaced += placement.lastPlacedMs;
      }
    });
    options.progress?.(`seed ${seed} done (${i + 1}/${seeds})`);
  }
  return TABLE1_METHODS.map(([method], m) => {
    const sum = sums[m]!;
    const row = { method, avgLatencyMs: sum.latency / seeds, maxClients: sum.max / seeds };
    return sum.timed ? { ...row, meanPlacedMs: sum.meanPlaced / seeds, lastPlacedMs: sum.lastPlaced / seeds } : row;
  });
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export function table1Output(rows: readonly Table1Row[], setup: string): ExperimentOutput {
  const comparison = rows.map((row) => {
    const paper = PAPER_TABLE1[row.method];
    const diff = (ours: number, theirs: number) => `${ours >= theirs ? '+' : ''}${Math.round((100 * (ours - theirs)) / theirs)}%`;
    return [
      row.method,
      round1(row.avgLatencyMs),
      paper ? paper[0] : '—',
      paper ? diff(row.avgLatencyMs, paper[0]) : '—',
      Math.round(row.maxClients),
      paper ? paper[1] : '—',
      paper ? diff(row.maxClients, paper[1]) : '—',
    ];
  });
  return {
    title: 'Table 1: implosion — average latency and most clients on one server',
    columns: ['method', 'avg_latency_ms', 'max_clients'],
    rows: rows.map((row) => [row.method, round1(row.avgLatencyMs), round1(row.maxClients)]),
    chart: {
      kind: 'bar',
      title: `Table 1 (${setup})`,
      categories: rows.map((row) => row.method),
      series: [
        {
          name: 'average latency to the chosen server (ms)',
          values: rows.map((row) => round1(row.avgLatencyMs)),
          reference: rows.map((row) => PAPER_TABLE1[row.method]?.[0] ?? NaN),
        },
        {
          name: 'most clients on one server (mean over seeds)',
          values: rows.map((row) => Math.round(row.maxClients)),
          reference: rows.map((row) => PAPER_TABLE1[row.method]?.[1] ?? NaN),
        },
      ],
      referenceName: "the paper's Table 1",
    },
    notes: [
      `Setup: ${setup}. Beside the paper's Table 1:`,
      '',
      markdownTable(['method', 'avg latency ms', 'paper', 'diff', 'max clients', 'paper', 'diff'], comparison),
      '',
      ratioNote(rows),
      '',
      'When the distributed methods had placed their clients (virtual time after the death notice, mean over seeds):',
      '',
      markdownTable(
        ['method', 'mean placement s', 'last client placed s'],
        rows.filter((row) => row.lastPlacedMs !== undefined).map((row) => [row.method, (row.meanPlacedMs! / 1000).toFixed(2), (row.lastPlacedMs! / 1000).toFixed(2)]),
      ),
    ].join('\n'),
  };
}

function ratioNote(rows: readonly Table1Row[]): string {
  const optimal = rows.find((row) => row.method === 'Optimal');
  const ours = rows.find((row) => row.method === 'Nearest-Capped');
  if (!optimal || !ours) return '';
  return `Nearest-Capped's latency is ${(ours.avgLatencyMs / optimal.avgLatencyMs).toFixed(3)}× Optimal's (goal: ≤ 1.2× with no server above the capacity).`;
}

export const table1Experiment: Experiment = {
  name: 'table1',
  summary: "the implosion simulation (paper's Table 1): clients of a dead server choosing among candidates",
  description: [
    "The paper's Table 1 (section 5.3): clients and servers at uniform random points of a square, latency = distance",
    'scaled so the diagonal is 250 ms. For each method, the clients\' average latency to the server they end on and the',
    'most clients on one server, averaged over --seeds grids (seeds 1..N). Methods: Distance (nearest server), Optimal',
    '(exact min-cost assignment, at most --capacity per server), Backoff (event simulation: servers offer in table order',
    'after the wedge\'s takeover backoff, src/wedge/backoff.ts; the client takes the first offer), Round-Robin, Random,',
    'and ours, Nearest-Capped (same backoff, nearest client first, hosted + outstanding never above --capacity).',
    'Writes table1.csv (method,avg_latency_ms,max_clients), table1.md and table1.svg.',
  ].join(' '),
  defaultSeeds: 20,
  options: [
    { name: 'clients', flag: '--clients <n>', description: 'clients of the dead server', default: '10000' },
    { name: 'servers', flag: '--servers <n>', description: 'candidate servers', default: '10' },
    { name: 'capacity', flag: '--capacity <n>', description: "most clients per server for Optimal and Nearest-Capped", default: '1400' },
  ],
  run(context) {
    const clients = integerOption(context, 'clients');
    const servers = integerOption(context, 'servers');
    const capacity = integerOption(context, 'capacity');
    if (capacity * servers < clients) throw new LocalUsageError(`--capacity ${capacity} × --servers ${servers} is less than --clients ${clients}`);
    const rows = runTable1({ clients, servers, capacity, seeds: context.seeds, progress: context.progress });
    const setup = `${clients} clients, ${servers} servers, capacity ${capacity}, mean of ${context.seeds} seeds`;
    return table1Output(rows, setup);
  },
};
