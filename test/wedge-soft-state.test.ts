// Soft state: sealing (fixed layout, forgeries, replays, restarts) and the connection table
// (newest takeover number wins, expiry, drops with tombstones, superseded local connections).
import test from 'ava';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LocalUsageError } from '../src/transport-abstraction/errors.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import { Opener, Sealer } from '../src/wedge/seal.js';
import { connectionKey, SoftStateTable } from '../src/wedge/soft-state-table.js';

const KEY = new Uint8Array(32).fill(7);
const MONITOR_KEY = new Uint8Array(32).fill(9);
const opener = (): Opener => new Opener((kind) => (kind === 'command' ? MONITOR_KEY : KEY));

test('sealed layout: magic, version, kind, epoch, sequence, sender id, ciphertext, tag', (t) => {
  const s = new Sealer(KEY, 'wedge-a', new SeededRandom(1));
  const { bytes, sequence } = s.seal('announcement', Buffer.from('hello'));
  t.is(sequence, 1);
  const b = Buffer.from(bytes);
  t.is(b.subarray(0, 4).toString('hex'), '42570101');
  t.is(Number(b.readBigUInt64BE(4)), s.epoch);
  t.is(Number(b.readBigUInt64BE(12)), 1);
  t.is(b[20], 7);
  t.is(b.subarray(21, 28).toString(), 'wedge-a');
  t.is(b.length, 28 + 5 + 16);
  t.false(b.includes(Buffer.from('hello')), 'the payload is encrypted');
  t.is(s.seal('ack', new Uint8Array(0)).sequence, 2);
  const o = opener().open(bytes)!;
  t.deepEqual({ ...o, plaintext: Buffer.from(o.plaintext).toString() }, { kind: 'announcement', senderId: 'wedge-a', epoch: s.epoch, sequence: 1, plaintext: 'hello' });
});

test('forgeries are refused and counted: any flipped bit, a wrong key, a changed header', (t) => {
  const s = new Sealer(KEY, 'a', new SeededRandom(2));
  const { bytes } = s.seal('announcement', Buffer.from('state'));
  const o = opener();
  for (let i = 0; i < bytes.length; i++) {
    const bad = new Uint8Array(bytes);
    bad[i]! ^= 0x01;
    t.is(o.open(bad), undefined, `bit flipped in byte ${i}`);
  }
  const other = new Sealer(new Uint8Array(32).fill(8), 'a', new SeededRandom(3)).seal('announcement', Buffer.from('x')).bytes;
  t.is(o.open(other), undefined);
  const asCommand = new Uint8Array(bytes);
  asCommand[3] = 3; // claims to be a command: other key, other kind in the AAD
  t.is(o.open(asCommand), undefined);
  t.is(o.open(new Uint8Array(10)), undefined);
  const forged = o.dropped.get('forged') ?? 0;
  const malformed = o.dropped.get('malformed') ?? 0;
  t.is(forged + malformed, bytes.length + 3);
  t.true(forged > 0 && malformed > 0);
  t.truthy(o.open(bytes), 'the genuine datagram still opens after the forgeries');
});

test('replays are refused: the same datagram twice, an old one past the window, an old epoch after a restart', (t) => {
  const rnd = new SeededRandom(4);
  const s = new Sealer(KEY, 'a', rnd);
  const o = opener();
  const sealed = Array.from({ length: 100 }, (_, i) => s.seal('announcement', Buffer.from(String(i))).bytes);
  t.truthy(o.open(sealed[5]!));
  t.is(o.open(sealed[5]!), undefined);
  t.truthy(o.open(sealed[90]!));
  t.truthy(o.open(sealed[60]!), 'reordered but inside the 64-wide window');
  t.is(o.open(sealed[60]!), undefined);
  t.is(o.open(sealed[20]!), undefined, 'below the window');
  const restarted = new Sealer(KEY, 'a', rnd);
  t.not(restarted.epoch, s.epoch);
  t.truthy(o.open(restarted.seal('announcement', Buffer.from('new')).bytes), 'a new epoch is a restart');
  t.is(o.open(sealed[99]!), undefined, 'the retired epoch is a replay');
  t.is(o.dropped.get('replay'), 4);
  const b = new Sealer(KEY, 'b', rnd);
  t.truthy(o.open(b.seal('announcement', Buffer.from('b')).bytes), 'senders have their own windows');
});

