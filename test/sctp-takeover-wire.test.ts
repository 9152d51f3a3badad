// Takeover on real SCTP packets (emitted, AUTH-signed, parsed, verified), without the association:
// the client-side TakeoverGuard and the taker-side TakeoverInitiator talking through bytes.
import test from 'ava';
import { AuthContext, authContextFromVectors, keyVector, type AuthParams } from '../src/sctp/auth.js';
import { endpointPairKey, generateKeyPair, type X25519KeyPair } from '../src/sctp/x25519.js';
import { TakeoverGuard, TakeoverInitiator, abortError } from '../src/sctp/takeover.js';
import { PeerAddressSet } from '../src/addip/addresses.js';
import { emitPacket, parsePacket, type Chunk, type Packet } from '../src/sctp/wire/index.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import type { SctpState } from '../src/transport-abstraction/state-types.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';

const CLIENT = { address: '10.0.0.1', port: 9899 };
const A = { address: '10.0.0.2', port: 9899 };
const B = { address: '10.0.0.3', port: 9899 };
const C = { address: '10.0.0.4', port: 9899 };
const D = { address: '10.0.0.5', port: 9899 };
const SPORT = 5000; // server SCTP port
const CPORT = 6000; // client SCTP port

interface World {
  clientAuth: AuthContext;
  serverState: SctpState;
  clientTag: number;
  serverTag: number;
  /** everything an eavesdropper saw in the handshake */
  wire: { clientParams: AuthParams; serverParams: AuthParams; clientPub: Uint8Array; serverPub: Uint8Array };
  keySource: string;
}

function handshake(seed: number, useX25519 = true): World {
  const rnd = new SeededRandom(seed);
  const clientParams: AuthParams = { random: rnd.bytes(32), chunkTypes: [0xc1, 0x80], hmacIds: [3, 1] };
  const serverParams: AuthParams = { random: rnd.bytes(32), chunkTypes: [0xc1, 0x80], hmacIds: [3, 1] };
  const clientTag = rnd.uint32() || 1;
  const serverTag = rnd.uint32() || 1;
  const ck: X25519KeyPair = generateKeyPair(rnd);
  const sk: X25519KeyPair = generateKeyPair(rnd);
  const salt = { initiatorTag: clientTag, responderTag: serverTag, initiatorRandom: clientParams.random, responderRandom: serverParams.random };
  const cEpk = endpointPairKey(ck, useX25519 ? sk.publicKey : undefined, salt);
  const sEpk = endpointPairKey(sk, useX25519 ? ck.publicKey : undefined, salt);
  const serverInitialTsn = 5000;
  const serverState: SctpState = {
    localVerificationTag: serverTag,
    peerVerificationTag: clientTag,
    localInitialTsn: serverInitialTsn,
    peerInitialTsn: 9000,
    tsnMap: [{ firstTsn: 5000, streamOffset: 0, bytesPerTsn: 100, tsnCount: 0, streamId: 0, firstSsn: 0 }],
    localKeyVector: keyVector(serverParams),
    peerKeyVector: keyVector(clientParams),
    endpointPairKey: sEpk.key,
    hmacId: 3,
    sharedKeyId: 0,
    x25519Agreed: sEpk.keySource === 'x25519',
    peerAddresses: [{ address: CLIENT.address, port: CPORT, udpPort: CLIENT.port }],
    localAddresses: [{ address: A.address, port: SPORT, udpPort: A.port }],
    nextAsconfSerial: serverInitialTsn,
    peerAsconfSerial: 8999,
    outboundStreams: 1,
    inboundStreams: 1,
    peerCumulativeTsn: 8999,
    peerReceiverWindow: 65536,
    inboundNextSsn: [0],
    pathMtu: 1280,
    peerStreamOffset: 0,
  };
  return {
    clientAuth: new AuthContext(clientParams, serverParams, cEpk.key),
    serverState,
    clientTag,
    serverTag,
    wire: { clientParams, serverParams, clientPub: ck.publicKey, serverPub: sk.publicKey },
    keySource: cEpk.keySource,
  };
}

