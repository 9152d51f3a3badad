// The library's application loop (src/stream/): a sender fed by a source that is not always ready,
// and the whole failover story through the library's sockets (listen, connect, takeOver,
// sendFrom) on the simulator, in virtual time.
import test from 'ava';
import { once } from 'node:events';
import { connect, listen } from '../src/api.js';
import type { TransportSocket } from '../src/node/socket.js';
import { SimNetwork } from '../src/sim/network.js';
import { SimRuntime } from '../src/sim/runtime.js';
import { END, memorySource, NOT_YET, StreamCollector, StreamSender, type StreamSource } from '../src/stream/index.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import type { MigratableTransport } from '../src/transport-abstraction/transport.js';
import { createEndpoint, TRANSPORT_KINDS } from '../src/transports.js';
import { makeFile, sha256 } from './conformance/world.js';

function twoHosts(seed: number): { net: SimNetwork; sim: SimRuntime } {
  const net = new SimNetwork({ seed });
  net.addHost('client', ['10.0.0.1']);
  net.addHost('a', ['10.0.0.2']);
  net.addHost('b', ['10.0.0.3']);
  net.link('client', 'a', { delayMs: 10, rateBps: 4_000_000, queueBytes: 100_000 });
  net.link('client', 'b', { delayMs: 15, rateBps: 4_000_000, queueBytes: 100_000 });
  return { net, sim: new SimRuntime(net) };
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a source that is not ready half the time (content still arriving) is sent whole, in order`, async (t) => {
    const { net, sim } = twoHosts(11);
    const file = makeFile(300_000, 11);
    // Content arrives 8 KiB at a time, one piece every 20 ms of virtual time, like a slow HTTP origin.
    let arrived = 0;
    let notYet = 0;
    let ready: () => void = () => {};
    const source: StreamSource = {
      read: (offset, max) => {
        if (offset >= file.length) return END;
        if (offset >= arrived) {
          notYet++;
          return NOT_YET;
        }
        return file.subarray(offset, Math.min(arrived, offset + max));
      },
      onReady: (listener) => (ready = listener),
    };
    const arrive = (): void => {
      arrived = Math.min(file.length, arrived + 8192);
      ready();
      if (arrived < file.length) sim.setTimer(sim.now() + 20, arrive);
    };
    let sender: StreamSender | undefined;
    let stateChanges = 0;
    const server = sim.attachNow([{ address: '10.0.0.2', port: 9899 }], (bound) => createEndpoint(kind, { addresses: bound, listen: true, random: net.random }), (now) => {
      if (sender === undefined) {
        const conn = server.core.pollAccept();
        if (conn === undefined) return;
        sender = new StreamSender({ conn, source, now: () => sim.now(), wake: () => server.wake(), onStateChanged: () => stateChanges++ });
        arrive();
      }
      sender.pump(now);
    });
    let collector: StreamCollector | undefined;
    const client = sim.attachNow([{ address: '10.0.0.1', port: 9899 }], (bound) => createEndpoint(kind, { addresses: bound, random: net.random }), (now) => collector?.pump(now));
    collector = new StreamCollector({ conn: client.core.connect(sim.now(), { address: '10.0.0.2', port: 9899 }) });
    client.wake();
    t.true(net.runUntil(() => collector!.closed !== undefined, 120_000), `received ${collector.received}`);
    t.is(collector.closed?.error, undefined);
    t.is(sha256(collector.bytes()), sha256(file));
    t.true(notYet >= 30, `the source said NOT_YET only ${notYet} times`);
    t.true(net.now >= (file.length / 8192 - 1) * 20, 'the stream went no faster than its content arrived');
    t.true(stateChanges > 0, 'state changes were reported');
    t.is(sender!.offset, file.length);
    t.true(sender!.finished);
  });

  test(`${kind}: failover through the library's sockets on the simulator — B takes over and resumes at the client's next byte`, async (t) => {
    const { net, sim } = twoHosts(12);
    const file = makeFile(400_000, 12);
    const received = await sim.run(
      (async () => {
        let state: TransportState | undefined;
        const a = await listen({ runtime: sim, transport: kind, address: '10.0.0.2', rtoMin: 200 }, (socket) => {
          // A keeps its latest exported state where B can read it, as the soft-state protocol will.
          socket.on('state-changed', () => (state = socket.transport.exportState(sim.now())));
          socket.sendFrom(memorySource(file));
        });
        const b = await listen({ runtime: sim, transport: kind, address: '10.0.0.3', accept: false, rtoMin: 200 });
        const client = await connect({ runtime: sim, transport: kind, address: '10.0.0.2', localAddress: '10.0.0.1', rtoMin: 200 });
        const chunks: Buffer[] = [];
        let got = 0;
        client.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          got += chunk.length;
          if (got >= 100_000 && state !== undefined && net.isAlive('a')) {
            net.kill('a');
            const taker: TransportSocket = b.takeOver(state);
            taker.sendFrom(memorySource(file), { resume: true });
            taker.on('error', (error) => t.fail(`taker: ${error.message}`));
          }
        });
        const takenOver = once(client, 'taken-over');
        await once(client, 'end');
        await takenOver;
        client.end();
        await once(client, 'close');
        await b.close();
        await a.close();
        return Buffer.concat(chunks);
      })(),
      300_000,
    );
    t.is(received.length, file.length);
    t.is(sha256(received), sha256(file), 'the client got the file byte-exact across the takeover');
  });
}

test('sendFrom() refuses a second writer and write() on a socket it feeds', async (t) => {
  const { sim } = twoHosts(13);
  await sim.run(
    (async () => {
      const server = await listen({ runtime: sim, address: '10.0.0.2' }, (socket) => socket.on('data', () => {}));
      const socket = await connect({ runtime: sim, address: '10.0.0.2', localAddress: '10.0.0.1' });
      socket.sendFrom(memorySource(new Uint8Array(10)));
      t.throws(() => socket.sendFrom(memorySource(new Uint8Array(10))), { code: 'BATON_ERR_USAGE' });
      const [error] = await Promise.all([new Promise<Error>((resolve) => socket.write('x', resolve as (e?: Error | null) => void)), once(socket, 'error').catch(() => undefined)]);
      t.is((error as Error & { code?: string }).code, 'BATON_ERR_USAGE');
      await server.close();
    })(),
    60_000,
  );
});

test('StreamSender on a taker waits for takeover-complete and starts at receiver.nextOffset', (t) => {
  const sent: Array<{ offset: number; length: number }> = [];
  let events: Array<Parameters<StreamSender['handleEvent']>[1]> = [];
  let streamOffset = 0;
  const conn = {
    streamOffset: 0,
    pollEvent: () => events.shift(),
    send: (bytes: Uint8Array) => {
      const n = Math.min(bytes.length, 1000);
      sent.push({ offset: streamOffset, length: n });
      streamOffset += n;
      return n;
    },
    close: () => {},
  } as unknown as MigratableTransport;
  const file = makeFile(5000);
  const reads: number[] = [];
  const sender = new StreamSender({ conn, source: { read: (offset, max) => (reads.push(offset), memorySource(file).read(offset, max)) }, now: () => 0, resume: true });
  sender.pump(0);
  t.deepEqual(reads, [], 'nothing is read before the takeover completes');
  events = [{ type: 'takeover-complete', receiver: { nextOffset: 3000, heldRanges: [], cumulativeAck: 0 } }];
  sender.pump(1);
  t.is(reads[0], 3000);
  t.is(sender.receiver?.nextOffset, 3000);
  t.is(sent[0]!.length, 1000, 'a partial send stops the fill until writable');
  events = [{ type: 'writable' }];
  sender.pump(2);
  t.is(sender.offset, 5000);
  t.true(sender.finished);
});

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a source that becomes ready after the connection closed, before its 'closed' event was polled, ends the sending without a throw`, (t) => {
    const { net, sim } = twoHosts(14);
    let ready: () => void = () => {};
    let arrived = 0;
    const source: StreamSource = {
      read: (offset, max) => (offset >= arrived ? NOT_YET : new Uint8Array(Math.min(max, arrived - offset))),
      onReady: (listener) => (ready = listener),
    };
    let sender: StreamSender | undefined;
    let conn: MigratableTransport | undefined;
    const server = sim.attachNow([{ address: '10.0.0.2', port: 9899 }], (bound) => createEndpoint(kind, { addresses: bound, listen: true, random: net.random }), (now) => {
      if (sender === undefined) {
        conn = server.core.pollAccept();
        if (conn === undefined) return;
        sender = new StreamSender({ conn, source, now: () => sim.now(), wake: () => server.wake() });
      }
      sender.pump(now);
    });
    let collector: StreamCollector | undefined;
    const client = sim.attachNow([{ address: '10.0.0.1', port: 9899 }], (bound) => createEndpoint(kind, { addresses: bound, random: net.random }), (now) => collector?.pump(now));
    collector = new StreamCollector({ conn: client.core.connect(sim.now(), { address: '10.0.0.2', port: 9899 }) });
    client.wake();
    t.true(net.runUntil(() => conn?.stateName === 'ESTABLISHED', 10_000), 'the connection is up');
    // The connection ends (here a local abort; in `baton cat`, the peer's ABORT or a timeout) and,
    // before anyone polls its 'closed' event, the content arrives.
    conn!.abort(sim.now());
    t.not(conn!.stateName, 'ESTABLISHED');
    arrived = 1000;
    t.notThrows(() => ready());
    t.false(sender!.sending, 'the sender stops handing bytes to a connection that refuses them');
    t.is(sender!.offset, 0);
    sender!.pump(sim.now());
    t.not(sender!.closed, undefined, "the 'closed' event still reaches the sender");
  });
}