test('the Sealer refuses bad keys and ids', (t) => {
  t.throws(() => new Sealer(new Uint8Array(8), 'a', new SeededRandom(1)), { instanceOf: LocalUsageError });
  t.throws(() => new Sealer(KEY, '', new SeededRandom(1)), { instanceOf: LocalUsageError });
  t.throws(() => new Sealer(KEY, 'x'.repeat(256), new SeededRandom(1)), { instanceOf: LocalUsageError });
});

test('property: every sealed datagram opens exactly once, in any order inside the window; noise never opens', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.nat(), fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 20 }), (n, seed, noise) => {
        const s = new Sealer(KEY, 'w', new SeededRandom(seed));
        const sealed = Array.from({ length: n }, (_, i) => s.seal(i % 2 ? 'ack' : 'announcement', Buffer.from([i])).bytes);
        const order = [...sealed.keys()].sort((a, b) => ((a * 7919 + seed) % n) - ((b * 7919 + seed) % n));
        const o = opener();
        for (const x of noise) assert.equal(o.open(x), undefined);
        for (const i of order) assert.equal(o.open(sealed[i]!)?.plaintext[0], i);
        for (const i of order) assert.equal(o.open(sealed[i]!), undefined);
        assert.equal(o.dropped.get('replay'), n);
      }),
    ),
  );
});

function conn(port: number, takeoverNumber: number, ownerId: string): TransportState {
  return {
    client: { address: '192.0.2.1', port, udpPort: 9899 },
    server: { address: '10.0.0.1', port: 80, udpPort: 9899 },
    tcp: { initiatorIsn: 1, acceptorIsn: 2, token: new Uint8Array(8), connectionKey: new Uint8Array(32), mss: 1400, sackPermitted: true, localWindowScale: 0, peerWindowScale: 0, lastMigrateRequest: takeoverNumber, sndUna: 0, sndNxt: 0, rcvNxt: 0, peerWindow: 0, localIsInitiator: false, unknownOptions: new Uint8Array(0) },
    takeoverNumber,
    ownerId,
    takenAtMs: 0,
    streamBytesSent: 0,
    streamBytesAcked: 0,
  };
}

test('table: the highest takeover number wins; equal refreshes; lower is stale', (t) => {
  const table = new SoftStateTable(10_000);
  table.apply(0, 'a', [conn(1, 0, 'a')], []);
  const key = connectionKey(conn(1, 0, 'a').client);
  t.is(table.get(key)?.state.ownerId, 'a');
  table.apply(100, 'b', [conn(1, 1, 'b')], []);
  t.is(table.get(key)?.state.ownerId, 'b');
  table.apply(200, 'a', [conn(1, 0, 'a')], []);
  t.is(table.get(key)?.state.ownerId, 'b', 'the old owner announcing number 0 again does not win');
  table.apply(300, 'b', [conn(1, 1, 'b')], []);
  t.is(table.get(key)?.expiresAt, 10_300, 'refreshed');
  t.deepEqual(table.counters, { inserted: 1, refreshed: 2, stale: 1, dropped: 0, expired: 0 });
  t.deepEqual(table.ownedBy('b').map((e) => e.key), [key]);
  t.deepEqual(table.ownedBy('a'), []);
});

test('table: entries expire CACHE_TIMEOUT after their last announcement', (t) => {
  const table = new SoftStateTable(10_000);
  table.apply(0, 'a', [conn(1, 0, 'a'), conn(2, 0, 'a')], []);
  table.apply(5_000, 'a', [conn(2, 0, 'a')], []);
  t.is(table.nextExpiry(), 10_000);
  t.deepEqual(table.expire(9_999), []);
  t.deepEqual(table.expire(10_000), [connectionKey(conn(1, 0, 'a').client)]);
  t.is(table.size, 1);
  t.deepEqual(table.expire(15_000).length, 1);
  t.is(table.size, 0);
});