/** The client: peers, guard, and a receive function that answers with bytes. */
class Client {
  readonly peers = new PeerAddressSet([A]);
  readonly guard: TakeoverGuard;
  readonly events: unknown[] = [];
  constructor(readonly w: World) {
    this.guard = new TakeoverGuard(w.serverState.localInitialTsn - 1);
  }
  receive(bytes: Uint8Array, from: UdpAddress): { to: UdpAddress; bytes: Uint8Array } | undefined {
    const p = parsePacket(bytes);
    if (!p.ok || p.packet.verificationTag !== this.w.clientTag) return undefined; // off-path: wrong tag
    const acc = this.w.clientAuth.acceptable(bytes);
    const idx = p.packet.chunks.findIndex((c) => c.type === 0xc1);
    if (idx < 0) {
      if (this.peers.contains(from)) return undefined; // normal traffic (not modelled here)
      const abort = this.guard.refuseStranger(p.packet.chunks.map((c) => c.type));
      if (!abort) return undefined;
      return { to: from, bytes: emitPacket({ sourcePort: CPORT, destinationPort: SPORT, verificationTag: p.packet.verificationTag, chunks: [abort] }) };
    }
    const asconf = p.packet.chunks[idx]!;
    if (asconf.type !== 0xc1 || 'kind' in asconf) return undefined;
    const r = this.guard.handleAsconf(asconf, from, acc.accept[idx]!, this.peers);
    this.events.push(...r.events);
    if (!r.ack) return undefined;
    const out = emitPacket({ sourcePort: CPORT, destinationPort: SPORT, verificationTag: this.w.serverTag, chunks: [this.w.clientAuth.authChunk(), r.ack.chunk] });
    this.w.clientAuth.signPacket(out);
    return { to: r.ack.destination, bytes: out };
  }
}

/** A taker: state imported on `self`, AUTH context from the state's vectors. */
class Taker {
  readonly init: TakeoverInitiator;
  readonly auth: AuthContext;
  constructor(state: SctpState, readonly self: UdpAddress, authOverride?: AuthContext) {
    this.init = new TakeoverInitiator({ state, streamBytesAcked: 0, newAddress: self, client: CLIENT });
    this.auth = authOverride ?? authContextFromVectors(state.localKeyVector, state.peerKeyVector, state.endpointPairKey, state.sharedKeyId)!;
  }
  packet(chunks: Chunk[], tag: number): Uint8Array {
    const bytes = emitPacket({ sourcePort: SPORT, destinationPort: CPORT, verificationTag: tag, chunks: [this.auth.authChunk(), ...chunks] });
    this.auth.signPacket(bytes);
    return bytes;
  }
  start(n: number, tag: number): Uint8Array {
    const out = this.init.start(0, n, 'gap-fill', 1000);
    if (out.kind !== 'send-asconf') throw new Error('expected an ASCONF');
    return this.packet([out.chunk], tag);
  }
  receive(bytes: Uint8Array) {
    const p = parsePacket(bytes);
    if (!p.ok) return undefined;
    const acc = this.auth.acceptable(bytes);
    const i = p.packet.chunks.findIndex((c) => c.type === 0x80);
    if (i < 0 || !acc.accept[i]) return undefined;
    return this.init.handleAsconfAck(0, p.packet.chunks[i] as Extract<Chunk, { type: 0x80 }>);
  }
}

