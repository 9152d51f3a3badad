import test from 'ava';
import { LocalUsageError } from '../src/transport-abstraction/errors.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import {
  decodeAnnouncement,
  decodeTransportState,
  encodeAnnouncedConnection,
  encodeAnnouncement,
  encodeTransportState,
  MAX_STATE_BYTES,
  StateDecodeError,
  type StateDecodeErrorCode,
} from '../src/transport-abstraction/state.js';
import type { Announcement, EndpointState, TransportState } from '../src/transport-abstraction/state-types.js';

const CODES = new Set<StateDecodeErrorCode>([
  'BATON_ERR_STATE_TRUNCATED',
  'BATON_ERR_STATE_LENGTH',
  'BATON_ERR_STATE_WIRE_TYPE',
  'BATON_ERR_STATE_TAG',
  'BATON_ERR_STATE_VARINT',
  'BATON_ERR_STATE_UTF8',
  'BATON_ERR_STATE_RANGE',
  'BATON_ERR_STATE_INVALID',
]);

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const ep = (address: string, port: number, udpPort: number): EndpointState => ({ address, port, udpPort });

function varint(v: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

function sctpState(i: number): TransportState {
  return {
    client: ep(`10.0.${i >> 8}.${i & 0xff}`, 5000 + i, 9899),
    server: ep('127.0.0.2', 80, 9899),
    sctp: {
      localVerificationTag: 0xdeadbeef,
      peerVerificationTag: 0xffffffff,
      localInitialTsn: 1 + i,
      peerInitialTsn: 0x80000000,
      tsnMap: [
        { firstTsn: 1, streamOffset: 0, bytesPerTsn: 1200, tsnCount: 1000, streamId: 0, firstSsn: 0 },
        { firstTsn: 1001, streamOffset: 1_200_000, bytesPerTsn: 1200, tsnCount: 0, streamId: 0, firstSsn: 1000 },
      ],
      localKeyVector: bytes(0x80, 0x02, 0x00, 0x24, 1, 2, 3, 4),
      peerKeyVector: bytes(9, 8, 7),
      endpointPairKey: new Uint8Array(32).fill(0xab),
      hmacId: 1,
      sharedKeyId: 0,
      x25519Agreed: true,
      peerAddresses: [ep('10.0.0.1', 5000, 9899), ep('::1', 5000, 9899)],
      localAddresses: [ep('127.0.0.2', 80, 9899)],
      nextAsconfSerial: 7,
      peerAsconfSerial: 3,
      outboundStreams: 10,
      inboundStreams: 65535,
      peerCumulativeTsn: 0x7fffffff,
      peerReceiverWindow: 1 << 20,
      inboundNextSsn: [0, 1, 65535, 300],
      pathMtu: 1280,
      peerStreamOffset: 2 ** 40 + 17,
    },
    stream: {
      applicationProtocol: 'http/1.1',
      objectName: '/videos/été.mp4',
      request: new TextEncoder().encode('GET /videos/x HTTP/1.1\r\nHost: a\r\n\r\n'),
      responseHeaderLength: 211,
      validator: '"abc-123"',
      objectLength: 2 ** 40,
      objectStart: 0,
      requestStreamOffset: 0,
    },
    takeoverNumber: 2,
    ownerId: 'server-b',
    takenAtMs: 1_795_000_000_000,
    streamBytesSent: Number.MAX_SAFE_INTEGER,
    streamBytesAcked: 123_456_789_012,
  };
}

function tcpState(i: number): TransportState {
  return {
    client: ep('127.0.0.1', 40000 + i, 50000),
    server: ep('127.0.0.3', 80, 9898),
    tcp: {
      initiatorIsn: 0xfffffff0,
      acceptorIsn: i,
      token: bytes(1, 2, 3, 4, 5, 6, 7, 8),
      connectionKey: new Uint8Array(32).fill(i & 0xff),
      mss: 1460,
      sackPermitted: true,
      localWindowScale: 7,
      peerWindowScale: 14,
      lastMigrateRequest: 4,
      sndUna: 100,
      sndNxt: 4000,
      rcvNxt: 0xffffffff,
      peerWindow: 65535,
      localIsInitiator: false,
      unknownOptions: bytes(0xfd, 4, 0, 0),
    },
    takeoverNumber: 0,
    ownerId: '',
    takenAtMs: 0,
    streamBytesSent: 0,
    streamBytesAcked: 0,
  };
}

function announcement(n: number): Announcement {
  const connections: TransportState[] = [];
  for (let i = 0; i < n; i++) connections.push(i % 2 === 0 ? sctpState(i) : tcpState(i));
  return {
    senderId: 'server-a',
    supportGroup: 3,
    sequence: 2 ** 40 + 5,
    load: { hostedConnections: n, outstandingOffers: 1 },
    connections,
    dropped: [
      { client: ep('10.1.1.1', 1, 2), takeoverNumber: 9 },
      { client: ep('10.1.1.2', 3, 4), takeoverNumber: 0 },
    ],
  };
}

function decodeCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof StateDecodeError) return e.code;
    return `not a StateDecodeError: ${String(e)}`;
  }
  return 'no error';
}

