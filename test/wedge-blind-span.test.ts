// Where a taker's blind resume starts (src/wedge/blind-span.ts) and the rate it predicts with
// (soft-state-table.ts TableEntry.rate): pure functions, no network.
import test from 'ava';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import { blindSpan, blindStart, MAX_MARGIN_MS, type BlindSpanInput } from '../src/wedge/blind-span.js';
import { connectionKey, RATE_SAMPLE_MS, SoftStateTable } from '../src/wedge/soft-state-table.js';

function state(acked: number, sent: number, ownerId = 'w1', takeoverNumber = 0): TransportState {
  return {
    client: { address: '192.0.2.1', port: 5000, udpPort: 9899 },
    server: { address: '10.0.0.1', port: 80, udpPort: 9899 },
    takeoverNumber,
    ownerId,
    takenAtMs: 0,
    streamBytesSent: sent,
    streamBytesAcked: acked,
  };
}

const base: BlindSpanInput = { state: state(100_000, 120_000), receivedAt: 1_000, rate: 250, by: 'monitor', now: 1_040, updateMs: 100, span: 24_380 };

test('a monitor report or a move: the client moved at the rate until now; the span starts a quarter of it before that', (t) => {
  t.is(blindStart(base), 103_905); // 100,000 + 250 B/ms x 40 ms - 24,380 / 4
  t.is(blindStart({ ...base, by: 'move' }), 103_905);
});

test('a heartbeat verdict: the old owner stopped within the update period after the state, counted at its middle', (t) => {
  t.is(blindStart({ ...base, by: 'heartbeat', now: 1_400 }), 106_405); // 100,000 + 250 x 50 (half of 100 ms) - 6,095
});

test('never below the state\'s acknowledged point', (t) => {
  t.is(blindStart({ ...base, now: 1_001 }), 100_000);
});

test('a paused stream (rate 0): from the state\'s point, where the client stands', (t) => {
  t.is(blindStart({ ...base, rate: 0, now: 5_000 }), 100_000);
});

test('no blind resume without a rate, with a state lagging more than twice the span, or on a slow stream', (t) => {
  const { rate: _, ...noRate } = base;
  t.is(blindStart(noRate), undefined, 'one state heard');
  t.is(blindStart({ ...base, now: 1_000 + (2 * 24_380) / 250 + 1 }), undefined, 'lag over twice the span');
  t.not(blindStart({ ...base, now: 1_000 + (2 * 24_380) / 250 - 1 }), undefined, 'lag just under twice the span');
  t.is(blindStart({ ...base, rate: 24_380 / 4 / MAX_MARGIN_MS - 1 }), undefined, 'the margin would cost more than MAX_MARGIN_MS of the stream');
  t.is(blindStart({ ...base, rate: 16 }), undefined, "Figure 5's 128 kbit/s");
});

test('the span: the old owner\'s flight (TCP: SND.NXT - SND.UNA, not what its buffer took) plus 4380, at most 64 KiB', (t) => {
  t.is(blindSpan(state(100_000, 120_000)), 24_380);
  t.is(blindSpan(state(0, 1_000_000)), 65_536);
  const tcp = { ...state(100_000, 1_000_000), tcp: { sndUna: 4_294_967_000, sndNxt: 10_000 } as TransportState['tcp'] };
  t.is(blindSpan(tcp), ((10_000 - 4_294_967_000) >>> 0) + 4380);
});

test('table: the rate is a moving average over samples of RATE_SAMPLE_MS at least, of one owner and number', (t) => {
  const table = new SoftStateTable(10_000);
  const key = connectionKey(state(0, 0).client);
  table.apply(0, 'w1', [state(0, 0)], []);
  t.is(table.get(key)!.rate, undefined, 'one state: no rate');
  table.apply(RATE_SAMPLE_MS / 2, 'w1', [state(0, 0)], []);
  t.is(table.get(key)!.rate, undefined, 'two states a few ms apart say nothing (not a pause)');
  table.apply(1_000, 'w1', [state(200_000, 220_000)], []);
  t.is(table.get(key)!.rate, 200, 'bytes acknowledged over the time since the first state');
  table.apply(1_250, 'w1', [state(225_000, 240_000)], []);
  t.is(table.get(key)!.rate, 200 + 0.5 * (100 - 200), 'a 250 ms sample moves it half way (time constant 500 ms)');
  table.apply(1_300, 'w2', [state(230_000, 240_000, 'w2', 1)], []);
  t.is(table.get(key)!.rate, undefined, 'a new owner starts over');
});
