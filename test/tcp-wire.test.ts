// TCP-Migrate codecs: options from fixed bytes, the segment header, the checksum, and a fuzz run.
import test from 'ava';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import {
  emitOptions,
  optionsLength,
  parseOptions,
  type TcpOption,
} from '../src/tcp-migrate/options.js';
import { ACK, checksumValid, fillChecksum, ipBytes, parseSegment, pseudoHeaderSum, SYN, writeHeader } from '../src/tcp-migrate/wire.js';
import { authenticator, deriveConnectionKey, deriveToken, generateKeyPair } from '../src/tcp-migrate/migrate-crypto.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function encode(options: TcpOption[]): Uint8Array {
  const out = new Uint8Array(optionsLength(options));
  emitOptions(options, out, 0);
  return out;
}

test('standard options from fixed bytes', (t) => {
  const bytes = hex('020405b4 0402 0101 0503 0a 00000001 00000002 080a 00000010 00000020 0000');
  // MSS 1460, SACK-Permitted, NOP NOP, a malformed SACK (length 3) kept as unknown, ... adjust below
  const r = parseOptions(hex('020405b4 0402 01 01 050a 00000064 000000c8 080a 00000010 00000020'));
  t.true(r.ok);
  if (!r.ok) return;
  t.deepEqual(r.options[0], { type: 'mss', mss: 1460 });
  t.deepEqual(r.options[1], { type: 'sack-permitted' });
  t.deepEqual(r.options[2], { type: 'sack', blocks: [{ left: 100, right: 200 }] });
  t.deepEqual(r.options[3], { type: 'timestamp', value: 16, echo: 32 });
  // A SACK option of impossible block length is kept as an unknown option, not thrown.
  const bad = parseOptions(bytes);
  t.true(bad.ok);
  if (bad.ok) t.deepEqual(bad.options[2], { type: 'unknown', kind: 5, data: hex('0a') });
});

test('Migrate-Permitted layout: kind 253, length 34, the x25519 key', (t) => {
  const key = new Uint8Array(32).map((_, i) => i);
  const bytes = encode([{ type: 'mss', mss: 1400 }, { type: 'sack-permitted' }, { type: 'migrate-permitted', curve: 'x25519', publicKey: key }]);
  t.is(bytes.length, 40, 'MSS + SACK-Permitted + Migrate-Permitted fill the 40 bytes exactly');
  t.is(toHex(bytes.subarray(0, 8)), '02040578' + '0402' + 'fd22');
  t.deepEqual(bytes.subarray(8), key);
  const r = parseOptions(bytes);
  t.true(r.ok);
  if (r.ok) t.deepEqual(r.options[2], { type: 'migrate-permitted', curve: 'x25519', publicKey: key });
});

test('Migrate layout: kind 254, length 24, P|ReqNo, flags, token, 96-bit R', (t) => {
  const token = hex('0102030405060708');
  const auth = hex('a0a1a2a3a4a5a6a7a8a9aaab');
  const opt: TcpOption = { type: 'migrate', preload: true, requestNumber: 5, keepOutOfOrder: true, flags: 1, token, authenticator: auth };
  const bytes = encode([opt]);
  t.is(toHex(bytes), 'fe18' + '85' + '01' + '0102030405060708' + 'a0a1a2a3a4a5a6a7a8a9aaab');
  const r = parseOptions(bytes);
  t.true(r.ok);
  if (r.ok) t.deepEqual(r.options[0], opt);
  const reset = encode([{ type: 'migrate-reset', reason: 2 }]);
  t.is(toHex(reset), 'fe0302' + '00');
  const rr = parseOptions(reset);
  t.true(rr.ok);
  if (rr.ok) t.deepEqual(rr.options, [{ type: 'migrate-reset', reason: 2 }]);
});

test('framing errors fail the option list; unknown kinds are kept', (t) => {
  t.false(parseOptions(hex('02')).ok, 'kind without length');
  t.false(parseOptions(hex('0201')).ok, 'length below 2');
  t.false(parseOptions(hex('020805b4')).ok, 'length past the end');
  const r = parseOptions(hex('1e04abcd 00 ffff'));
  t.true(r.ok);
  if (r.ok) t.deepEqual(r.options, [{ type: 'unknown', kind: 30, data: hex('abcd') }], 'EOL ends the list');
  // Unknown options survive a round trip.
  const again = parseOptions(encode(r.ok ? r.options : []));
  t.true(again.ok && again.options.length === 1 && again.options[0]!.type === 'unknown');
});

test('segment header: emit, parse, checksum over the IPv4 pseudo-header', (t) => {
  const opts: TcpOption[] = [{ type: 'mss', mss: 1400 }];
  const payload = hex('68656c6c6f');
  const buf = new Uint8Array(20 + 4 + payload.length);
  writeHeader(buf, 9898, 80, 0x01020304, 0xa0b0c0d0, 4, SYN | ACK, 65535);
  emitOptions(opts, buf, 20);
  buf.set(payload, 24);
  const pseudo = pseudoHeaderSum('127.0.0.1', '127.0.0.2');
  fillChecksum(buf, pseudo);
  t.is(toHex(buf.subarray(0, 16)), '26aa0050' + '01020304' + 'a0b0c0d0' + '6012ffff');
  t.true(checksumValid(buf, pseudo));
  t.false(checksumValid(buf, pseudoHeaderSum('127.0.0.1', '127.0.0.3')), 'other addresses, other checksum');
  const r = parseSegment(buf);
  t.true(r.ok);
  if (!r.ok) return;
  t.like(r.segment, { srcPort: 9898, dstPort: 80, seq: 0x01020304, ack: 0xa0b0c0d0, flags: SYN | ACK, window: 65535 });
  t.deepEqual(r.segment.options, opts);
  t.deepEqual(r.segment.payload, payload);
  buf[25] ^= 1;
  t.false(checksumValid(buf, pseudo), 'a flipped bit is caught');
});

