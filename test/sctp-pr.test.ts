// PR-SCTP (RFC 3758, src/sctp/pr-sctp.ts) on the simulated network: the FORWARD-TSN codec, the
// Forward-TSN-Supported negotiation, FORWARD-TSN on an association that never announced it
// (an unknown chunk), a forged one (unauthenticated: dropped), the timed-reliability abandon
// policy (stale frames skipped, the receiver's cumulative TSN advances, ordered streams skip
// their SSNs), a peer without PR-SCTP (fully reliable), and the byte-stream cork, which message
// mode never applies.
import test from 'ava';
import { prActive } from '../src/sctp/pr-sctp.js';
import type { SctpOptions } from '../src/sctp/options.js';
import { emitPacket } from '../src/sctp/wire/emit.js';
import { parsePacket } from '../src/sctp/wire/parse.js';
import { CauseCode, ChunkType, type Chunk, type ForwardTsnChunk, type InitChunk } from '../src/sctp/wire/types.js';
import { CLIENT, connect, makePair } from './sctp-harness.js';

const FRAME = 160;
const PR: SctpOptions = { mode: 'message', partialReliability: { lifetimeMs: 100 }, rto: { min: 60, initial: 200 } };

test('FORWARD-TSN codec: round trip with stream entries; a length that is not 8 + 4n is refused', (t) => {
  const chunk: ForwardTsnChunk = { type: 0xc0, newCumulativeTsn: 0xfffffffe, streams: [{ streamId: 0, ssn: 65535 }, { streamId: 7, ssn: 3 }] };
  const bytes = emitPacket({ sourcePort: 1, destinationPort: 2, verificationTag: 3, chunks: [chunk] });
  const r = parsePacket(bytes);
  t.true(r.ok);
  if (!r.ok) return;
  t.deepEqual(r.packet.chunks[0], chunk);
  // Cut the last stream entry in half: chunk length 14 (not 8 + 4n).
  const bad = emitPacket({ sourcePort: 1, destinationPort: 2, verificationTag: 3, chunks: [chunk] });
  const o = 12;
  bad[o + 3] = 14;
  const broken = parsePacket(bad, { verifyChecksum: false });
  t.false(broken.ok);
  if (!broken.ok) t.is(broken.error.code, 'SCTP_WIRE_CHUNK_LENGTH');
  // The parameter in an INIT survives the round trip.
  const init: InitChunk = { type: 1, initiateTag: 9, advertisedReceiverWindow: 65536, outboundStreams: 4, inboundStreams: 4, initialTsn: 1, params: [{ type: 0xc000, kind: 'forward-tsn-supported' }] };
  const ri = parsePacket(emitPacket({ sourcePort: 1, destinationPort: 2, verificationTag: 0, chunks: [init] }));
  t.true(ri.ok && (ri.packet.chunks[0] as InitChunk).params.some((p) => p.kind === 'forward-tsn-supported'));
});

function established(p: ReturnType<typeof makePair>): boolean {
  return p.net.runUntil(() => p.client.assoc?.state === 'ESTABLISHED' && p.server.assoc?.state === 'ESTABLISHED', p.net.now + 2000);
}

test('negotiation: PR-SCTP is in use only when both INITs carry Forward-TSN-Supported', (t) => {
  const both = makePair({ seed: 3, link: { delayMs: 5 }, client: PR, server: PR });
  connect(both, PR);
  t.true(established(both));
  t.true(prActive(both.client.assoc!) && prActive(both.server.assoc!));
  t.true(both.server.assoc!.exportState(both.net.now).sctp!.peerForwardTsn === true, 'the export tells a taker');
  const one = makePair({ seed: 3, link: { delayMs: 5 }, client: PR, server: { mode: 'message' } });
  connect(one, PR);
  t.true(established(one));
  t.false(prActive(one.client.assoc!));
  t.false(prActive(one.server.assoc!));
  t.is(one.client.assoc!.exportState(one.net.now).sctp!.peerForwardTsn, undefined);
});

function forwardPacket(tag: number, newCumulativeTsn: number): Uint8Array {
  return emitPacket({ sourcePort: 9899, destinationPort: 9899, verificationTag: tag, chunks: [{ type: 0xc0, newCumulativeTsn, streams: [] }] });
}

function drainChunks(p: ReturnType<typeof makePair>): Chunk[] {
  const a = p.server.assoc!;
  const out: Chunk[] = [];
  for (let tx = a.pollTransmit(p.net.now); tx; tx = a.pollTransmit(p.net.now)) {
    const r = parsePacket(tx.payload);
    if (r.ok) out.push(...r.packet.chunks);
  }
  return out;
}

test('a FORWARD-TSN to an association that never announced PR-SCTP is an unknown chunk: reported, not obeyed', (t) => {
  const p = makePair({ seed: 4, link: { delayMs: 5 }, client: { mode: 'message' }, server: { mode: 'message' } });
  connect(p, { mode: 'message' });
  t.true(established(p));
  const a = p.server.assoc!;
  const cum = a.receiver!.tracker.cumulativeTsn;
  a.handleDatagram(p.net.now, CLIENT, forwardPacket(a.localTag, cum + 50));
  t.is(a.receiver!.tracker.cumulativeTsn, cum, 'the cumulative TSN did not move');
  const error = drainChunks(p).find((c) => c.type === ChunkType.ERROR) as Extract<Chunk, { type: 6 | 9 }> | undefined;
  t.truthy(error, 'an ERROR went back');
  t.is(error?.causes[0]?.code, CauseCode.UNRECOGNIZED_CHUNK_TYPE);
  t.is(error?.causes[0]?.info[0], 0xc0, 'naming the FORWARD-TSN chunk');
});

