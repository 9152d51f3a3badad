// CPU per announced state of one wedge's periodic announcement (issue 13, `scale`): N slow
// streams on w1 in the simulator, then w1's announcement of every state repeated, timed with
// process.cpuUsage; prints min and median µs per state over the rounds.
//   node --import=tsx bench/announce-cpu.ts [N=300] [ROUNDS=15]
// ROOT=DIR measures another checkout's wedge (e.g. `git worktree add /tmp/before COMMIT`, with
// node_modules linked), so two trees can be run alternately for a before/after ratio.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const root = resolve(process.env.ROOT ?? new URL('..', import.meta.url).pathname);
const { get, WedgeWorld } = (await import(pathToFileURL(`${root}/src/sim/wedge-world.ts`).href)) as typeof import('../src/sim/wedge-world.js');
const n = Number(process.argv[2] ?? 300);
const rounds = Number(process.argv[3] ?? 15);
if (!Number.isInteger(n) || n < 1 || !Number.isInteger(rounds) || rounds < 1) throw new Error('usage: announce-cpu.ts [N ≥ 1] [ROUNDS ≥ 1]');

const world = new WedgeWorld({ kind: 'sctp', seed: 1, wedges: 2, rate: 1000, updateMs: 3000 });
await world.startAll(new Map([['/slow', new Uint8Array(600_000).map((_, i) => i & 0xff)]]));
const clients: Array<{ received: number }> = [];
for (let i = 0; i < n; i++) {
  clients.push(world.client('w1', [get('/slow')]));
  if (i % 100 === 99) world.net.run(world.net.now + 100);
}
world.net.runUntil(() => clients.every((c) => c.received > 0), world.net.now + 60_000);
world.net.run(world.net.now + 3000);
// The channel is internal to the wedge: this bench reaches into it on purpose.
const channel = (world.wedge('w1') as unknown as { channel: { announce(now: number, only: undefined): void; pollTransmit(now: number): unknown } }).channel;
const now = world.net.now;
const perState = (reps: number): number => {
  const before = process.cpuUsage();
  for (let r = 0; r < reps; r++) {
    channel.announce(now, undefined);
    while (channel.pollTransmit(now) !== undefined);
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / reps / n;
};
const results: number[] = [];
for (let r = 0; r < rounds; r++) results.push(perState(10));
results.sort((a, b) => a - b);
console.log(`${root}: N ${n}, announce: min ${results[0]!.toFixed(1)} median ${results[results.length >> 1]!.toFixed(1)} µs/state`);
