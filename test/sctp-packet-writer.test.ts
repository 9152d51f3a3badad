// PacketWriter: packets are written in place into slabs and handed out as views, so a finished
// packet must never change afterwards (the driver owns it), whatever is written next: more
// packets, an abandoned packet, a control packet that outgrows the slab, AUTH-signed packets.
import test from 'ava';
import { PacketWriter, type AuthSigner } from '../src/sctp/packet-writer.js';
import type { OutChunk } from '../src/sctp/send-queue.js';
import { chunkLength } from '../src/sctp/wire/emit.js';
import { parsePacket, verifyChecksum, type DataChunk, type HeartbeatChunk } from '../src/sctp/wire/index.js';

function outChunk(tsn: number, length: number): OutChunk {
  return {
    tsn,
    streamId: 0,
    ssn: tsn & 0xffff,
    flags: 3,
    data: Uint8Array.from({ length }, (_, i) => (tsn * 7 + i) & 0xff),
    path: 0,
    sentAt: 0,
    transmissions: 0,
    gapAcked: false,
    inFlight: false,
    needsRetransmit: false,
    missReports: 0,
    fastRetransmitted: false,
  };
}

function dataPacket(w: PacketWriter, tsn: number, length: number): Uint8Array {
  w.begin(5000, 5001, 0xabcdef01, 1472);
  w.addData(outChunk(tsn, length), 42);
  return w.finish();
}

function checkDataPacket(t: import('ava').ExecutionContext, p: Uint8Array, tsn: number, length: number): void {
  const r = parsePacket(p);
  if (!r.ok) return t.fail(`packet ${tsn}: ${r.error.message}`);
  const c = r.packet.chunks[0] as DataChunk;
  t.is(c.tsn, tsn);
  t.deepEqual(c.userData, outChunk(tsn, length).data);
}

test('finished packets stay intact while later packets fill and replace slabs', (t) => {
  const w = new PacketWriter(1500);
  const sent: Array<{ p: Uint8Array; tsn: number; length: number }> = [];
  // ~200 packets of varying length: several 64 kB slabs, odd lengths (alignment of the next region).
  for (let tsn = 1; tsn <= 200; tsn++) {
    const length = 1 + ((tsn * 389) % 1436);
    sent.push({ p: dataPacket(w, tsn, length), tsn, length });
  }
  for (const s of sent) checkDataPacket(t, s.p, s.tsn, s.length);
  t.true(new Set(sent.map((s) => s.p.buffer)).size > 1, 'more than one slab was used');
  for (const s of sent) t.is(s.p.byteOffset % 8, 0, 'regions start 8-byte aligned');
});

test('a packet begun and not finished does not touch the packet before it', (t) => {
  const w = new PacketWriter(1500);
  const first = dataPacket(w, 7, 1000);
  const copy = first.slice();
  w.begin(5000, 5001, 0x11111111, 1472);
  w.addData(outChunk(8, 1400), 0); // abandoned: never finished
  const third = dataPacket(w, 9, 500);
  t.deepEqual(first, copy);
  checkDataPacket(t, third, 9, 500);
});

test('a control packet larger than the room left in the slab moves to a new slab intact', (t) => {
  const w = new PacketWriter(1500);
  const before: Uint8Array[] = [];
  // 30 packets of 1428 bytes: ~43 kB of the first slab used, ~22 kB left — room to begin a packet
  // there (16 kB is asked for), not enough for the 30 kB chunk, which makes the writer grow.
  for (let tsn = 1; tsn <= 30; tsn++) before.push(dataPacket(w, tsn, 1400));
  const copies = before.map((p) => p.slice());
  const info = Uint8Array.from({ length: 30000 }, (_, i) => (i * 13) & 0xff);
  const hb: HeartbeatChunk = { type: 4, info };
  w.begin(5000, 5001, 0x22222222, 1 << 16);
  t.true(w.addChunk({ type: 4, info: info.subarray(0, 8) }));
  t.true(w.addChunk(hb, true));
  const big = w.finish();
  t.not(big.buffer, before[29]!.buffer, 'the packet moved to a new slab');
  t.true(verifyChecksum(big));
  const r = parsePacket(big);
  if (!r.ok) return t.fail(r.error.message);
  t.is(r.packet.verificationTag, 0x22222222);
  t.deepEqual((r.packet.chunks[1] as HeartbeatChunk).info, info);
  before.forEach((p, i) => t.deepEqual(p, copies[i]));
  checkDataPacket(t, dataPacket(w, 99, 1200), 99, 1200);
});

test('AUTH: sign() gets the packet itself and the AUTH offset within it', (t) => {
  const w = new PacketWriter(1500);
  const signed: Array<{ length: number; offset: number }> = [];
  const auth: AuthSigner = {
    needsAuth: (type) => type === 0,
    authChunkLength: 8,
    writeAuthChunk(packet, offset) {
      packet.set([0x0f, 0, 0, 8, 0, 1, 0, 3], offset);
    },
    sign(packet, offset) {
      signed.push({ length: packet.length, offset });
      packet[offset + 4] = 0x77; // stands in for the HMAC
    },
  };
  w.auth = auth;
  dataPacket(w, 1, 333); // moves the next packet away from the slab start
  w.begin(5000, 5001, 0x33333333, 1472);
  const hb: HeartbeatChunk = { type: 4, info: new Uint8Array(8) };
  w.addChunk(hb);
  w.addData(outChunk(2, 100), 0);
  const p = w.finish();
  const authAt = 12 + chunkLength(hb);
  t.deepEqual(signed[1], { length: p.length, offset: authAt });
  t.is(p[authAt + 4], 0x77);
  t.true(verifyChecksum(p), 'the checksum covers the signed bytes');
});

// Issue 12 ("Connections per process"): a 64 KiB slab per writer made an idle association cost
// ~130 KiB (with the send queue's). The slab is one for the process now.
test('writers share one slab: an idle writer holds none of its own, packets stay intact', (t) => {
  const a = new PacketWriter(1500);
  const b = new PacketWriter(1500);
  const pa = dataPacket(a, 1, 900);
  const pb = dataPacket(b, 2, 700);
  t.is(pa.buffer, pb.buffer, 'two writers cut their packets from the same ArrayBuffer');
  const pa2 = dataPacket(a, 3, 1000);
  checkDataPacket(t, pa, 1, 900);
  checkDataPacket(t, pb, 2, 700);
  checkDataPacket(t, pa2, 3, 1000);
});

test('a packet built inside another writer\'s packet is refused, not silently overlapped', (t) => {
  const a = new PacketWriter(1500);
  const b = new PacketWriter(1500);
  a.begin(5000, 5001, 1, 1472);
  a.addData(outChunk(1, 100), 42);
  const inner = dataPacket(b, 2, 100); // b takes the region a is writing
  checkDataPacket(t, inner, 2, 100);
  t.throws(() => a.finish(), { code: 'BATON_ERR_USAGE' });
});