test('state: full SCTP state round-trips', (t) => {
  const s = sctpState(1);
  const decoded = decodeTransportState(encodeTransportState(s));
  t.deepEqual(decoded, s);
  t.true(decoded.sctp!.endpointPairKey instanceof Uint8Array);
  t.is(decoded.tcp, undefined);
});

test('state: full TCP-Migrate state round-trips, absent stream stays absent', (t) => {
  const s = tcpState(7);
  const decoded = decodeTransportState(encodeTransportState(s));
  t.deepEqual(decoded, s);
  t.false('stream' in decoded);
  t.false('sctp' in decoded);
});

test('state: announcement with many connections round-trips', (t) => {
  const a = announcement(200);
  const wire = encodeAnnouncement(a);
  t.true(wire instanceof Uint8Array);
  t.deepEqual(decodeAnnouncement(wire), a);
});

test('state: defaults are filled for every field', (t) => {
  // Only the tcp oneof member, empty.
  const decoded = decodeTransportState(bytes(0x22, 0x00));
  t.deepEqual(decoded.client, { address: '', port: 0, udpPort: 0 });
  t.deepEqual(decoded.server, { address: '', port: 0, udpPort: 0 });
  t.is(decoded.tcp!.mss, 0);
  t.deepEqual(decoded.tcp!.token, new Uint8Array(0));
  t.is(decoded.tcp!.sackPermitted, false);
  t.is(decoded.takenAtMs, 0);
  t.is(decoded.ownerId, '');
  const a = decodeAnnouncement(new Uint8Array(0));
  t.deepEqual(a, { senderId: '', supportGroup: 0, sequence: 0, load: { hostedConnections: 0, outstandingOffers: 0 }, connections: [], dropped: [] });
});

test('state: decoded bytes never alias the input', (t) => {
  const wire = encodeTransportState(tcpState(1));
  const decoded = decodeTransportState(wire);
  wire.fill(0);
  t.deepEqual(decoded.tcp!.token, bytes(1, 2, 3, 4, 5, 6, 7, 8));
});

test('state: unknown fields of every skippable wire type are ignored', (t) => {
  const s = tcpState(3);
  const wire = encodeTransportState(s);
  const unknown = [
    ...varint(BigInt((100 << 3) | 0)), ...varint(2n ** 63n), // varint
    ...varint(BigInt((101 << 3) | 1)), 1, 2, 3, 4, 5, 6, 7, 8, // fixed64
    ...varint(BigInt((102 << 3) | 2)), 3, 0xff, 0xfe, 0xfd, // length-delimited (not UTF-8, not parsed)
    ...varint(BigInt((103 << 3) | 5)), 1, 2, 3, 4, // fixed32
  ];
  // Unknown fields both at top level and inside the nested TcpMigrateState.
  const nested = bytes(0x22, unknown.length, ...unknown);
  const withUnknown = new Uint8Array([...unknown, ...wire, ...unknown]);
  t.deepEqual(decodeTransportState(withUnknown), s);
  const onlyNested = decodeTransportState(nested);
  t.deepEqual(onlyNested.tcp, decodeTransportState(bytes(0x22, 0)).tcp);
});

