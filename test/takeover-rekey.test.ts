// Re-keying at each takeover (issue 14 item 6), on both transports in the simulator: a state file
// stolen before a takeover cannot take the connection after it; the taker exports the new key; a
// legitimate cascade A→B→C→B still works; a lost answer to the re-keying request is made up by the
// request's retransmission, which the client still recognises under the previous key.
import test from 'ava';
import { World, HOSTS } from './conformance/world.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import type { TransportKind, TransportEvent, Transmit } from '../src/transport-abstraction/transport.js';

const keyOf = (s: TransportState): string => Buffer.from(s.sctp ? s.sctp.endpointPairKey : s.tcp!.connectionKey).toString('hex');

function refusals(events: readonly TransportEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'takeover-refused' ? [`${e.requestNumber}:${e.reason}`] : []));
}

function takenOver(events: readonly TransportEvent[]): number[] {
  return events.flatMap((e) => (e.type === 'taken-over' ? [e.requestNumber] : []));
}

for (const kind of ['sctp', 'tcp'] as const satisfies readonly TransportKind[]) {
  test(`${kind}: a state stolen before a takeover is refused after it; the taker exports a new key`, (t) => {
    const w = new World({ kind, seed: 21, fileLength: 300_000 });
    w.net.runUntil(() => w.client.collector.received > 60_000, 10_000);
    const stolen = w.server('a').sender!.conn.exportState(w.net.now);
    t.is(stolen.sctp ? stolen.sctp.peerX25519Key?.length : stolen.tcp!.peerPublicKey?.length, 32, 'the state names the client\'s x25519 key');
    w.net.kill('a');
    const b = w.takeOver('b', stolen, stolen.takeoverNumber + 1);
    w.net.runUntil(() => b.events.some((e) => e.type === 'takeover-complete'), 10_000);
    const fromB = b.conn.exportState(w.net.now);
    t.not(keyOf(fromB), keyOf(stolen), 'B exports K\', not the key it imported');
    // The thief: the pre-takeover state, the next number, from its own address.
    const eve = w.takeOver('eve', stolen, fromB.takeoverNumber + 1);
    t.true(w.runToCompletion());
    t.true(w.clientHasFile());
    t.is(eve.closed?.error?.code, 'BATON_ERR_TAKEOVER_REJECTED');
    t.deepEqual(takenOver(w.client.collector.events), [1]);
    t.deepEqual(refusals(w.client.collector.events), ['2:not-authenticated']);
  });

  test(`${kind}: a cascade A→B→C→B re-keys at each step and every legitimate takeover wins`, (t) => {
    const w = new World({ kind, seed: 22, fileLength: 600_000, links: { a: { delayMs: 5, rateBps: 2_000_000 }, b: { delayMs: 10, rateBps: 2_000_000 }, c: { delayMs: 15, rateBps: 2_000_000 } } });
    const keys: string[] = [];
    let state = ((): TransportState => {
      w.net.runUntil(() => w.client.collector.received > 60_000, 10_000);
      return w.server('a').sender!.conn.exportState(w.net.now);
    })();
    keys.push(keyOf(state));
    w.net.kill('a');
    let n = state.takeoverNumber;
    for (const [name, mark] of [['b', 200_000], ['c', 350_000], ['b', 0]] as const) {
      if (name === 'b' && n === 2) {
        w.net.revive('b');
        w.server('b').sender!.conn.abort(w.net.now, 'superseded'); // B's connection from its first takeover
      }
      const sender = w.takeOver(name, state, ++n);
      w.net.runUntil(() => sender.events.some((e) => e.type === 'takeover-complete'), 10_000);
      t.true(sender.events.some((e) => e.type === 'takeover-complete'), `${name} won takeover ${n}`);
      if (mark === 0) break;
      w.net.runUntil(() => w.client.collector.received > mark, 20_000);
      state = sender.conn.exportState(w.net.now);
      keys.push(keyOf(state));
      w.net.kill(name);
    }
    t.true(w.runToCompletion());
    t.true(w.clientHasFile());
    t.deepEqual(takenOver(w.client.collector.events), [1, 2, 3]);
    t.is(new Set(keys).size, 3, 'A\'s, B\'s and C\'s exported keys all differ');
  });

  test(`${kind}: the client's answer to the re-keying request is lost; the request's retransmission (under the previous key) gets it again`, (t) => {
    const w = new World({ kind, seed: 23, fileLength: 250_000 });
    w.net.runUntil(() => w.client.collector.received > 60_000, 10_000);
    const state = w.server('a').sender!.conn.exportState(w.net.now);
    w.net.kill('a');
    // Drop the first datagram the client sends to B: the ASCONF-ACK / the SYN/ACK.
    const ep = w.client.endpoint;
    const poll = ep.pollTransmit.bind(ep);
    let dropped: Transmit | undefined;
    ep.pollTransmit = (now: number): Transmit | undefined => {
      const tx = poll(now);
      if (tx !== undefined && dropped === undefined && tx.destination.address === HOSTS.b) {
        dropped = tx;
        return poll(now);
      }
      return tx;
    };
    const b = w.takeOver('b', state, state.takeoverNumber + 1);
    t.true(w.runToCompletion());
    t.truthy(dropped, 'the answer was dropped');
    t.true(w.clientHasFile());
    t.true(b.events.some((e) => e.type === 'takeover-complete'));
    t.not(keyOf(b.conn.exportState(w.net.now)), keyOf(state));
    t.deepEqual(takenOver(w.client.collector.events), [1]);
  });
}
