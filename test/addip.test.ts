import test from 'ava';
import { AsconfSender, isIllegalAsconfAck } from '../src/addip/sender.js';
import { AsconfReceiver, serialLess } from '../src/addip/receiver.js';
import { PeerAddressSet, addressParam, encodeAddressParam, isWildcard } from '../src/addip/addresses.js';
import { BATON_CAUSE_TAKEOVER_NUMBER_USED, acceptedNumberIn, isNotAuthenticatedFor, notAuthenticatedCause, takenOverBy, takenOverCause } from '../src/addip/causes.js';
import { asconfLookupAddress, lookupByAsconf, newPeerAddress } from '../src/addip/lookup.js';
import type { AsconfChunk, Packet } from '../src/sctp/wire/types.js';
import { LocalUsageError } from '../src/transport-abstraction/errors.js';

const A = { address: '10.0.0.2', port: 9899 };
const B = { address: '10.0.0.3', port: 9899 };
const C = { address: '10.0.0.4', port: 9899 };
const CLIENT = { address: '10.0.0.1', port: 9899 };

function takeoverAsconf(serial: number, from: string, old: string, n: number | undefined, corr = 1): AsconfChunk {
  const s = new AsconfSender(serial, { firstCorrelationId: corr });
  return s.send(0, 1000, CLIENT, old, [
    { kind: 'add-ip', ip: from },
    { kind: 'set-primary', ip: from },
    { kind: 'delete-ip', ip: old },
  ], n);
}

test('address helpers: params, wildcard, encoding', (t) => {
  t.deepEqual(addressParam('10.0.0.1'), { type: 5, kind: 'ipv4', address: '10.0.0.1' });
  t.is(addressParam('::1').kind, 'ipv6');
  t.true(isWildcard('0.0.0.0'));
  t.true(isWildcard('::'));
  t.true(isWildcard('0:0::0'));
  t.false(isWildcard('::1'));
  t.false(isWildcard('10.0.0.1'));
  t.is(Buffer.from(encodeAddressParam(addressParam('10.0.0.1'))).toString('hex'), '000500080a000001');
  t.is(Buffer.from(encodeAddressParam(addressParam('fe80::1'))).toString('hex'), '00060014fe800000000000000000000000000001');
});

test('PeerAddressSet keeps a primary and never drops the last address', (t) => {
  const s = new PeerAddressSet([A]);
  t.true(s.add(B));
  t.false(s.add({ address: B.address, port: 1 }));
  t.is(s.find(B.address)!.port, 9899);
  t.true(s.setPrimary(B.address));
  t.true(s.remove(A.address));
  t.deepEqual(s.primary, B);
  t.false(s.remove(B.address));
  t.true(s.contains(B));
  t.false(s.contains({ address: B.address, port: 1 }));
  t.throws(() => new PeerAddressSet([]));
});

test('serial rules: +1 processes and caches, equal resends cached ACK, others dropped', (t) => {
  const peers = new PeerAddressSet([A]);
  const rx = new AsconfReceiver(99);
  const tx = new AsconfSender(100);
  const c1 = tx.send(0, 1000, CLIENT, A.address, [{ kind: 'add-ip', ip: B.address }]);
  t.is(c1.serial, 100);
  const r1 = rx.handle(c1, A, peers, true);
  t.is(r1.kind, 'ack');
  if (r1.kind !== 'ack') return;
  t.false(r1.retransmission);
  t.deepEqual(r1.destination, A);
  t.deepEqual(r1.changes, [{ kind: 'added', address: { address: B.address, port: A.port } }]);
  t.deepEqual(r1.ack.params, [{ type: 0xc005, kind: 'success', correlationId: 1 }]);
  t.is(rx.peerSerial, 100);
  const again = rx.handle(c1, A, peers, true);
  t.true(again.kind === 'ack' && again.retransmission && again.ack === r1.ack);
  t.deepEqual(rx.handle({ ...c1, serial: 102 }, A, peers, true), { kind: 'drop', reason: 'future-serial' });
  t.deepEqual(rx.handle({ ...c1, serial: 98 }, A, peers, true), { kind: 'drop', reason: 'stale-serial' });
  t.deepEqual(rx.handle({ ...c1, serial: 101 }, A, peers, false), { kind: 'drop', reason: 'not-authenticated' });
  t.is(peers.size, 2);
});

