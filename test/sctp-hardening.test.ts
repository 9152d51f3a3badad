// SCTP as a careful (or hostile) peer tries it: RFC 5061 rules at the association level, path
// supervision after takeovers, takeovers that leave exactly the taker, relayed takeovers, and the
// dead-peer / connect / takeover bounds. All on the simulated network in virtual time.
import test from 'ava';
import { connect, makePair } from './sctp-harness.js';
import { parsePacket } from '../src/sctp/wire/index.js';
import type { AbortChunk } from '../src/sctp/wire/types.js';

test('an authenticated ASCONF-ACK for a serial never sent aborts with "Illegal ASCONF-ACK" (RFC 5061 §5.3)', (t) => {
  const p = makePair({ link: { delayMs: 5 } });
  const client = connect(p);
  p.net.runUntil(() => p.server.assoc?.stateName === 'ESTABLISHED' && client.stateName === 'ESTABLISHED', 2000);
  const server = p.server.assoc!;
  const aborts: AbortChunk[] = [];
  p.net.onTrace((e) => {
    if (e.kind !== 'send' || e.from.address !== client.local.address) return;
    const r = parsePacket(e.payload);
    if (r.ok) for (const c of r.packet.chunks) if (c.type === 6 && !('kind' in c)) aborts.push(c as AbortChunk);
  });
  // The server never sent an ASCONF: serial = the client's next one (its Initial TSN), AUTH added.
  server.queuePacket(server.remote, [{ type: 0x80, serial: server.peerInitialTsn, params: [] }]);
  server.host.wake(server);
  p.net.wake(p.serverEp);
  p.net.run(p.net.now + 100);
  t.is(client.stateName, 'CLOSED');
  const closed = p.client.events.find((e) => e.type === 'closed');
  t.is(closed?.type === 'closed' ? closed.error?.code : undefined, 'BATON_ERR_PROTOCOL');
  t.deepEqual(aborts.map((a) => a.causes.map((c) => c.code)), [[0xa3]]);
  const serverClosed = p.server.events.find((e) => e.type === 'closed');
  t.is(serverClosed?.type === 'closed' ? serverClosed.error?.code : undefined, 'BATON_ERR_ABORTED');
});
