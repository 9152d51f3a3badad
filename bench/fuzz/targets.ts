// What `baton fuzz TARGET` feeds: each target builds a genuine corpus from a real conversation,
// takes one hostile input at a time (feed), and checks afterwards that its state is still sound
// (check): the transport still carries data byte-exact, a genuine state still imports, a genuine
// announcement is still accepted, a genuine request is still parsed.
import { finalizeChecksum } from '../../src/sctp/wire/crc32c.js';
import { SeededRandom } from '../../src/transport-abstraction/random.js';
import { decodeTransportState, encodeTransportState } from '../../src/transport-abstraction/state.js';
import type { TransportState } from '../../src/transport-abstraction/state-types.js';
import type { TransportKind } from '../../src/transport-abstraction/transport.js';
import { createEndpoint } from '../../src/transports.js';
import { HttpMapperFactory } from '../../src/wedge/http-mapper.js';
import type { StreamMapper } from '../../src/wedge/mapper.js';
import { Opener, Sealer } from '../../src/wedge/seal.js';
import { SoftStateChannel } from '../../src/wedge/soft-state-channel.js';
import { fillChecksum, pseudoHeaderSum } from '../../src/tcp-migrate/wire.js';
import { CLIENT, Pair, SERVER } from './pair.js';

export const FUZZ_TARGETS = ['sctp-packet', 'tcp-segment', 'state', 'announcement', 'http-request'] as const;
export type FuzzTargetName = (typeof FUZZ_TARGETS)[number];

export interface FuzzTarget {
  readonly corpus: readonly Uint8Array[];
  /** One hostile input; may throw only a coded BatonError. */
  feed(input: Uint8Array, random: SeededRandom): void;
  /** After a batch: what is wrong with the target's state, or undefined. */
  check(): string | undefined;
  /** What the target counted (drops by reason, reconnects, ...). */
  counters(): Record<string, number>;
}

export function makeTarget(name: FuzzTargetName, seed: number): FuzzTarget {
  switch (name) {
    case 'sctp-packet':
      return transportTarget('sctp', seed);
    case 'tcp-segment':
      return transportTarget('tcp', seed);
    case 'state':
      return stateTarget(seed);
    case 'announcement':
      return announcementTarget(seed);
    case 'http-request':
      return httpTarget();
  }
}

/** A pair with an established connection that has carried some data both ways (the corpus). */
function livePair(kind: TransportKind, seed: number): Pair {
  const pair = new Pair(kind, seed);
  const data = new SeededRandom(seed).bytes(20_000);
  pair.check(data);
  pair.accepted?.send(data.subarray(0, 5000));
  pair.run(() => false, 200);
  return pair;
}

function transportTarget(kind: TransportKind, seed: number): FuzzTarget {
  const pair = livePair(kind, seed);
  const corpus = pair.recorded.map((r) => r.bytes);
  const probe = new SeededRandom(seed + 7).bytes(30_000);
  const tcpSums = [pseudoHeaderSum(CLIENT.address, SERVER.address), pseudoHeaderSum(SERVER.address, CLIENT.address)];
  return {
    corpus,
    feed(input, random) {
      const toServer = (random.uint32() & 1) === 0;
      // Most mutants get a valid checksum, so that they reach the chunk / option parsers and the state machines.
      if ((random.uint32() & 3) !== 0) {
        if (kind === 'sctp' && input.length >= 12) finalizeChecksum(input);
        if (kind === 'tcp' && input.length >= 20) fillChecksum(input, tcpSums[toServer ? 0 : 1]!);
      }
      pair.inject(input, toServer);
    },
    check: () => pair.check(probe),
    counters: () => {
      const drops = (ep: { dropped?: ReadonlyMap<string, number> }) => [...(ep.dropped ?? new Map<string, number>()).values()].reduce((a, b) => a + b, 0);
      return { reconnects: pair.reconnects, injectedBytesDelivered: pair.injectedBytes, desynchronized: pair.desynchronized, droppedByServer: drops(pair.server as never), droppedByClient: drops(pair.client as never) };
    },
  };
}

function stateTarget(seed: number): FuzzTarget {
  const states: TransportState[] = [];
  for (const kind of ['sctp', 'tcp'] as const) {
    const pair = livePair(kind, seed);
    states.push(pair.accepted!.exportState(pair.now));
  }
  const corpus = states.map((s) => encodeTransportState(s));
  const importers = { sctp: createEndpoint('sctp', { addresses: [SERVER], listen: true, random: new SeededRandom(seed) }), tcp: createEndpoint('tcp', { addresses: [SERVER], listen: true, random: new SeededRandom(seed) }) };
  let decoded = 0;
  let imported = 0;
  const tryImport = (state: TransportState): void => {
    const kind = state.sctp !== undefined ? 'sctp' : 'tcp';
    const ep = importers[kind];
    const conn = ep.importState(0, state);
    imported++;
    try {
      conn.takeover(0, state.takeoverNumber + 1);
      conn.exportState(0);
      while (ep.pollTransmit(0) !== undefined);
    } finally {
      conn.abort(0);
      while (ep.pollTransmit(0) !== undefined);
    }
  };
  return {
    corpus,
    feed(input) {
      const state = decodeTransportState(input);
      decoded++;
      tryImport(state);
    },
    check() {
      for (const [i, bytes] of corpus.entries()) {
        const again = encodeTransportState(decodeTransportState(bytes));
        if (Buffer.compare(again, bytes) !== 0) return `the genuine ${i === 0 ? 'SCTP' : 'TCP-Migrate'} state no longer round-trips`;
        tryImport(states[i]!);
      }
      return undefined;
    },
    counters: () => ({ decoded, imported }),
  };
}