test('serial numbers wrap (RFC 1982)', (t) => {
  t.true(serialLess(0xffffffff, 0));
  t.false(serialLess(0, 0xffffffff));
  const rx = new AsconfReceiver(0xffffffff);
  const tx = new AsconfSender(0);
  const r = rx.handle(tx.send(0, 1, CLIENT, A.address, [{ kind: 'set-primary', ip: A.address }]), A, new PeerAddressSet([A]), true);
  t.is(r.kind, 'ack');
  t.is(rx.peerSerial, 0);
});

test('delete refusals: source address (F8), last address (F7), unknown address; wildcard rules', (t) => {
  const peers = new PeerAddressSet([A, C]);
  const rx = new AsconfReceiver(0);
  const tx = new AsconfSender(1);
  const r = rx.handle(tx.send(0, 1, CLIENT, A.address, [
    { kind: 'delete-ip', ip: A.address }, // source
    { kind: 'delete-ip', ip: '10.9.9.9' }, // not in association
  ]), A, peers, true);
  if (r.kind !== 'ack') return t.fail();
  t.deepEqual(r.ack.params.map((p) => p.kind === 'error-cause' && p.causes[0]!.code), [0xa2, 5]);
  const tlv = r.ack.params[0]!.kind === 'error-cause' ? r.ack.params[0]!.causes[0]!.info : undefined;
  t.is(Buffer.from(tlv!).toString('hex'), 'c00200100000000' + '1' + '000500080a000002');
  // last remaining address, asked from another source
  tx.handleAck(r.ack);
  t.true(peers.remove(C.address));
  const r2 = rx.handle(tx.send(0, 1, CLIENT, A.address, [{ kind: 'delete-ip', ip: A.address }]), B, peers, true);
  t.true(r2.kind === 'ack' && r2.ack.params[0]!.kind === 'error-cause' && r2.ack.params[0]!.causes[0]!.code === 0xa0);
  // wildcard add from B adds B with B's UDP port; wildcard set-primary makes the source primary;
  // wildcard delete deletes everything but the source
  tx.handleAck(r2.kind === 'ack' ? r2.ack : (undefined as never));
  const Bport = { address: B.address, port: 40000 };
  const r3 = rx.handle(tx.send(0, 1, CLIENT, A.address, [
    { kind: 'add-ip', ip: '0.0.0.0' },
    { kind: 'set-primary', ip: '0.0.0.0' },
    { kind: 'delete-ip', ip: '0.0.0.0' },
  ]), Bport, peers, true);
  if (r3.kind !== 'ack') return t.fail();
  t.deepEqual(peers.list(), [Bport]);
  t.deepEqual(peers.primary, Bport);
  t.deepEqual(r3.changes.map((c) => c.kind), ['added', 'primary', 'deleted']);
  t.true(r3.ack.params.every((p) => p.kind === 'success'));
});

test('set-primary of an unknown address: Unresolvable Address', (t) => {
  const rx = new AsconfReceiver(0);
  const r = rx.handle(new AsconfSender(1).send(0, 1, CLIENT, A.address, [{ kind: 'set-primary', ip: C.address }]), A, new PeerAddressSet([A]), true);
  t.true(r.kind === 'ack' && r.ack.params[0]!.kind === 'error-cause' && r.ack.params[0]!.causes[0]!.code === 5);
});