test('property: expiry finds the earliest entry whatever the order of times, refreshes and drops', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('apply', 'drop', 'expire'), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 30_000 })), { minLength: 1, maxLength: 40 }), (ops) => {
        const table = new SoftStateTable(10_000);
        const tombs = new Map<string, number>(); // the model of the tombstones: key -> until
        for (const [op, port, now] of ops) {
          const key = connectionKey(conn(port, 0, 'a').client);
          if (op === 'apply') table.apply(now, 'a', [conn(port, 0, 'a')], []);
          else if (op === 'drop') {
            table.drop(now, { client: conn(port, 0, 'a').client, takeoverNumber: 0 });
            tombs.set(key, now + 10_000);
          } else {
            const before = table.all().filter((e) => e.expiresAt <= now).map((e) => e.key);
            assert.deepEqual(table.expire(now).sort(), before.sort());
            for (const [k, until] of tombs) if (until <= now) tombs.delete(k);
          }
          const times = [...table.all().map((e) => e.expiresAt), ...tombs.values()];
          assert.equal(table.nextExpiry(), times.length === 0 ? undefined : Math.min(...times));
        }
      }),
    ),
  );
});

test('table: a drop removes state and a late copy of the old announcement cannot revive it', (t) => {
  const table = new SoftStateTable(10_000);
  table.apply(0, 'a', [conn(1, 2, 'a')], []);
  table.apply(10, 'a', [], [{ client: conn(1, 2, 'a').client, takeoverNumber: 2 }]);
  t.is(table.size, 0);
  table.apply(20, 'a', [conn(1, 2, 'a')], []);
  t.is(table.size, 0, 'tombstone');
  table.apply(30, 'c', [conn(1, 3, 'c')], []);
  t.is(table.size, 1, 'a later takeover is new state');
  table.apply(40, 'a', [], [{ client: conn(1, 2, 'a').client, takeoverNumber: 2 }]);
  t.is(table.size, 1, 'a drop of an older number does not remove newer state');
  table.expire(10_020);
  table.apply(10_021, 'a', [conn(1, 2, 'a')], []);
  t.is(table.get(connectionKey(conn(1, 2, 'a').client))?.state.ownerId, 'c', 'still the newest number');
});

test('table: a higher number for a connection this wedge serves supersedes it, once', (t) => {
  const table = new SoftStateTable(10_000);
  table.setLocal([conn(1, 0, 'me'), conn(2, 4, 'me')]);
  t.deepEqual(table.apply(0, 'b', [conn(1, 0, 'b'), conn(2, 4, 'b')], []), [], 'equal numbers are not a takeover');
  t.deepEqual(table.apply(1, 'b', [conn(1, 1, 'b')], []), [{ key: connectionKey(conn(1, 0, 'me').client), takeoverNumber: 1, by: 'b' }]);
  t.deepEqual(table.apply(2, 'b', [conn(1, 1, 'b')], []), [], 'reported once');
  t.is(table.get(connectionKey(conn(1, 0, 'me').client))?.state.ownerId, 'b', 'now a peer connection in the table');
  table.setLocal([conn(1, 2, 'me')]); // this wedge took it back over
  t.is(table.get(connectionKey(conn(1, 0, 'me').client)), undefined, 'the older peer entry is gone');
});

test('property: whatever the order of announcements, the entry has the highest number heard', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom('a', 'b', 'c')), { minLength: 1, maxLength: 30 }), (seq) => {
        const table = new SoftStateTable(10_000);
        seq.forEach(([n, owner], i) => table.apply(i, owner, [conn(1, n, owner)], []));
        const max = Math.max(...seq.map(([n]) => n));
        assert.equal(table.get(connectionKey(conn(1, 0, 'a').client))?.state.takeoverNumber, max);
      }),
    ),
  );
});