function announcementTarget(seed: number): FuzzTarget {
  const key = new Uint8Array(32).fill(9);
  const random = new SeededRandom(seed);
  const w1 = { id: 'w1', address: { address: '10.0.1.1', port: 7000 } };
  const w2 = { id: 'w2', address: { address: '10.0.1.2', port: 7000 } };
  const w3 = { id: 'w3', address: { address: '10.0.1.3', port: 7000 } };
  const pair = livePair('sctp', seed);
  const owned = [pair.accepted!.exportState(pair.now), livePair('tcp', seed + 1).accepted!.exportState(0)].map((s) => ({ ...s, ownerId: 'w1' }));
  let now = 0;
  const a = new SoftStateChannel({ selfId: 'w1', group: 0, groupKey: key, members: [w2, w3], random, now, updateMs: 1000, source: () => ({ connections: owned, load: { hostedConnections: owned.length, outstandingOffers: 0 } }) });
  const b = new SoftStateChannel({ selfId: 'w2', group: 0, groupKey: key, members: [w1, w3], random, now, updateMs: 1000 });
  const genuine = (): Uint8Array[] => {
    a.handleTimeout(now);
    const out: Uint8Array[] = [];
    for (let t = a.pollTransmit(now); t !== undefined; t = a.pollTransmit(now)) if (t.destination.address === w2.address.address) out.push(t.payload);
    return out;
  };
  const sealed = genuine();
  const opener = new Opener(() => key);
  const plaintexts = sealed.map((s) => opener.open(s)!.plaintext);
  // An insider (w3 holds the group key) seals mutated plaintexts: they reach the decoder and the table.
  const insider = new Sealer(key, 'w3', random);
  const drain = (): void => {
    while (b.pollTransmit(now) !== undefined);
    while (b.pollEvent() !== undefined);
  };
  return {
    corpus: [...sealed, ...plaintexts],
    feed(input, r) {
      if ((r.uint32() & 1) === 0) b.handleDatagram(now, w1.address, input);
      else b.handleDatagram(now, w3.address, insider.seal('announcement', input).bytes);
      drain();
    },
    check() {
      now += 1000;
      b.handleTimeout(now);
      for (const s of genuine()) b.handleDatagram(now, w1.address, s);
      drain();
      for (const s of owned) {
        const entry = b.table.all().find((e) => e.state.ownerId === 'w1' && e.state.client.udpPort === s.client.udpPort && e.state.client.port === s.client.port);
        if (entry === undefined) return `a genuine announcement of w1 was not stored after the fuzz (table: ${b.table.size} entries)`;
      }
      return undefined;
    },
    counters: () => ({ ...Object.fromEntries(b.dropped), tableEntries: b.table.size }),
  };
}

function httpTarget(): FuzzTarget {
  const enc = new TextEncoder();
  const corpus = [
    'GET /o HTTP/1.1\r\nHost: pool\r\n\r\n',
    'GET /a/b?c=d HTTP/1.1\r\nHost: pool\r\nRange: bytes=100-\r\nIf-Range: "abc"\r\nConnection: close\r\n\r\n',
    'HEAD /x HTTP/1.0\r\nHost: h\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n',
    'GET /o HTTP/1.1\r\nHost: pool\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'GET /o HTTP/1.1\r\nHost: pool\r\nContent-Length: 5\r\n\r\nhelloGET /p HTTP/1.1\r\nHost: pool\r\n\r\n',
  ].map((s) => enc.encode(s));
  const factory = new HttpMapperFactory();
  let mapper: StreamMapper = factory.create();
  let inputs = 0;
  let toBackend = 0;
  let refused = 0;
  const drain = (m: StreamMapper): void => {
    for (let ev = m.pollEvent(); ev !== undefined; ev = m.pollEvent()) {
      if (ev.type === 'to-backend') toBackend++;
      if (ev.type === 'close' && ev.error !== undefined) refused++;
    }
  };
  return {
    corpus,
    feed(input, r) {
      // A fresh connection every few inputs; in between, inputs follow each other on one connection, in random pieces.
      if (inputs++ % 4 === 0) mapper = factory.create();
      for (let at = 0; at < input.length; ) {
        const n = 1 + (r.uint32() % (input.length - at));
        mapper.handleClientBytes(input.subarray(at, at + n));
        drain(mapper);
        at += n;
      }
      if ((r.uint32() & 7) === 0) mapper.handleClientEnd();
      drain(mapper);
    },
    check() {
      const fresh = factory.create();
      fresh.handleClientBytes(corpus[0]!);
      const events = [];
      for (let ev = fresh.pollEvent(); ev !== undefined; ev = fresh.pollEvent()) events.push(ev.type);
      return events.includes('to-backend') ? undefined : `a genuine request gave ${events.join(', ') || 'nothing'}`;
    },
    counters: () => ({ forwardedToBackend: toBackend, refusedWithError: refused }),
  };
}
