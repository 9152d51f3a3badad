// Memory after many connections (issue 14 item 16): one process opens N connections to its own
// server over real UDP on loopback through the public API (listen/connect), exchanges a few bytes
// on each, closes them all, and prints RSS, JS heap, external and ArrayBuffer memory before, at
// the peak and after (with a forced GC when run with --expose-gc), plus what the server still holds.
//
//   node --expose-gc --import=tsx bench/connections-memory.ts [N=5000] [sctp|tcp] [BATCH=200]
//   (HEAP_SNAPSHOT=FILE to write a heap snapshot at the end)
//
// Set MALLOC_ARENA_MAX / MALLOC_TRIM_THRESHOLD_ in the environment to see what glibc's allocator
// keeps (the native memory of closed UDP sockets is freed to malloc, not always to the system).
import { once } from 'node:events';
import { writeHeapSnapshot } from 'node:v8';
import { connect, listen, type TransportSocket } from '../src/index.js';
import type { TransportKind } from '../src/transport-abstraction/transport.js';

const N = Number(process.argv[2] ?? 5000);
const transport = (process.argv[3] ?? 'sctp') as TransportKind;
const BATCH = Number(process.argv[4] ?? 200);
const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
}

function sample(label: string): Record<string, string | number> {
  const m = process.memoryUsage();
  const mb = (n: number) => Number((n / 1e6).toFixed(1));
  return { label, rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), heapTotalMB: mb(m.heapTotal), externalMB: mb(m.external), arrayBuffersMB: mb(m.arrayBuffers) };
}

const server = await listen({ transport, address: '127.0.0.1', udpPort: 0, rtoMin: 100 }, (socket) => socket.pipe(socket));
const udpPort = server.addresses[0]!.port;
await settle();
const rows = [sample('before')];

/** Open, echo on and close N connections; in a function, so that no array of sockets stays in
 * the module's frame (a top-level await keeps its block variables alive: a false leak). */
async function churn(): Promise<number> {
  let open: TransportSocket[] = [];
  const t0 = performance.now();
  for (let done = 0; done < N; done += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, N - done) }, async () => {
        const socket = await connect({ transport, address: '127.0.0.1', udpPort, rtoMin: 100 });
        socket.write('ping');
        await once(socket, 'data');
        return socket;
      }),
    );
    open = open.concat(batch);
  }
  rows.push(sample(`${N} open`));
  await Promise.all(
    open.map((socket) => {
      const closed = once(socket, 'close');
      socket.end();
      return closed;
    }),
  );
  return (performance.now() - t0) / 1000;
}
const seconds = await churn();
await new Promise((r) => setTimeout(r, 1000)); // the server's side closes too
await settle();
rows.push(sample('all closed'));
// What the server's endpoint might still hold: count its own fields that are collections.
const endpoint = server.endpoint as unknown as Record<string, unknown>;
const held: Record<string, number> = {};
for (const [key, value] of Object.entries(endpoint)) {
  if (value instanceof Map || value instanceof Set) held[key] = value.size;
  else if (Array.isArray(value)) held[key] = value.length;
}
await server.close();
await settle();
rows.push(sample('server closed'));
console.table(rows);
// HEAP_SNAPSHOT=FILE writes a V8 heap snapshot at the end (open it in Chrome's DevTools, Memory tab).
if (process.env.HEAP_SNAPSHOT) console.log(`heap snapshot: ${writeHeapSnapshot(process.env.HEAP_SNAPSHOT)}`);
console.log(`${transport}: ${N} connections opened, echoed and closed in ${seconds.toFixed(1)} s; gc ${gc ? 'forced' : 'not exposed (run with --expose-gc)'}`);
console.log(`server endpoint collections after all closed: ${JSON.stringify(held)}`);
