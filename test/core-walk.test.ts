// The quinn shape: a received datagram goes from the driver into the endpoint, which routes it
// into a connection; what the connection has to tell the endpoint it queues (EndpointEvent), and
// the endpoint drains the queue. So while a datagram is being handled, no endpoint method is ever
// entered from connection code (SCTP association / TCP-Migrate connection), directly or through a
// closure the endpoint handed out. The check instruments the endpoint instances' methods and looks
// at the stack of every call made during handleDatagram.
import test from 'ava';
import type { MigratableTransport, TransitionTracer, TransportEndpoint } from '../src/transport-abstraction/transport.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { World } from './conformance/world.js';

/** Files of the connection side: any frame from these between an endpoint method and handleDatagram is a call up. */
const CONNECTION_SIDE = /src\/(sctp\/(association|association\/.*|takeover|takeover-hooks|sender|receiver|path|probe)|tcp-migrate\/(connection|handshake|migrate|receiver|sender|keepalive))\.ts/;

interface Walk {
  calls: number;
  upcalls: string[];
}

function instrument(endpoint: TransportEndpoint, walk: Walk): void {
  const proto = Object.getPrototypeOf(endpoint) as Record<string, unknown>;
  let depth = 0;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const desc = Object.getOwnPropertyDescriptor(proto, name)!;
    if (name === 'constructor' || typeof desc.value !== 'function') continue;
    const inner = desc.value as (...args: unknown[]) => unknown;
    Object.defineProperty(endpoint, name, {
      configurable: true,
      writable: true,
      value(this: unknown, ...args: unknown[]) {
        if (name === 'handleDatagram') {
          depth++;
          try {
            return inner.apply(this, args);
          } finally {
            depth--;
          }
        }
        if (depth > 0) {
          walk.calls++;
          const frames = (new Error().stack ?? '').split('\n').slice(2);
          const outer = frames.findIndex((f) => f.includes('handleDatagram'));
          const between = frames.slice(0, outer < 0 ? frames.length : outer);
          const up = between.find((f) => CONNECTION_SIDE.test(f));
          if (up !== undefined) walk.upcalls.push(`${name} ← ${up.trim()}`);
        }
        return inner.apply(this, args);
      },
    });
  }
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a received datagram's walk into a connection never comes back to the endpoint`, (t) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 200;
    try {
      const world = new World({ kind, seed: 61, fileLength: 300_000, links: { a: { delayMs: 5, rateBps: 1_000_000, loss: 0.01 }, b: { delayMs: 10, rateBps: 1_000_000 } } });
      const walk: Walk = { calls: 0, upcalls: [] };
      for (const ep of [world.client.endpoint, world.server('a').endpoint, world.server('b').endpoint]) instrument(ep, walk);
      world.net.run(world.net.now + 400);
      const state = world.server('a').sender!.conn.exportState(world.net.now);
      world.net.kill('a');
      world.takeOver('b', state, state.takeoverNumber + 1);
      t.true(world.runToCompletion(), 'did not finish');
      t.true(world.clientHasFile());
      t.true(walk.calls > 100, `only ${walk.calls} endpoint calls were watched during datagrams: the check saw nothing`);
      t.deepEqual([...new Set(walk.upcalls)], []);
    } finally {
      Error.stackTraceLimit = limit;
    }
  });
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: every state change goes through transition() and reaches the tracer`, (t) => {
    const world = new World({ kind, seed: 62, fileLength: 200_000, links: { a: { delayMs: 5, rateBps: 1_000_000 }, b: { delayMs: 10, rateBps: 1_000_000 } } });
    const seen: { side: string; from: string; to: string; why: string }[] = [];
    const client = world.client.conn as MigratableTransport & { tracer?: TransitionTracer };
    client.tracer = (from, to, why) => seen.push({ side: 'client', from, to, why });
    world.net.run(world.net.now + 300);
    const state = world.server('a').sender!.conn.exportState(world.net.now);
    world.net.kill('a');
    const b = world.takeOver('b', state, state.takeoverNumber + 1);
    (b.conn as MigratableTransport & { tracer?: TransitionTracer }).tracer = (from, to, why) => seen.push({ side: 'taker', from, to, why });
    t.true(world.runToCompletion(), 'did not finish');
    for (const side of ['client', 'taker']) {
      const chain = seen.filter((s) => s.side === side);
      t.true(chain.length >= 2, `${side}: ${chain.length} transitions`);
      for (let i = 1; i < chain.length; i++) t.is(chain[i]!.from, chain[i - 1]!.to, `${side}: transition ${i} does not start where the last ended`);
      t.true(chain.every((s) => s.why.length > 0));
      t.is(chain.at(-1)!.to, side === 'client' ? client.stateName : b.conn.stateName);
    }
    t.true(seen.some((s) => s.side === 'client' && s.to === 'CLOSED'), 'the client never closed');
    t.log(seen.map((s) => `${s.side}: ${s.from} → ${s.to} (${s.why})`).join('\n'));
  });
}