test('checksum matches the RFC 1071 one-complement sum computed independently', (t) => {
  // 10.0.0.1 -> 10.0.0.2, a 20-byte header with zero checksum: computed by hand.
  const buf = new Uint8Array(20);
  writeHeader(buf, 1, 2, 0, 0, 0, ACK, 0);
  fillChecksum(buf, pseudoHeaderSum('10.0.0.1', '10.0.0.2'));
  // Sum: 0a00+0001+0a00+0002+0006+0014 (pseudo) + 0001+0002+5010 (header) = 0x6430 → ~ = 0x9bcf
  t.is((buf[16]! << 8) | buf[17]!, 0x9bcf);
});

test('ipBytes parses IPv4 and IPv6 text, rejects the rest', (t) => {
  t.deepEqual(ipBytes('127.0.0.2'), new Uint8Array([127, 0, 0, 2]));
  t.deepEqual(ipBytes('::1'), new Uint8Array([...new Array(15).fill(0), 1]));
  t.deepEqual(ipBytes('fe80::1:2')!.subarray(0, 2), new Uint8Array([0xfe, 0x80]));
  t.is(ipBytes('300.1.1.1'), undefined);
  t.is(ipBytes('1::2::3'), undefined);
  t.is(ipBytes('hello'), undefined);
});

test('malformed segments are refused, never thrown', (t) => {
  t.false(parseSegment(new Uint8Array(19)).ok);
  const b = new Uint8Array(20);
  b[12] = 4 << 4; // data offset 16 < 20
  t.false(parseSegment(b).ok);
  b[12] = 15 << 4; // 60 > length
  t.false(parseSegment(b).ok);
});

test('fuzz: parse never throws, and what parses re-emits to the same option bytes', (t) => {
  const rnd = new SeededRandom(99);
  let parsed = 0;
  for (let i = 0; i < 20_000; i++) {
    const len = rnd.uint32() % 64;
    const bytes = rnd.bytes(len);
    // Bias towards plausible option lists.
    if (len > 1 && rnd.float() < 0.5) bytes[1] = Math.min(len, 2 + (rnd.uint32() % 12));
    if (len > 0 && rnd.float() < 0.3) bytes[0] = [2, 4, 5, 8, 253, 254][rnd.uint32() % 6]!;
    const seg = new Uint8Array(20 + len);
    seg.set(bytes, 20);
    seg[12] = (Math.min(60, 20 + len) >>> 2) << 4;
    t.notThrows(() => parseSegment(seg));
    const r = parseOptions(bytes);
    if (!r.ok || r.options.length === 0) continue;
    parsed++;
    const again = parseOptions(encode(r.options));
    if (!again.ok) t.fail('re-emitted options do not parse');
    else t.deepEqual(again.options, r.options);
  }
  t.true(parsed > 1000);
});

test('key agreement: both ends derive the same K and T; R depends on every input', (t) => {
  const rnd = new SeededRandom(5);
  const i = generateKeyPair(rnd);
  const a = generateKeyPair(rnd);
  const ki = deriveConnectionKey(i, a.publicKey, true)!;
  const ka = deriveConnectionKey(a, i.publicKey, false)!;
  t.deepEqual(ki, ka);
  t.is(ki.length, 32);
  t.deepEqual(deriveToken(ki, 1, 2), deriveToken(ka, 1, 2));
  t.notDeepEqual(deriveToken(ki, 1, 2), deriveToken(ki, 1, 3));
  const at = { taker: { address: '10.0.0.3', port: 9898 }, takerPort: 9898, clientPort: 50000 };
  const r = authenticator(ki, 1, 2, 100, 0x81, 0, at);
  t.is(r.length, 12);
  t.notDeepEqual(r, authenticator(ki, 1, 2, 101, 0x81, 0, at));
  t.notDeepEqual(r, authenticator(ki, 1, 2, 100, 0x82, 0, at));
  t.notDeepEqual(r, authenticator(ki, 1, 2, 100, 0x81, 1, at));
  // R binds the taker's address and ports (issue 14 item 5): a relay from elsewhere fails it.
  t.notDeepEqual(r, authenticator(ki, 1, 2, 100, 0x81, 0, { ...at, taker: { address: '10.0.0.9', port: 9898 } }));
  t.notDeepEqual(r, authenticator(ki, 1, 2, 100, 0x81, 0, { ...at, taker: { address: '10.0.0.3', port: 9899 } }));
  t.notDeepEqual(r, authenticator(ki, 1, 2, 100, 0x81, 0, { ...at, takerPort: 9899 }));
  t.notDeepEqual(r, authenticator(ki, 1, 2, 100, 0x81, 0, { ...at, clientPort: 50001 }));
  t.deepEqual(r, authenticator(ki, 1, 2, 100, 0x81, 0, { ...at, taker: { address: '::ffff:10.0.0.3', port: 9898 } }), 'IPv4-mapped is the same address');
  t.is(deriveConnectionKey(i, new Uint8Array(32), true), undefined, 'a low-order public key is refused');
});