test('takeover: first n wins, same-number competitor refused with a cause the loser recognises', (t) => {
  const peers = new PeerAddressSet([A]);
  const rx = new AsconfReceiver(999);
  // B and C hold the same exported state: same serial, same n
  const fromB = takeoverAsconf(1000, B.address, A.address, 1);
  const fromC = takeoverAsconf(1000, C.address, A.address, 1);
  const rb = rx.handle(fromB, B, peers, true);
  if (rb.kind !== 'ack') return t.fail();
  t.deepEqual(rb.takeover, { requestNumber: 1, accepted: true });
  t.deepEqual(peers.list(), [B]);
  t.deepEqual(peers.primary, B);
  t.is(rx.lastTakeover, 1);
  // B's retransmission gets the cached ACK
  const rb2 = rx.handle(fromB, B, peers, true);
  t.true(rb2.kind === 'ack' && rb2.retransmission && rb2.ack === rb.ack);
  // C: same serial, same number, different source → refused, nothing changes
  const rc = rx.handle(fromC, C, peers, true);
  if (rc.kind !== 'ack') return t.fail();
  t.deepEqual(rc.takeover, { requestNumber: 1, accepted: false, reason: 'number-used' });
  t.deepEqual(rc.destination, C);
  t.deepEqual(peers.list(), [B]);
  t.is(rc.ack.serial, 1000);
  // the loser's sender recognises the refusal
  const loser = new AsconfSender(1000);
  loser.send(0, 1000, CLIENT, A.address, [{ kind: 'add-ip', ip: C.address }, { kind: 'set-primary', ip: C.address }, { kind: 'delete-ip', ip: A.address }], 1);
  const lo = loser.handleAck(rc.ack);
  t.true(lo.kind === 'done' && lo.takeover?.accepted === false && lo.takeover.acceptedByPeer === 1);
  // the winner's sender sees acceptance
  const winner = new AsconfSender(1000);
  winner.send(0, 1000, CLIENT, A.address, [{ kind: 'add-ip', ip: B.address }, { kind: 'set-primary', ip: B.address }, { kind: 'delete-ip', ip: A.address }], 1);
  const wo = winner.handleAck(rb.ack);
  t.true(wo.kind === 'done' && wo.takeover?.accepted === true && wo.results.every((r) => r.ok));
  // a lower number is refused too, even with a fresh serial
  const old = rx.handle(takeoverAsconf(1001, C.address, B.address, 0), C, peers, true);
  t.true(old.kind === 'ack' && old.takeover?.accepted === false);
  // unauthenticated takeover: dropped, reported
  const forged = rx.handle(takeoverAsconf(1001, C.address, B.address, 7), C, peers, false);
  t.deepEqual(forged, { kind: 'drop', reason: 'not-authenticated', takeover: { requestNumber: 7, accepted: false, reason: 'not-authenticated' } });
  // cascaded: n+1 from D with the serial continuing from B's state
  const D = { address: '10.0.0.5', port: 9899 };
  const rd = rx.handle(takeoverAsconf(1001, D.address, B.address, 2), D, peers, true);
  t.true(rd.kind === 'ack' && rd.takeover?.accepted === true);
  t.deepEqual(peers.list(), [D]);
  // B's old ASCONF replayed now: refused (number used), nothing changes
  const replay = rx.handle(fromB, B, peers, true);
  t.true(replay.kind === 'ack' && replay.takeover?.accepted === false && !replay.retransmission);
  t.deepEqual(peers.list(), [D]);
  const causes = replay.kind === 'ack' && replay.ack.params[0]!.kind === 'error-cause' ? replay.ack.params[0]!.causes : [];
  t.deepEqual(causes.map((c) => c.code), [0xa4, BATON_CAUSE_TAKEOVER_NUMBER_USED]);
  t.is(acceptedNumberIn(causes), 2);
});

test('takeover number governs over the serial: a higher number with an old serial is accepted', (t) => {
  const peers = new PeerAddressSet([A]);
  const rx = new AsconfReceiver(1000); // some ASCONF 1000 already processed
  const r = rx.handle(takeoverAsconf(1000, B.address, A.address, 1), B, peers, true);
  t.true(r.kind === 'ack' && r.takeover?.accepted === true && !r.retransmission);
  t.is(rx.peerSerial, 1000);
});

test('sender: one outstanding, T-4 back-off, give-up, serial continues', (t) => {
  const tx = new AsconfSender(500, { maxRetransmissions: 2, rtoMax: 3000 });
  const c = tx.send(10, 1000, A, B.address, [{ kind: 'add-ip', ip: C.address }], 3);
  t.is(c.serial, 500);
  t.deepEqual(c.params[0], { type: 0xbaf2, kind: 'baton-takeover', requestNumber: 3 });
  t.deepEqual(c.address, addressParam(B.address));
  t.is(tx.deadline, 1010);
  t.throws(() => tx.send(10, 1000, A, B.address, []), { instanceOf: LocalUsageError });
  t.is(tx.handleTimeout(1009), undefined);
  const r1 = tx.handleTimeout(1010, C);
  t.deepEqual(r1, { kind: 'retransmit', chunk: c, destination: C });
  t.is(tx.deadline, 3010);
  t.is(tx.handleTimeout(3010)?.kind, 'retransmit');
  t.is(tx.deadline, 6010); // capped at rtoMax
  t.deepEqual(tx.handleTimeout(6010), { kind: 'give-up' });
  t.is(tx.deadline, undefined);
  const c2 = tx.send(7000, 1000, A, B.address, [{ kind: 'delete-ip', ip: A.address }]);
  t.is(c2.serial, 501);
  t.deepEqual(tx.handleAck({ type: 0x80, serial: 400, params: [] }), { kind: 'ignored', reason: 'serial-mismatch' });
  const done = tx.handleAck({ type: 0x80, serial: 501, params: [] });
  t.true(done.kind === 'done' && done.results[0]!.ok && done.takeover === undefined);
  t.deepEqual(tx.handleAck({ type: 0x80, serial: 501, params: [] }), { kind: 'ignored', reason: 'no-outstanding' });
});