test('a forged FORWARD-TSN (no AUTH; PR-SCTP lists it in CHUNKS) is dropped', (t) => {
  const p = makePair({ seed: 5, link: { delayMs: 5 }, client: PR, server: PR });
  connect(p, PR);
  t.true(established(p));
  const a = p.server.assoc!;
  const cum = a.receiver!.tracker.cumulativeTsn;
  a.handleDatagram(p.net.now, CLIENT, forwardPacket(a.localTag, cum + 50));
  t.is(a.receiver!.tracker.cumulativeTsn, cum);
  t.is(a.pr.forwardAccepted, 0);
});

interface Call {
  sentAt: Map<number, number>;
  delivered: Array<{ seq: number; at: number; stream: number }>;
}

/** Frames of 160 bytes every 20 ms from client to server for `ms`, the link cut in [cutFrom, cutTo). */
function call(p: ReturnType<typeof makePair>, ms: number, cutFrom: number, cutTo: number, stream: number, unordered: boolean): Call {
  const c: Call = { sentAt: new Map(), delivered: [] };
  let seen = 0;
  p.server.onData = (now) => {
    for (; seen < p.server.received.length; seen++) {
      const m = p.server.received[seen]!;
      c.delivered.push({ seq: new DataView(m.buffer, m.byteOffset).getUint32(0), at: now, stream });
    }
  };
  const start = p.net.now;
  for (let i = 0; i * 20 < ms; i++) {
    p.net.schedule(start + i * 20, () => {
      const frame = new Uint8Array(FRAME);
      new DataView(frame.buffer).setUint32(0, i);
      c.sentAt.set(i, p.net.now);
      p.client.assoc!.send(frame, { stream, unordered } as { stream: number });
      p.net.wake(p.clientEp);
    });
  }
  p.net.schedule(start + cutFrom, () => p.net.partition(['client'], ['server']));
  p.net.schedule(start + cutTo, () => p.net.heal());
  p.net.run(start + ms + 1500);
  return c;
}

for (const unordered of [true, false]) {
  test(`abandon policy (${unordered ? 'unordered' : 'ordered, stream 1'}): stale frames are skipped by FORWARD-TSN, the receiver advances, the call goes on`, (t) => {
    const p = makePair({ seed: 6, link: { delayMs: 5 }, client: PR, server: PR });
    connect(p, PR);
    t.true(established(p));
    const c = call(p, 2000, 600, 1000, unordered ? 0 : 1, unordered);
    const client = p.client.assoc!;
    const server = p.server.assoc!;
    const seqs = c.delivered.map((d) => d.seq);
    t.is(new Set(seqs).size, seqs.length, 'no frame delivered twice');
    t.true(client.pr.abandonedMessages > 0, 'frames sent into the cut were abandoned');
    t.true(server.pr.forwardAccepted > 0, 'the server accepted a FORWARD-TSN');
    t.true(seqs.length < c.sentAt.size, 'the abandoned frames never arrived');
    for (let i = 55; i < 100; i++) t.true(seqs.includes(i), `frame ${i} (after the cut) arrived`);
    const worst = Math.max(...c.delivered.map((d) => d.at - c.sentAt.get(d.seq)!));
    t.true(worst <= 100 + 5 + 1, `a frame arrived ${worst} ms after it was sent, beyond the 100 ms lifetime + one-way delay`);
    t.is(server.receiver!.tracker.cumulativeTsn, client.sender.cumulativeAck, 'the receiver advanced to everything the sender sent or abandoned');
    t.is(client.bufferedAmount, 0);
  });
}

test('a peer without PR-SCTP gets every frame (no abandon, no FORWARD-TSN), whatever the lifetime', (t) => {
  const p = makePair({ seed: 6, link: { delayMs: 5 }, client: PR, server: { mode: 'message', rto: PR.rto } });
  connect(p, PR);
  t.true(established(p));
  const c = call(p, 2000, 600, 1000, 0, true);
  const seqs = [...new Set(c.delivered.map((d) => d.seq))].sort((x, y) => x - y);
  t.is(c.delivered.length, c.sentAt.size, 'every frame once');
  t.deepEqual(seqs, [...c.sentAt.keys()]);
  t.is(p.client.assoc!.pr.abandonedMessages, 0);
  t.is(p.client.assoc!.pr.forwardSent, 0);
});

test('the byte-stream cork (200 ms on exported connections) does not apply to message mode', (t) => {
  const delays: Record<string, number> = {};
  for (const mode of ['message', 'stream'] as const) {
    const p = makePair({ seed: 8, link: { delayMs: 5 }, client: { mode }, server: { mode } });
    connect(p, { mode });
    t.true(established(p));
    p.server.assoc!.exportState(p.net.now); // takes part in failover from now on
    const before = p.client.receivedBytes;
    const sent = p.net.now;
    p.server.assoc!.send(new Uint8Array(FRAME));
    p.net.wake(p.serverEp);
    t.true(p.net.runUntil(() => p.client.receivedBytes >= before + FRAME, sent + 2000));
    delays[mode] = p.net.now - sent;
  }
  t.true(delays.message! <= 6, `message mode: ${delays.message} ms for one 160-byte frame`);
  t.true(delays.stream! >= 200, `byte-stream mode corks a short tail (${delays.stream} ms)`);
});