test('Figure 3 on the wire: B wins, C (same n) is refused and knows it, A is aborted with TAKEN_OVER', (t) => {
  const w = handshake(1);
  t.is(w.keySource, 'x25519');
  const client = new Client(w);
  const b = new Taker(w.serverState, B);
  const c = new Taker(w.serverState, C);
  const toClientB = b.start(1, w.clientTag);
  const toClientC = c.start(1, w.clientTag);
  const ackB = client.receive(toClientB, B)!;
  t.deepEqual(ackB.to, B);
  t.deepEqual(client.peers.list(), [B]);
  const outB = b.receive(ackB.bytes);
  t.is(outB?.kind, 'send-probe');
  t.is(b.init.phase, 'probing');
  const ackC = client.receive(toClientC, C)!;
  t.deepEqual(ackC.to, C);
  const outC = c.receive(ackC.bytes);
  t.is(outC?.kind, 'failed');
  t.is(outC?.kind === 'failed' && outC.error.code, 'BATON_ERR_TAKEOVER_REJECTED');
  t.is(c.init.phase, 'rejected');
  t.deepEqual(client.peers.list(), [B]);
  t.deepEqual(client.events.map((e) => (e as { type: string }).type), ['taken-over', 'takeover-refused']);
  // A's late retransmission (a DATA chunk from A's address): out of the blue → ABORT with T bit
  const late = emitPacket({ sourcePort: SPORT, destinationPort: CPORT, verificationTag: w.clientTag, chunks: [{ type: 0, immediate: false, unordered: false, beginning: true, ending: true, tsn: 5003, streamId: 0, ssn: 3, ppid: 0, userData: new Uint8Array(100) }] });
  const abort = client.receive(late, A)!;
  t.deepEqual(abort.to, A);
  const parsed = parsePacket(abort.bytes);
  if (!parsed.ok) return t.fail();
  const ch = parsed.packet.chunks[0]!;
  t.is(parsed.packet.verificationTag, w.clientTag); // reflected: A's own peer tag, T bit set
  t.true(ch.type === 6 && !('kind' in ch) && ch.reflectedTag);
  if (ch.type === 6 && !('kind' in ch)) t.is(abortError(ch).code, 'BATON_ERR_TAKEN_OVER');
  // B's ASCONF retransmitted (ACK lost): same cached ACK, no new event
  const again = client.receive(toClientB, B)!;
  t.deepEqual(again.bytes, ackB.bytes);
  t.is(client.events.length, 2);
});

test('forged takeover with a wrong key is dropped and reported, nothing changes', (t) => {
  const w = handshake(2);
  const client = new Client(w);
  const other = handshake(3); // some other association's keys
  const forger = new Taker(w.serverState, C, new AuthContext(other.wire.serverParams, other.wire.clientParams, new Uint8Array(32).fill(7)));
  t.is(client.receive(forger.start(1, w.clientTag), C), undefined);
  t.deepEqual(client.peers.list(), [A]);
  t.deepEqual(client.events, [{ type: 'takeover-refused', requestNumber: 1, peer: C, reason: 'not-authenticated' }]);
  // the genuine taker still wins afterwards with the same number
  const b = new Taker(w.serverState, B);
  t.truthy(client.receive(b.start(1, w.clientTag), B));
  t.deepEqual(client.peers.list(), [B]);
});

test('eavesdropper with the whole handshake (key vectors, tags, public keys) cannot forge an ASCONF', (t) => {
  const w = handshake(4);
  const client = new Client(w);
  const seen = w.wire;
  const guesses = [
    new Uint8Array(0), // RFC 4895's default endpoint-pair key
    endpointPairKey(generateKeyPair(new SeededRandom(99)), seen.serverPub, { initiatorTag: w.clientTag, responderTag: w.serverTag, initiatorRandom: seen.clientParams.random, responderRandom: seen.serverParams.random }).key,
    endpointPairKey(generateKeyPair(new SeededRandom(98)), seen.clientPub, { initiatorTag: w.clientTag, responderTag: w.serverTag, initiatorRandom: seen.clientParams.random, responderRandom: seen.serverParams.random }).key,
    seen.clientPub,
    seen.serverPub,
  ];
  for (const [i, key] of guesses.entries()) {
    const eve = new Taker(w.serverState, { address: `10.0.0.${66 + i}`, port: 9899 }, new AuthContext(seen.serverParams, seen.clientParams, key));
    t.is(client.receive(eve.start(1 + i, w.clientTag), eve.self), undefined);
  }
  t.deepEqual(client.peers.list(), [A]);
  t.is(client.guard.lastTakeover, 0);
  t.true(client.events.every((e) => (e as { reason?: string }).reason === 'not-authenticated'));
});

test('without x25519 (standard peer) the key is RFC 4895 default: the eavesdropper could forge — why baton adds x25519', (t) => {
  const w = handshake(5, false);
  t.is(w.keySource, 'rfc4895-default');
  t.deepEqual(w.serverState.endpointPairKey, new Uint8Array(0));
  const client = new Client(w);
  const eve = new Taker(w.serverState, C, new AuthContext(w.wire.serverParams, w.wire.clientParams, new Uint8Array(0)));
  t.truthy(client.receive(eve.start(1, w.clientTag), C));
  t.deepEqual(client.peers.list(), [C]);
});

