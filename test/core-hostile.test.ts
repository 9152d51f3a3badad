// Hostile input and local misuse against both cores: whatever is fed to the public methods of an
// endpoint or a connection, nothing but a coded BatonError comes out (bad input is dropped and
// counted; misuse throws LocalUsageError), never a TypeError or RangeError, and never the
// BATON_ERR_INTERNAL of the guard's safety net (src/transport-abstraction/guard.ts).
import test from 'ava';
import { BatonError } from '../src/transport-abstraction/errors.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import type { MigratableTransport, TransportEndpoint } from '../src/transport-abstraction/transport.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { World } from './conformance/world.js';

/** Uncoded exceptions seen, as "call: Name: message" (one entry per distinct text). */
const uncoded = new Set<string>();

/** Run `fn`; an exception must be a BatonError with a code. Returns what was thrown, if anything. */
function coded(_t: unknown, what: string, fn: () => unknown): unknown {
  try {
    fn();
    return undefined;
  } catch (e) {
    // A BATON_ERR_INTERNAL is the guard's safety net catching a bug: it fails here too.
    if (!(e instanceof BatonError && e.code.startsWith('BATON_ERR_') && e.code !== 'BATON_ERR_INTERNAL')) {
      uncoded.add(`${what.replace(/\(.*=.*\)/, '(…)')}: ${(e as Error)?.name}: ${(e as Error)?.message}`);
    }
    return e;
  }
}