test('sender: a resource shortage error makes later unanswered requests fail', (t) => {
  const tx = new AsconfSender(1);
  tx.send(0, 1, A, B.address, [{ kind: 'add-ip', ip: '10.1.1.1' }, { kind: 'add-ip', ip: '10.1.1.2' }, { kind: 'add-ip', ip: '10.1.1.3' }]);
  const r = tx.handleAck({ type: 0x80, serial: 1, params: [{ type: 0xc003, kind: 'error-cause', correlationId: 2, causes: [{ code: 0xa1, info: new Uint8Array(0) }] }] });
  t.true(r.kind === 'done');
  if (r.kind === 'done') t.deepEqual(r.results.map((x) => x.ok), [true, false, false]);
});

test('lookup by the ASCONF address parameter; new address takes the UDP source port', (t) => {
  const asconf = takeoverAsconf(1, B.address, A.address, 1);
  const pkt: Packet = { sourcePort: 5000, destinationPort: 5001, verificationTag: 0xabcdef01, chunks: [{ type: 15, sharedKeyId: 0, hmacId: 1, hmac: new Uint8Array(20) }, asconf] };
  t.is(asconfLookupAddress(pkt), A.address);
  const assocs = [
    { localVerificationTag: 0xabcdef01, localPort: 5001, peerPort: 5000, peerAddresses: [C] },
    { localVerificationTag: 0x12345678, localPort: 5001, peerPort: 5000, peerAddresses: [A] },
    { localVerificationTag: 0xabcdef01, localPort: 5001, peerPort: 5000, peerAddresses: [A] },
  ];
  t.is(lookupByAsconf(pkt, assocs, (a) => a), assocs[2]);
  t.is(lookupByAsconf({ ...pkt, chunks: [] }, assocs, (a) => a), undefined);
  t.is(lookupByAsconf({ ...pkt, sourcePort: 1 }, assocs, (a) => a), undefined);
  t.deepEqual(newPeerAddress(B.address, { address: B.address, port: 40001 }), { address: B.address, port: 40001 });
});

test('taken-over ABORT cause round trip', (t) => {
  t.is(takenOverBy([takenOverCause(5)]), 5);
  t.is(takenOverBy([{ code: 12, info: new Uint8Array(0) }]), undefined);
});

test('not-authenticated ERROR cause names the ASCONF serial', (t) => {
  const c = notAuthenticatedCause(0xfffffffe);
  t.is(c.code, 0xa4);
  t.true(isNotAuthenticatedFor(c, 0xfffffffe));
  t.false(isNotAuthenticatedFor(c, 7));
  t.false(isNotAuthenticatedFor({ code: 0xa4, info: new Uint8Array(0) }, 0));
});

test('takeover numbers are serial: 1 follows 2^32-1, a jump beyond the step is refused as too far', (t) => {
  const peers = new PeerAddressSet([A]);
  const rx = new AsconfReceiver(999, 0xffffffff - 1);
  const r1 = rx.handle(takeoverAsconf(1000, B.address, A.address, 0xffffffff), B, peers, true);
  t.true(r1.kind === 'ack' && r1.takeover?.accepted === true);
  const r2 = rx.handle(takeoverAsconf(1000, C.address, B.address, 1), C, peers, true);
  t.true(r2.kind === 'ack' && r2.takeover?.accepted === true, 'the number after 2^32-1 was refused');
  t.is(rx.lastTakeover, 1);
  // 0 is never a request, even though it is 1 ahead of 2^32-1 in serial order.
  const zero = new AsconfReceiver(999, 0xffffffff).handle(takeoverAsconf(1000, B.address, A.address, 0), B, new PeerAddressSet([A]), true);
  t.true(zero.kind === 'ack' && zero.takeover?.accepted === false);
  // A jump to the end of the space, which would block every later takeover, is refused.
  const far = rx.handle(takeoverAsconf(1001, B.address, C.address, 1 + 33), B, peers, true);
  t.true(far.kind === 'ack' && far.takeover?.accepted === false && far.takeover.reason === 'number-too-far');
  const end = rx.handle(takeoverAsconf(1001, B.address, C.address, 0xfffffff0), B, peers, true);
  t.true(end.kind === 'ack' && end.takeover?.accepted === false && end.takeover.reason === 'number-used', 'a number behind is "used"');
  t.deepEqual(peers.list(), [C]);
  t.is(rx.lastTakeover, 1);
  const near = rx.handle(takeoverAsconf(1001, B.address, C.address, 1 + 32), B, peers, true);
  t.true(near.kind === 'ack' && near.takeover?.accepted === true);
});