test('replayed takeover after a cascade is refused; cascaded takeover with n+1 wins', (t) => {
  const w = handshake(6);
  const client = new Client(w);
  const b = new Taker(w.serverState, B);
  const fromB = b.start(1, w.clientTag);
  b.receive(client.receive(fromB, B)!.bytes);
  // B dies; D takes over with B's exported state: serial continues, n = 2, old = B
  const stateFromB: SctpState = { ...w.serverState, localAddresses: [{ address: B.address, port: SPORT, udpPort: B.port }], nextAsconfSerial: b.init.sender.nextSerial };
  const d = new Taker(stateFromB, D);
  const dAck = client.receive(d.start(2, w.clientTag), D)!;
  t.is(d.receive(dAck.bytes)?.kind, 'send-probe');
  t.deepEqual(client.peers.list(), [D]);
  // an attacker replays B's recorded ASCONF bytes from B's address
  const r = client.receive(fromB, B)!;
  t.deepEqual(r.to, B);
  t.deepEqual(client.peers.list(), [D]);
  t.is(client.guard.lastTakeover, 2);
  t.deepEqual((client.events.at(-1) as { type: string; reason: string }).reason, 'number-used');
  // ... and from D's address (spoofed source): still refused
  client.receive(fromB, D);
  t.deepEqual(client.peers.list(), [D]);
});

test('off-path guesses: wrong verification tag or random HMAC bytes are refused', (t) => {
  const w = handshake(7);
  const client = new Client(w);
  const b = new Taker(w.serverState, C);
  t.is(client.receive(b.start(1, (w.clientTag + 1) >>> 0), C), undefined); // tag guess wrong: dropped silently
  t.is(client.events.length, 0);
  const c2 = new Taker(w.serverState, C);
  const bytes = c2.start(1, w.clientTag);
  const rnd = new SeededRandom(8);
  for (let i = 0; i < 50; i++) {
    const guess = bytes.slice();
    guess.set(rnd.bytes(32), 12 + 8); // the HMAC field
    t.is(client.receive(guess, C), undefined);
  }
  t.deepEqual(client.peers.list(), [A]);
});

test('taker side: T-4 retransmits the ASCONF with the same serial, then the probe until a SACK', (t) => {
  const w = handshake(9);
  const b = new TakeoverInitiator({ state: w.serverState, streamBytesAcked: 250, newAddress: B, client: CLIENT, maxRetransmissions: 2 });
  const first = b.start(0, 1, 'go-back-n', 100);
  t.is(first.kind === 'send-asconf' && first.chunk.serial, 5000);
  t.is(b.deadline, 100);
  const re = b.handleTimeout(100);
  t.true(re?.kind === 'send-asconf' && re.chunk === (first.kind === 'send-asconf' ? first.chunk : undefined));
  t.is(b.deadline, 300);
  const probe = b.handleAsconfAck(150, { type: 0x80, serial: 5000, params: [] });
  t.true(probe?.kind === 'send-probe' && probe.chunk.tsn === 5001); // 250 acked bytes: TSNs 5000, 5001 wholly acked
  t.is(b.deadline, 250); // the probe starts from the initial RTO
  t.is(b.handleTimeout(250)?.kind, 'send-probe');
  const done = b.handleSack({ cumulativeTsnAck: 5004, gapBlocks: [{ start: 2, end: 3 }] });
  t.true(done?.kind === 'complete');
  if (done?.kind !== 'complete') return;
  t.deepEqual(done.receiver, { nextOffset: 500, heldRanges: [{ start: 600, end: 800 }], cumulativeAck: 5004 });
  t.deepEqual(done.chunks.map((c) => [c.tsn, c.held]), [[5005, false], [5006, false], [5007, false]]); // go-back-n
  t.deepEqual(done.next, { tsn: 5008, ssn: 8, offset: 800, streamId: 0 });
  t.is(b.deadline, undefined);
  // give-up path
  const x = new TakeoverInitiator({ state: w.serverState, streamBytesAcked: 0, newAddress: B, client: CLIENT, maxRetransmissions: 1 });
  x.start(0, 1, 'gap-fill', 100);
  t.is(x.handleTimeout(100)?.kind, 'send-asconf');
  const gave = x.handleTimeout(300);
  t.true(gave?.kind === 'failed' && gave.error.code === 'BATON_ERR_TIMEOUT');
});
