// Micro benchmark of the SCTP wire layer: CRC32c throughput and parse+emit of 1400-byte DATA
// packets. Run: npx tsx bench/sctp-wire.ts
import { crc32c, emitPacket, finalizeChecksum, parsePacket, writePacket, type Packet } from '../src/sctp/wire/index.js';

function rate(label: string, bytesPerOp: number, op: () => void, ms = 1500): void {
  for (let i = 0; i < 2000; i++) op(); // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 500; i++) op();
    n += 500;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  const mbs = (n * bytesPerOp) / (elapsed / 1000) / 1e6;
  console.log(`${label.padEnd(44)} ${mbs.toFixed(0).padStart(6)} MB/s  ${((n / elapsed) * 1000).toFixed(0).padStart(9)} ops/s`);
}

const big = new Uint8Array(64 * 1024).map((_, i) => (i * 7) & 0xff);
const mtu = big.subarray(0, 1400);
rate('crc32c 64 KiB', big.length, () => crc32c(big));
rate('crc32c 1400 B', mtu.length, () => crc32c(mtu));

const userData = new Uint8Array(1400 - 12 - 16).fill(0x61);
const packet: Packet = {
  sourcePort: 9899,
  destinationPort: 9899,
  verificationTag: 0x12345678,
  chunks: [{ type: 0, immediate: false, unordered: false, beginning: true, ending: true, tsn: 1, streamId: 0, ssn: 0, ppid: 0, userData }],
};
const wire = emitPacket(packet);
console.log(`DATA packet: ${wire.length} bytes`);
rate('emitPacket 1400 B DATA (incl. CRC)', wire.length, () => emitPacket(packet));
const scratch = new Uint8Array(1500);
rate('writePacket into a scratch buffer + CRC', wire.length, () => {
  const n = writePacket(scratch, packet);
  finalizeChecksum(scratch.subarray(0, n));
});
rate('parsePacket 1400 B DATA (incl. CRC)', wire.length, () => parsePacket(wire));
rate('parsePacket 1400 B DATA (no CRC)', wire.length, () => parsePacket(wire, { verifyChecksum: false }));
rate('parse + emit 1400 B DATA (both CRCs)', wire.length, () => {
  const r = parsePacket(wire);
  if (r.ok) emitPacket(r.packet);
});
const sack: Packet = {
  sourcePort: 9899,
  destinationPort: 9899,
  verificationTag: 1,
  chunks: [{ type: 3, cumulativeTsnAck: 100, advertisedReceiverWindow: 1 << 20, gapBlocks: [{ start: 2, end: 5 }], duplicateTsns: [] }],
};
const sackWire = emitPacket(sack);
rate('parse + writePacket(scratch) 1400 B DATA (both CRCs)', wire.length, () => {
  const r = parsePacket(wire);
  if (r.ok) finalizeChecksum(scratch.subarray(0, writePacket(scratch, r.packet)));
});
rate('parse + emit SACK (1 gap)', sackWire.length, () => {
  const r = parsePacket(sackWire);
  if (r.ok) emitPacket(r.packet);
});
