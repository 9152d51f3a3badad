// `baton serve --plpmtud` in the simulator: a wedge whose client path has a smaller MTU than its
// configured one finds it (RFC 8899 probes, src/sctp/plpmtud.ts) and the download completes; with
// discovery off, every full-sized DATA packet is dropped by the link and the download stalls.
import test from 'ava';
import { makeFile, sha256 } from './conformance/world.js';
import { get, WedgeWorld } from './wedge-sim-world.js';

test('sctp: with --plpmtud a wedge finds a 1200-byte client path under its 1500 MTU and the download is whole; without it the download stalls', async (t) => {
  const object = makeFile(300_000, 41);
  for (const plpmtud of [true, false]) {
    const world = new WedgeWorld({ kind: 'sctp', seed: 41, wedges: 1, mtu: 1500, plpmtud, clientLink: () => ({ delayMs: 5, mtu: 1200 }) });
    await world.startAll(new Map([['/o', object]]));
    const client = world.client('w1', [get('/o', true)]);
    const done = world.net.runUntil(() => client.closed, world.net.now + 30_000);
    const response = client.responses()[0];
    if (plpmtud) {
      t.true(done, `with discovery: received ${client.received} bytes`);
      t.is(response && sha256(response.body), sha256(object));
    } else {
      t.false(done, 'without discovery the 1500-byte DATA packets never pass the 1200-byte link');
      t.true(client.received < object.length, `without discovery: received ${client.received} bytes`);
    }
  }
});
