// `baton bench connections` (issue 12, "Connections per process"): the core part's figure is the
// goal itself (≤ 16 KB per idle connection on both transports; an SCTP association held two 64 KiB
// slabs before), and the real-UDP part runs end to end with a few connections.
import test from 'ava';
import { measureCore, runConnections } from '../bench/connections.js';
import { TRANSPORT_KINDS } from '../src/transports.js';

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: an idle connection costs the server core at most 16 KB (500 connections, after a warm-up)`, (t) => {
    const core = measureCore(kind, 500);
    t.is(core.established, 500);
    t.log(`${kind}: ${(core.bytesPerConnection / 1000).toFixed(1)} KB per idle connection, ${core.setupsPerSecond.toFixed(0)} set-ups per second of server CPU (a shared machine)`);
    t.true(core.bytesPerConnection <= 16_000, `${core.bytesPerConnection} bytes per connection`);
    t.true(core.setupsPerSecond > 0);
  });
}

test('sctp: the real-UDP part streams to n concurrent connections and reports every figure', async (t) => {
  const rows = await runConnections({ transport: 'sctp', ns: [1, 4], seconds: 1, progress: (line) => t.log(line) });
  t.deepEqual(rows.map((r) => r.n), [1, 4]);
  for (const r of rows) {
    t.true(r.goodputMBps > 0, `n=${r.n}: no goodput`);
    t.true(r.eventLoopP99Ms > 0 && Number.isFinite(r.rssBytesPerConnection) && r.endToEndSetupsPerSecond > 0, JSON.stringify(r));
  }
  t.is(rows[0]!.goodputRatio, 1);
  t.true(Number.isFinite(rows[1]!.goodputRatio));
});
