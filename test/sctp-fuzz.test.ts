// Malformed and mutated datagrams: the endpoint drops and counts them, never throws, and a live
// association survives the noise.
import test from 'ava';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import { finalizeChecksum } from '../src/sctp/wire/crc32c.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import type { Transmit } from '../src/transport-abstraction/transport.js';

const A = { address: '10.0.0.1', port: 9899 };
const B = { address: '10.0.0.2', port: 9899 };

function drain(ep: SctpEndpoint, now: number): Transmit[] {
  const out: Transmit[] = [];
  for (let t = ep.pollTransmit(now); t; t = ep.pollTransmit(now)) out.push(t);
  return out;
}

test('random bytes and mutated real packets never throw and are counted', (t) => {
  const rnd = new SeededRandom(42);
  const a = new SctpEndpoint({ addresses: [A], random: new SeededRandom(1), listen: false });
  const b = new SctpEndpoint({ addresses: [B], random: new SeededRandom(2) });
  const c = a.connect(0, B);
  // Record a real conversation to mutate.
  const corpus: Uint8Array[] = [];
  let now = 0;
  for (let i = 0; i < 20; i++) {
    const x = drain(a, now);
    const y = drain(b, now);
    for (const p of x) {
      corpus.push(p.payload);
      b.handleDatagram(now, A, p.payload);
    }
    for (const p of y) {
      corpus.push(p.payload);
      a.handleDatagram(now, B, p.payload);
    }
    if (c.stateName === 'ESTABLISHED' && i < 10) c.send(rnd.bytes(3000));
    now += 1;
  }
  const s = b.all[0]!;
  t.is(s.stateName, 'ESTABLISHED');
  let fed = 0;
  for (let i = 0; i < 20_000; i++) {
    let bytes: Uint8Array;
    const kind = i % 4;
    if (kind === 0) {
      bytes = rnd.bytes(Math.floor(rnd.float() * 200));
    } else {
      const base = corpus[Math.floor(rnd.float() * corpus.length)]!;
      bytes = base.slice();
      const flips = 1 + Math.floor(rnd.float() * 4);
      for (let k = 0; k < flips; k++) bytes[Math.floor(rnd.float() * bytes.length)] = rnd.uint32() & 0xff;
      if (kind === 3) bytes = bytes.subarray(0, Math.floor(rnd.float() * bytes.length));
      // Half of the mutants get a valid checksum so they reach chunk parsing and the state machines.
      if (kind !== 1 && bytes.length >= 12) finalizeChecksum(bytes);
    }
    t.notThrows(() => {
      b.handleDatagram(now, A, bytes);
      a.handleDatagram(now, B, bytes);
      b.handleTimeout(now);
      drain(b, now);
      drain(a, now);
    });
    fed++;
  }
  const dropped = [...b.dropped.values()].reduce((x, y) => x + y, 0);
  t.true(dropped > fed / 2, `${dropped} of ${fed} dropped`);
  t.true((b.dropped.get('checksum') ?? 0) > 0);
  t.true((b.dropped.get('malformed') ?? 0) > 0);
});
