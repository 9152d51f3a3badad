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

test('well-formed but hostile chunks with the right tag never throw', async (t) => {
  const { emitPacket } = await import('../src/sctp/wire/emit.js');
  type Chunk = import('../src/sctp/wire/types.js').Chunk;
  const rnd = new SeededRandom(7);
  let survivors = 0;
  for (let round = 0; round < 40; round++) {
    const a = new SctpEndpoint({ addresses: [A], random: new SeededRandom(round + 1), listen: false });
    const b = new SctpEndpoint({ addresses: [B], random: new SeededRandom(round + 100) });
    const c = a.connect(0, B);
    for (let i = 0; i < 6; i++) {
      for (const p of drain(a, i)) b.handleDatagram(i, A, p.payload);
      for (const p of drain(b, i)) a.handleDatagram(i, B, p.payload);
    }
    const s = b.all[0]!;
    c.send(rnd.bytes(20_000));
    for (const p of drain(a, 10)) b.handleDatagram(10, A, p.payload);
    const near = (base: number) => (base + Math.floor(rnd.float() * 40) - 20) >>> 0;
    const u16 = () => rnd.uint32() & 0xffff;
    for (let i = 0; i < 300; i++) {
      const pick = rnd.uint32() % 9;
      let chunk: Chunk;
      switch (pick) {
        case 0:
          chunk = { type: 3, cumulativeTsnAck: near(c.localInitialTsn), advertisedReceiverWindow: rnd.uint32(), gapBlocks: Array.from({ length: rnd.uint32() % 5 }, () => ({ start: u16() % 50, end: u16() % 60 })), duplicateTsns: [rnd.uint32()] };
          break;
        case 1:
          chunk = { type: 0, immediate: false, unordered: rnd.float() < 0.5, beginning: rnd.float() < 0.5, ending: rnd.float() < 0.5, tsn: near(s.peerInitialTsn), streamId: u16() % 20, ssn: u16() % 4, ppid: 0, userData: rnd.bytes(rnd.uint32() % 3000) };
          break;
        case 2:
          chunk = { type: 5, info: rnd.bytes(rnd.uint32() % 20) };
          break;
        case 3:
          chunk = { type: 7, cumulativeTsnAck: near(c.localInitialTsn) };
          break;
        case 4:
          chunk = { type: 9, reflectedTag: false, causes: [{ code: u16() % 16, info: rnd.bytes(rnd.uint32() % 8) }] };
          break;
        case 5:
          chunk = { type: 8, reflectedTag: false };
          break;
        case 6:
          chunk = { type: 11, reflectedTag: false };
          break;
        case 7:
          chunk = { type: 4, info: rnd.bytes(8) };
          break;
        default:
          chunk = { type: 12, tsn: rnd.uint32() };
      }
      const toServer = rnd.float() < 0.5;
      const target = toServer ? s : c;
      const bytes = emitPacket({ sourcePort: 9899, destinationPort: 9899, verificationTag: target.localTag, chunks: [chunk] });
      t.notThrows(() => {
        if (toServer) b.handleDatagram(20 + i, A, bytes);
        else a.handleDatagram(20 + i, B, bytes);
        a.handleTimeout(20 + i);
        b.handleTimeout(20 + i);
        drain(a, 20 + i);
        drain(b, 20 + i);
      });
      for (const x of [c, s]) {
        t.true(x.sender.totalFlight >= 0 && x.paths.every((p) => p.flightSize >= 0));
      }
    }
    if (!c.closed && !s.closed) survivors++;
  }
  t.log(`${survivors} of 40 associations survived 300 hostile chunks each`);
});