test('state: a packed or unpacked repeated uint32 both decode', (t) => {
  // sctp { inbound_next_ssn: [5, 300] } packed (wire 2) and unpacked (wire 0).
  const packed = bytes(0x1a, 0x06, 0xa2, 0x01, 0x03, 0x05, 0xac, 0x02);
  const unpacked = bytes(0x1a, 0x07, 0xa0, 0x01, 0x05, 0xa0, 0x01, 0xac, 0x02);
  t.deepEqual(decodeTransportState(packed).sctp!.inboundNextSsn, [5, 300]);
  t.deepEqual(decodeTransportState(unpacked).sctp!.inboundNextSsn, [5, 300]);
});

const BAD: Array<[string, StateDecodeErrorCode, Uint8Array]> = [
  ['tag varint cut off', 'BATON_ERR_STATE_TRUNCATED', bytes(0x80)],
  ['uint32 value cut off', 'BATON_ERR_STATE_TRUNCATED', bytes(0x22, 0x00, 0x30, 0x80)],
  ['message body cut off', 'BATON_ERR_STATE_TRUNCATED', hex('22 05 08 01 10')],
  ['string body cut off', 'BATON_ERR_STATE_TRUNCATED', hex('22 00 3a 04 61 62')],
  ['unknown fixed64 cut off', 'BATON_ERR_STATE_TRUNCATED', hex('22 00 a1 06 01 02 03')],
  ['inner length overruns outer message', 'BATON_ERR_STATE_LENGTH', hex('0a 03 0a 05 61 62 63 64 65 22 00')],
  ['packed body overruns outer message', 'BATON_ERR_STATE_LENGTH', hex('1a 03 a2 01 05 01 02 03 04 05')],
  ['varint overruns outer message', 'BATON_ERR_STATE_LENGTH', hex('22 02 08 ff 30 01')],
  ['length of 4 GiB', 'BATON_ERR_STATE_LENGTH', hex('22 00 3a ff ff ff ff 0f')],
  ['length just above the cap', 'BATON_ERR_STATE_LENGTH', bytes(0x22, 0x00, 0x3a, ...varint(BigInt(MAX_STATE_BYTES + 1)))],
  ['group start wire type', 'BATON_ERR_STATE_WIRE_TYPE', hex('22 00 0b')],
  ['group end wire type', 'BATON_ERR_STATE_WIRE_TYPE', hex('22 00 a4 06')],
  ['wire type 6', 'BATON_ERR_STATE_WIRE_TYPE', hex('22 00 0e')],
  ['wire type 7 on unknown field', 'BATON_ERR_STATE_WIRE_TYPE', hex('22 00 a7 06 00')],
  ['message field sent as varint', 'BATON_ERR_STATE_WIRE_TYPE', hex('22 00 08 01')],
  ['uint32 field sent as fixed32', 'BATON_ERR_STATE_WIRE_TYPE', hex('22 00 35 01 02 03 04')],
  ['string field sent as varint', 'BATON_ERR_STATE_WIRE_TYPE', hex('22 00 38 01')],
  ['singular uint32 sent length-delimited', 'BATON_ERR_STATE_WIRE_TYPE', hex('22 00 32 01 01')],
  ['field number 0', 'BATON_ERR_STATE_TAG', hex('22 00 00 00')],
  ['tag beyond 32 bits', 'BATON_ERR_STATE_TAG', hex('22 00 88 80 80 80 80 01 00')],
  ['varint of 11 bytes', 'BATON_ERR_STATE_VARINT', hex('22 00 40 ff ff ff ff ff ff ff ff ff ff 01')],
  ['varint beyond 64 bits', 'BATON_ERR_STATE_VARINT', hex('22 00 40 ff ff ff ff ff ff ff ff ff 02')],
  ['invalid UTF-8 in owner_id', 'BATON_ERR_STATE_UTF8', hex('22 00 3a 02 c3 28')],
  ['lone surrogate in endpoint address', 'BATON_ERR_STATE_UTF8', hex('22 00 0a 05 0a 03 ed a0 80')],
  ['uint64 of 2^53', 'BATON_ERR_STATE_RANGE', bytes(0x22, 0x00, 0x40, ...varint(2n ** 53n))],
  ['uint64 of 2^64-1', 'BATON_ERR_STATE_RANGE', bytes(0x22, 0x00, 0x48, ...varint(2n ** 64n - 1n))],
  ['uint32 of 2^32', 'BATON_ERR_STATE_RANGE', bytes(0x22, 0x00, 0x30, ...varint(2n ** 32n))],
  ['no transport oneof', 'BATON_ERR_STATE_INVALID', hex('30 01')],
  ['empty input', 'BATON_ERR_STATE_INVALID', new Uint8Array(0)],
  ['both sctp and tcp', 'BATON_ERR_STATE_INVALID', hex('1a 00 22 00')],
  ['sctp, then another field, then tcp', 'BATON_ERR_STATE_INVALID', hex('1a 00 30 01 22 00')],
];