// RFC 5061 §5.2 / RFC 9260 §3.2.1: the upper two bits of an unrecognized ASCONF parameter's type.
function withUnknown(type: number, serial: number): AsconfChunk {
  const base = new AsconfSender(serial, { firstCorrelationId: 7 }).send(0, 1, CLIENT, A.address, [{ kind: 'add-ip', ip: B.address }]);
  const unknown = { type, kind: 'unknown' as const, value: Uint8Array.from([0, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef]) };
  return { ...base, params: [unknown, ...base.params] };
}

test('unknown ASCONF parameter 11xx: skipped, processing continues, reported as Unrecognized Parameter', (t) => {
  const peers = new PeerAddressSet([A]);
  const r = new AsconfReceiver(0).handle(withUnknown(0xc123, 1), A, peers, true);
  if (r.kind !== 'ack') return t.fail();
  const report = r.ack.params.find((p) => p.kind === 'error-cause');
  t.truthy(report, 'the unknown parameter is reported, not acknowledged as understood');
  if (report?.kind !== 'error-cause') return;
  t.is(report.correlationId, 5);
  t.is(report.causes[0]!.code, 8);
  t.is(Buffer.from(report.causes[0]!.info).toString('hex'), 'c123000c00000005deadbeef');
  t.true(peers.has(B.address), 'the Add IP after it was processed');
  t.true(r.ack.params.some((p) => p.kind === 'success' && p.correlationId === 7));
});

test('unknown ASCONF parameter 01xx: processing stops, and it is reported (not silently dropped)', (t) => {
  const peers = new PeerAddressSet([A]);
  const r = new AsconfReceiver(0).handle(withUnknown(0x4123, 1), A, peers, true);
  if (r.kind !== 'ack') return t.fail();
  t.deepEqual(r.ack.params.map((p) => (p.kind === 'error-cause' ? p.causes.map((c) => c.code) : p.kind)), [[8]]);
  t.false(peers.has(B.address), 'nothing after it is processed');
  // 00xx and 10xx: no report
  const quiet = new AsconfReceiver(0).handle(withUnknown(0x8123, 1), A, new PeerAddressSet([A]), true);
  t.true(quiet.kind === 'ack' && quiet.ack.params.every((p) => p.kind === 'success'));
});

test('Add IP Address of a broadcast or multicast address is refused with an error cause', (t) => {
  const peers = new PeerAddressSet([A]);
  const rx = new AsconfReceiver(0);
  const tx = new AsconfSender(1);
  const r = rx.handle(tx.send(0, 1, CLIENT, A.address, [
    { kind: 'add-ip', ip: '255.255.255.255' },
    { kind: 'add-ip', ip: '224.0.0.1' },
    { kind: 'add-ip', ip: 'ff02::1' },
    { kind: 'add-ip', ip: B.address },
  ]), A, peers, true);
  if (r.kind !== 'ack') return t.fail();
  t.deepEqual(r.ack.params.map((p) => (p.kind === 'error-cause' ? p.causes[0]!.code : p.kind)), [5, 5, 5, 'success']);
  t.deepEqual(peers.list().map((a) => a.address), [A.address, B.address]);
  t.deepEqual(r.changes.map((c) => c.kind === 'added' && c.address.address), [B.address]);
});

test('Delete IP Address of the last remaining address from that address: "Delete Last Remaining", not "Delete Source"', (t) => {
  const peers = new PeerAddressSet([A]);
  const r = new AsconfReceiver(0).handle(new AsconfSender(1).send(0, 1, CLIENT, A.address, [{ kind: 'delete-ip', ip: A.address }]), A, peers, true);
  if (r.kind !== 'ack') return t.fail();
  t.deepEqual(r.ack.params.map((p) => (p.kind === 'error-cause' ? p.causes[0]!.code : p.kind)), [0xa0]);
  t.deepEqual(peers.list(), [A]);
});

test('an ASCONF-ACK for a serial never sent (next or larger) with nothing outstanding is illegal (RFC 5061 §5.3)', (t) => {
  t.true(isIllegalAsconfAck(100, 100, false));
  t.true(isIllegalAsconfAck(105, 100, false));
  t.true(isIllegalAsconfAck(2, 0xffffffff, false));
  t.false(isIllegalAsconfAck(99, 100, false), 'a late duplicate of an old ACK is ignored');
  t.false(isIllegalAsconfAck(100, 100, true), 'matched against the outstanding ASCONF instead');
});
