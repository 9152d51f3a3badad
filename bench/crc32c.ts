// CRC32c per SCTP packet: the native @node-rs/crc32 path against the table-driven JavaScript one
// (src/sctp/wire/crc32c.ts), in one process, interleaved rounds, min / median / max ns per packet.
//
//   npx tsx bench/crc32c.ts [--size 1452] [--rounds 7] [--packets 200000]
import '../src/node/native-crc32c.js';
import { checksumImplementation, computeChecksum, computeChecksumJs } from '../src/sctp/wire/crc32c.js';
import { parseFlags } from './child.js';
import { spread } from './throughput.js';

const flags = parseFlags(process.argv.slice(2));
const size = Number(flags.get('size') ?? 1452);
const rounds = Number(flags.get('rounds') ?? 7);
const packets = Number(flags.get('packets') ?? 200_000);
const packet = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
if (computeChecksum(packet) !== computeChecksumJs(packet)) throw new Error('native and JavaScript CRC32c disagree');

const time = (f: (p: Uint8Array) => number): number => {
  let x = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < packets; i++) x ^= f(packet);
  const ns = Number(process.hrtime.bigint() - start) / packets;
  if (x === 0.5) process.stdout.write(''); // keep x alive
  return ns;
};
const native: number[] = [];
const js: number[] = [];
const ratio: number[] = [];
for (let r = 0; r < rounds; r++) {
  const a = r % 2 === 0 ? time(computeChecksum) : NaN;
  const b = time(computeChecksumJs);
  const c = r % 2 === 0 ? a : time(computeChecksum);
  native.push(c);
  js.push(b);
  ratio.push(b / c);
}
const f = (s: { min: number; median: number; max: number }, d = 0): string => `${s.min.toFixed(d)} / ${s.median.toFixed(d)} / ${s.max.toFixed(d)}`;
process.stdout.write(
  `CRC32c of a ${size}-byte packet, ${rounds} interleaved rounds of ${packets} (computeChecksum uses: ${checksumImplementation()})\n` +
    `  native @node-rs/crc32   ${f(spread(native))} ns\n  table-driven JS         ${f(spread(js))} ns\n  JS ÷ native             ${f(spread(ratio), 2)}×\n`,
);