/** Run `fn`, which must not throw at all (bad input is dropped and counted). */
function quiet(what: string, fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    uncoded.add(`${what} threw: ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

function mutations(rnd: SeededRandom, packet: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [packet.subarray(0, rnd.uint32() % packet.length), new Uint8Array(0)];
  for (let i = 0; i < 8; i++) {
    const m = packet.slice();
    for (let k = 0; k < 1 + (rnd.uint32() % 4); k++) m[rnd.uint32() % m.length] = rnd.uint32() & 0xff;
    out.push(m);
  }
  const big = new Uint8Array(packet.length + 1 + (rnd.uint32() % 64));
  big.set(packet);
  big.set(rnd.bytes(big.length - packet.length), packet.length);
  out.push(big);
  return out;
}

/** A state whose fields are replaced, one at a time, by hostile values. */
function* hostileStates(state: TransportState): Generator<[string, unknown]> {
  yield ['null', null];
  yield ['empty object', {}];
  yield ['number', 42];
  const weird: unknown[] = [undefined, null, -1, 1.5, Number.NaN, 2 ** 53, 'x', new Uint8Array(0), new Uint8Array(3), [], {}];
  for (const section of ['sctp', 'tcp'] as const) {
    const s = state[section] as Record<string, unknown> | undefined;
    if (s === undefined) continue;
    for (const key of Object.keys(s)) {
      for (const w of weird) {
        const copy = structuredClone(state) as unknown as Record<string, Record<string, unknown>>;
        copy[section]![key] = w;
        yield [`${section}.${key}=${String(w)}`, copy];
      }
    }
  }
  for (const key of ['client', 'server', 'takeoverNumber', 'streamBytesSent', 'streamBytesAcked'] as const) {
    for (const w of weird) {
      const copy = structuredClone(state) as unknown as Record<string, unknown>;
      copy[key] = w;
      yield [`${key}=${String(w)}`, copy];
    }
  }
}

for (const kind of TRANSPORT_KINDS) {
  test.serial(`${kind}: hostile datagrams and misused calls give only coded errors`, (t) => {
    const world = new World({ kind, seed: 51, fileLength: 200_000, links: { a: { delayMs: 5, rateBps: 1_000_000 } } });
    const captured: Uint8Array[] = [];
    world.net.onTrace((e) => {
      if (e.kind === 'send' && captured.length < 40) captured.push(e.payload.slice());
    });
    world.net.run(world.net.now + 300);
    const state = world.server('a').sender!.conn.exportState(world.net.now);
    const rnd = new SeededRandom(51);
    const endpoints: TransportEndpoint[] = [world.client.endpoint, world.server('a').endpoint, world.server('b').endpoint];
    const now = world.net.now;
    const froms = [world.server('a').address, world.client.address, { address: '10.0.0.77', port: 1 }, { address: '::1', port: 9 }, { address: 'not an ip', port: 0 }];
    // Hostile datagrams at every endpoint, from every address, including odd `local`s.
    for (const ep of endpoints) {
      for (const packet of captured) {
        for (const m of mutations(rnd, packet)) {
          for (const from of froms) {
            quiet('handleDatagram', () => ep.handleDatagram(now, from, m, world.client.address));
            quiet('handleDatagram (odd local)', () => ep.handleDatagram(now, from, m, { address: '192.0.2.1', port: 5 }));
          }
        }
      }
      for (const n of [Number.NaN, -1, Infinity, 1e300]) {
        coded(t, `handleTimeout(${n})`, () => ep.handleTimeout(n));
        coded(t, `pollTransmit(${n})`, () => ep.pollTransmit(n));
      }
      coded(t, 'pollTimeout', () => ep.pollTimeout());
      coded(t, 'pollAccept', () => ep.pollAccept());
      coded(t, 'handleDatagram(undefined bytes)', () => ep.handleDatagram(now, froms[0]!, undefined as unknown as Uint8Array));
      coded(t, 'handleDatagram(undefined from)', () => ep.handleDatagram(now, undefined as unknown as typeof froms[0], captured[0]!));
      coded(t, 'connect(bad address)', () => ep.connect(now, { address: 'nonsense', port: 70000 }));
      coded(t, 'connect(undefined)', () => ep.connect(now, undefined as unknown as typeof froms[0]));
    }
    // Hostile states at importState; takeover() on what comes out.
    const importer = world.server('c').endpoint;
    let imported = 0;
    for (const [label, bad] of hostileStates(state)) {
      let c: MigratableTransport | undefined;
      const e = coded(t, `importState(${label})`, () => {
        c = importer.importState(now, bad as TransportState);
      });
      if (e === undefined && c !== undefined) {
        imported++;
        coded(t, `takeover after importState(${label})`, () => c!.takeover(now, state.takeoverNumber + 1));
        coded(t, `exportState after importState(${label})`, () => c!.exportState(now));
        coded(t, 'pollTransmit', () => {
          while (importer.pollTransmit(now) !== undefined);
        });
        coded(t, `abort after importState(${label})`, () => c!.abort(now));
      }
    }
    t.log(`${imported} hostile states were imported (the rest refused with LocalUsageError)`);
    // Misuse of a live connection.
    const conn = world.client.conn;
    for (const [label, fn] of [
      ['send(string)', () => conn.send('text' as unknown as Uint8Array)],
      ['send(null)', () => conn.send(null as unknown as Uint8Array)],
      ['send(stream 1.5)', () => conn.send(new Uint8Array(1), { stream: 1.5 })],
      ['send(stream -1)', () => conn.send(new Uint8Array(1), { stream: -1 })],
      ['send(stream 1e9)', () => conn.send(new Uint8Array(1), { stream: 1e9 })],
      ['takeover on a connection not imported', () => conn.takeover(now, 1)],
      ["takeover mode 'sideways'", () => conn.takeover(now, 1, 'sideways' as 'gap-fill')],
      ['exportState(NaN)', () => conn.exportState(Number.NaN)],
      ['handleTimeout(NaN)', () => conn.handleTimeout(Number.NaN)],
      ['close', () => conn.close(now)],
      ['close again', () => conn.close(now)],
      ['abort', () => conn.abort(now, 'x'.repeat(70_000))],
      ['abort again', () => conn.abort(now)],
      ['send after abort', () => conn.send(new Uint8Array(10))],
      ['exportState after abort', () => conn.exportState(now)],
      ['takeover after abort', () => conn.takeover(now, 1)],
      ['pollEvent', () => conn.pollEvent()],
    ] as const) {
      coded(t, label, fn);
    }
    // A taker whose takeover() is called twice, or with a bad mode.
    const taker = world.server('b').endpoint.importState(now, state);
    coded(t, "takeover mode 'sideways'", () => taker.takeover(now, state.takeoverNumber + 1, 'sideways' as 'gap-fill'));
    coded(t, 'takeover', () => taker.takeover(now, state.takeoverNumber + 1));
    coded(t, 'takeover twice', () => taker.takeover(now, state.takeoverNumber + 2));
    // The world still runs.
    world.net.run(world.net.now + 2_000);
    t.deepEqual([...uncoded], [], [...uncoded].join('\n'));
    uncoded.clear();
  });
}
