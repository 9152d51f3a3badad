// Takeover numbers wrap around (transport.ts: 32-bit serial numbers, TAKEOVER_STEP ahead, TCP-Migrate
// carrying them modulo 128): a cascade of 300 takeovers in the simulator, each by a fresh endpoint
// importing the previous taker's state, starting 150 below 2^32 - 1, so that the 32-bit number
// wraps (4294967295 -> 1) and TCP-Migrate's 7-bit field wraps three times; on both transports the
// client accepts every one of them and the file arrives whole.
import test from 'ava';
import type { SctpAssociation } from '../src/sctp/association.js';
import type { TcpMigrateConnection } from '../src/tcp-migrate/connection.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import { nextTakeoverNumber, TAKEOVER_NUMBER_MAX, type MigratableTransport, type ReceiverState } from '../src/transport-abstraction/transport.js';
import { createEndpoint, TRANSPORT_KINDS } from '../src/transports.js';
import { HOSTS, World } from './conformance/world.js';

const COUNT = 300;
const START = TAKEOVER_NUMBER_MAX - 150;

/** White box: the client's last accepted takeover number, set as if START takeovers had happened. */
function setClientLast(conn: MigratableTransport, n: number): void {
  if (conn.kind === 'tcp') (conn as TcpMigrateConnection).lastRequest = n;
  else (conn as SctpAssociation).takeoverState!.guard!.receiver.lastTakeover = n;
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a cascade of ${COUNT} takeovers across the 32-bit wrap (and TCP-Migrate's 7-bit field's)`, (t) => {
    const world = new World({
      kind,
      seed: 43,
      fileLength: 3_000_000,
      links: { a: { delayMs: 2, rateBps: 2_000_000 }, b: { delayMs: 2, rateBps: 2_000_000 }, c: { delayMs: 2, rateBps: 2_000_000 } },
    });
    world.net.run(50);
    setClientLast(world.client.conn, START);
    const a = world.server('a').sender!.conn;
    let state: TransportState = a.exportState(world.net.now);
    state = { ...state, takeoverNumber: START, ...(state.tcp ? { tcp: { ...state.tcp, lastMigrateRequest: START } } : {}) };
    world.net.kill('a');
    let n = START;
    const numbers: number[] = [];
    for (let i = 0; i < COUNT; i++) {
      n = nextTakeoverNumber(n);
      numbers.push(n);
      const ip = HOSTS[i % 2 === 0 ? 'b' : 'c'];
      const address = { address: ip, port: world.net.freePort(ip) };
      const endpoint = createEndpoint(kind, { addresses: [address], random: world.net.random, rtoMin: 200 });
      const conn = endpoint.importState(world.net.now, state);
      const taker: { receiver?: ReceiverState } = {};
      world.net.attach(endpoint, [address], () => {
        for (let e = conn.pollEvent(); e !== undefined; e = conn.pollEvent()) {
          if (e.type !== 'takeover-complete') continue;
          taker.receiver = e.receiver;
          conn.send(world.file.subarray(e.receiver.nextOffset));
          if (i === COUNT - 1) conn.close(world.net.now);
        }
      });
      conn.takeover(world.net.now, n);
      world.net.wake(endpoint);
      // runUntil's limit is a virtual time, not a duration: 5 s for this takeover, from now (the
      // cascade runs seconds of virtual time in all, more when each taker's request queues behind
      // an earlier server's data on the shared 2 Mbit/s link).
      if (!world.net.runUntil(() => taker.receiver !== undefined, world.net.now + 5_000)) {
        t.fail(`takeover ${i + 1} (number ${n}) did not complete`);
        return;
      }
      world.net.run(world.net.now + 5);
      state = conn.exportState(world.net.now);
      t.is(state.takeoverNumber, n);
    }
    t.true(numbers.includes(TAKEOVER_NUMBER_MAX) && numbers.includes(1), 'the cascade did not cross the 32-bit wrap');
    t.is(n, COUNT - 150);
    t.true(world.runToCompletion(), 'did not finish after the cascade');
    t.true(world.clientHasFile());
    const accepted = world.client.collector.events.flatMap((e) => (e.type === 'taken-over' ? [e.requestNumber] : []));
    t.deepEqual(accepted, numbers, 'the client reported each full 32-bit number it accepted, in order');
  });
}