for (const [name, code, input] of BAD) {
  test(`state: bad input "${name}" -> ${code}`, (t) => {
    t.is(decodeCode(() => decodeTransportState(input)), code);
  });
}

test('state: 2^53 - 1 is the largest uint64 accepted', (t) => {
  const s = decodeTransportState(bytes(0x22, 0x00, 0x40, ...varint(2n ** 53n - 1n)));
  t.is(s.takenAtMs, Number.MAX_SAFE_INTEGER);
});

test('state: faults inside an announcement connection carry their code', (t) => {
  const bad = hex('22 00 40 ff ff ff ff ff ff ff ff ff ff 01');
  const wire = bytes(0x2a, bad.length, ...bad);
  t.is(decodeCode(() => decodeAnnouncement(wire)), 'BATON_ERR_STATE_VARINT');
  const noOneof = bytes(0x2a, 0x00);
  t.is(decodeCode(() => decodeAnnouncement(noOneof)), 'BATON_ERR_STATE_INVALID');
});

test('state: StateDecodeError carries code, offset and name', (t) => {
  const e = t.throws(() => decodeTransportState(hex('22 00 0e')), { instanceOf: StateDecodeError });
  t.is(e!.code, 'BATON_ERR_STATE_WIRE_TYPE');
  t.is(e!.offset, 2);
  t.is(e!.name, 'StateDecodeError');
});

test('state: encoding refuses local misuse with LocalUsageError', (t) => {
  const both = { ...sctpState(1), tcp: tcpState(1).tcp };
  t.throws(() => encodeTransportState(both), { instanceOf: LocalUsageError });
  const none = { ...tcpState(1), tcp: undefined };
  t.throws(() => encodeTransportState(none), { instanceOf: LocalUsageError });
  t.throws(() => encodeTransportState({ ...tcpState(1), takenAtMs: 2 ** 53 }), { instanceOf: LocalUsageError });
  t.throws(() => encodeTransportState({ ...tcpState(1), takeoverNumber: -1 }), { instanceOf: LocalUsageError });
  t.throws(() => encodeTransportState({ ...tcpState(1), takeoverNumber: 2 ** 32 }), { instanceOf: LocalUsageError });
  t.throws(() => encodeTransportState({ ...tcpState(1), ownerId: 'bad \ud800 surrogate' }), { instanceOf: LocalUsageError });
  t.is(decodeTransportState(encodeTransportState({ ...tcpState(1), ownerId: 'emoji \ud83d\ude00 ok' })).ownerId, 'emoji \u{1f600} ok');
  const a = announcement(2);
  t.throws(() => encodeAnnouncement({ ...a, connections: [{ ...tcpState(1), tcp: undefined }] }), { instanceOf: LocalUsageError });
});

