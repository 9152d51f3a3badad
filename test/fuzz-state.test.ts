// Findings of `baton fuzz state`, each kept as a test.
import test from 'ava';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { LocalUsageError } from '../src/transport-abstraction/errors.js';
import { createEndpoint } from '../src/transports.js';
import { Pair } from '../bench/fuzz/pair.js';

test('a state whose SCTP stream counts are past 16 bits is refused (3,688,943,634 inbound streams made restore allocate a table that size: the process died out of memory)', (t) => {
  const pair = new Pair('sctp', 4);
  t.is(pair.check(new SeededRandom(4).bytes(1000)), undefined);
  const state = pair.accepted!.exportState(pair.now);
  const importer = createEndpoint('sctp', { addresses: [{ address: '10.0.0.3', port: 9000 }], listen: true, random: new SeededRandom(5) });
  for (const field of ['inboundStreams', 'outboundStreams'] as const) {
    const bad = { ...state, sctp: { ...state.sctp!, [field]: 70_000 } };
    const error = t.throws(() => importer.importState(0, bad), { instanceOf: LocalUsageError });
    t.regex(error!.message, new RegExp(`${field} must be a uint16, got 70000`));
  }
  t.notThrows(() => importer.importState(0, state).abort(0), 'the genuine state still imports');
});
