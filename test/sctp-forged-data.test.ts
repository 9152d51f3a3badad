// An on-path attacker injects one forged DATA chunk (issue 14 item 4): the right verification tag
// and a TSN a few ahead of the receiver's cumulative TSN, so that the real chunk with that TSN is
// later discarded as a duplicate. Between baton ends DATA is authenticated (RFC 4895: both list
// DATA in CHUNKS, the key comes from the x25519 agreement), so the forged chunk is dropped and
// counted; with a peer that does not authenticate DATA the stall it causes ends at once with
// BATON_ERR_PROTOCOL instead of lasting forever. Simulated network, virtual time.
import test from 'ava';
import { CLIENT, connect, feeder, makePair, pattern, SERVER, sha256 } from './sctp-harness.js';
import { emitPacket, parsePacket } from '../src/sctp/wire/index.js';
import type { DataChunk } from '../src/sctp/wire/types.js';
import type { SctpOptions } from '../src/sctp/options.js';
import { ssnAdd } from '../src/sctp/serial.js';

const FILE = 2_000_000;

/** A server streaming FILE bytes to a client; after 300 ms a forged DATA chunk reaches the client (unless `forge` is undefined). */
function attack(options: SctpOptions, forge: ((cumTsn: number, nextSsn: number) => Partial<DataChunk>) | undefined) {
  const p = makePair({ link: { delayMs: 10, rateBps: 8_000_000, queueBytes: 100_000 }, client: options, server: options });
  const client = connect(p);
  p.net.runUntil(() => p.server.assoc?.stateName === 'ESTABLISHED', p.net.now + 2000);
  const server = p.server.assoc!;
  const data = pattern(FILE);
  const f = feeder(server, data);
  p.server.onData = () => f.pump();
  f.pump();
  p.net.wake(p.serverEp);
  // Every DATA chunk the server sends, and whether an AUTH chunk came before it in its packet.
  const sent = { data: 0, authenticated: 0 };
  p.net.onTrace((e) => {
    if (e.kind !== 'send' || e.from.address !== SERVER.address) return;
    const r = parsePacket(e.payload);
    if (!r.ok) return;
    let auth = false;
    for (const c of r.packet.chunks) {
      if (c.type === 15) auth = true;
      if (c.type === 0) {
        sent.data++;
        if (auth) sent.authenticated++;
      }
    }
  });
  p.net.run(p.net.now + 300);
  const r = client.receiver!;
  const cum = r.tracker.cumulativeTsn;
  const chunk: DataChunk = {
    type: 0,
    immediate: false,
    unordered: false,
    beginning: true,
    ending: true,
    tsn: (cum + 5) >>> 0,
    streamId: 0,
    ssn: ssnAdd(r.reassembly.nextSsn[0]!, 20),
    ppid: 0,
    userData: new Uint8Array(100).fill(0x41),
    ...forge?.(cum, r.reassembly.nextSsn[0]!),
  };
  const forged = emitPacket({ sourcePort: 9899, destinationPort: 9899, verificationTag: client.localTag, chunks: [chunk] });
  const injectedAt = p.net.now;
  if (forge) p.clientEp.handleDatagram(injectedAt, SERVER, forged, CLIENT);
  p.net.wake(p.clientEp);
  p.net.runUntil(() => p.client.receivedBytes >= FILE || client.stateName === 'CLOSED', injectedAt + 120_000);
  const closed = p.client.events.find((e) => e.type === 'closed');
  return { p, client, server, data, sent, injectedAt, error: closed?.type === 'closed' ? closed.error : undefined };
}

test('between baton ends DATA is authenticated: a forged DATA chunk (TSN+5) is dropped and counted, the stream completes intact', (t) => {
  const { p, client, data, sent, error } = attack({}, () => ({}));
  t.is(error, undefined);
  t.is(p.client.receivedBytes, FILE, 'the stream completed (it stalled for good before)');
  t.is(sha256(p.client.received), sha256(data), 'and intact');
  t.is(p.clientEp.dropped.get('not-authenticated'), 1, 'the forged chunk was dropped and counted');
  t.is(client.takeoverState!.refused.get('data-unauthenticated'), 1);
  t.true(sent.data > 1000 && sent.authenticated === sent.data, `every DATA chunk went after an AUTH chunk (${sent.authenticated}/${sent.data})`);
  t.is(client.takeoverState!.keySource, 'x25519', 'keyed by the x25519 agreement, which an on-path observer cannot compute');
});

test('authenticateData: false — DATA goes unauthenticated, the CHUNKS list names only ASCONF and ASCONF-ACK', (t) => {
  const { p, sent, client, data } = attack({ authenticateData: false }, undefined);
  t.is(sha256(p.client.received), sha256(data));
  t.true(sent.data > 1000 && sent.authenticated === 0);
  t.false(client.takeoverState!.context!.local.chunkTypes.includes(0));
  t.false(client.takeoverState!.context!.peer.chunkTypes.includes(0));
});

// A peer that does not authenticate DATA (no AUTH at all, or DATA not in CHUNKS): the forged chunk
// is taken, the real one with its TSN is then a duplicate, and the stream can never go on. The
// receiver sees it as soon as its cumulative TSN passes the forged TSN and a later message of the
// stream is complete: it aborts with a clear error within one round trip (here 20 ms).
for (const [peer, options] of [
  ['a peer without AUTH', { advertiseAuth: false }],
  ['a peer that does not authenticate DATA', { authenticateData: false }],
] as const) {
  for (const [what, forge] of [
    ['a whole message with an SSN ahead', () => ({})],
    ['the first fragment of a message with the expected SSN', (_cum: number, next: number) => ({ ending: false, ssn: ssnAdd(next, 4) })],
  ] as const) {
    test(`${peer}: a forged DATA chunk (TSN+5, ${what}) ends the association with BATON_ERR_PROTOCOL at once, not a silent stall`, (t) => {
      const { p, client, error, injectedAt } = attack(options, forge);
      t.is(client.stateName, 'CLOSED', `received ${p.client.receivedBytes} of ${FILE} and still ${client.stateName}`);
      t.is(error?.code, 'BATON_ERR_PROTOCOL');
      t.regex(error?.message ?? '', /DATA inconsistent: stream 0 waits for SSN/);
      t.true(p.net.now - injectedAt < 1000, `took ${p.net.now - injectedAt} ms`);
      p.net.run(p.net.now + 100);
      const serverClosed = p.server.events.find((e) => e.type === 'closed');
      t.is(serverClosed?.type === 'closed' ? serverClosed.error?.code : undefined, 'BATON_ERR_ABORTED', 'the sender is told (ABORT, protocol violation)');
    });
  }
}