test('state: an announcement is its other fields followed by its connections encoded one by one', (t) => {
  const a = announcement(5);
  const head = encodeAnnouncement({ ...a, connections: [], dropped: [] });
  const parts = a.connections.map(encodeAnnouncedConnection);
  const joined = new Uint8Array(Buffer.concat([head, ...parts]));
  t.deepEqual(joined, encodeAnnouncement({ ...a, dropped: [] }), 'the same bytes as one encodeAnnouncement');
  t.deepEqual(decodeAnnouncement(new Uint8Array(Buffer.concat([encodeAnnouncement({ ...a, connections: [] }), ...parts]))), a, 'with drops before the connections: the same announcement');
  const e = t.throws(() => encodeAnnouncedConnection({ ...tcpState(1), takeoverNumber: -1 }), { instanceOf: LocalUsageError });
  t.is(e!.message, 'Announcement.connections[0].takeoverNumber: uint32 expected, got -1', 'misuse names the field');
});

test('state: 20k seeded mutations only ever throw StateDecodeError with a known code', (t) => {
  const rng = new SeededRandom(0x5eed);
  const seeds = [encodeTransportState(sctpState(5)), encodeTransportState(tcpState(9)), encodeAnnouncement(announcement(6))];
  const seen = new Map<string, number>();
  let decodedOk = 0;
  for (let i = 0; i < 20_000; i++) {
    const base = seeds[i % seeds.length]!;
    const input = mutate(rng, base);
    const asAnnouncement = i % seeds.length === 2;
    try {
      const out = asAnnouncement ? decodeAnnouncement(input) : decodeTransportState(input);
      decodedOk++;
      const states = asAnnouncement ? (out as Announcement).connections : [out as TransportState];
      for (const s of states) {
        if ((s.sctp === undefined) === (s.tcp === undefined)) t.fail(`decoded state without exactly one transport (case ${i})`);
        for (const n of [s.takenAtMs, s.streamBytesSent, s.streamBytesAcked]) {
          if (!Number.isSafeInteger(n) || n < 0) t.fail(`unsafe integer decoded (case ${i})`);
        }
      }
    } catch (e) {
      if (!(e instanceof StateDecodeError) || !CODES.has(e.code)) {
        t.fail(`case ${i}: unexpected ${String(e)} for ${Buffer.from(input).toString('hex')}`);
        return;
      }
      seen.set(e.code, (seen.get(e.code) ?? 0) + 1);
    }
  }
  t.log(`decoded ${decodedOk}, errors by code: ${JSON.stringify(Object.fromEntries(seen))}`);
  // The mutations must actually exercise the error paths, not only decode happily.
  for (const code of ['BATON_ERR_STATE_TRUNCATED', 'BATON_ERR_STATE_LENGTH', 'BATON_ERR_STATE_WIRE_TYPE', 'BATON_ERR_STATE_UTF8'] as const) {
    t.true((seen.get(code) ?? 0) > 0, `no ${code} among the mutations`);
  }
});

function mutate(rng: SeededRandom, base: Uint8Array): Uint8Array {
  const kind = rng.uint32() % 5;
  const n = base.length;
  switch (kind) {
    case 0: // truncate
      return base.slice(0, rng.uint32() % n);
    case 1: {
      // flip 1-4 bits
      const out = base.slice();
      const flips = 1 + (rng.uint32() % 4);
      for (let k = 0; k < flips; k++) out[rng.uint32() % n]! ^= 1 << rng.uint32() % 8;
      return out;
    }
    case 2: {
      // overwrite a run with random bytes
      const out = base.slice();
      const at = rng.uint32() % n;
      const junk = rng.bytes(1 + (rng.uint32() % 8));
      out.set(junk.subarray(0, Math.min(junk.length, n - at)), at);
      return out;
    }
    case 3: {
      // insert random bytes
      const at = rng.uint32() % n;
      const junk = rng.bytes(1 + (rng.uint32() % 6));
      return new Uint8Array([...base.subarray(0, at), ...junk, ...base.subarray(at)]);
    }
    default:
      // entirely random bytes
      return rng.bytes(rng.uint32() % 64);
  }
}
