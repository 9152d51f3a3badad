import test from 'ava';
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import {
  AuthContext,
  associationKey,
  authContextFromVectors,
  authParamsFrom,
  authParamList,
  compareKeyVectors,
  computeHmac,
  keyVector,
  localAuthParams,
  parseKeyVector,
  requiresAuth,
  selectHmacId,
  unsupportedHmacCause,
  type AuthParams,
} from '../src/sctp/auth.js';
import { canonicalSalt, endpointPairKey, generateKeyPair, endpointKeyPair, peerPublicKeyFrom, x25519Param, saltBytes } from '../src/sctp/x25519.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { verifyChecksum } from '../src/sctp/wire/crc32c.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function params(seed: number, hmacIds = [3, 1]): AuthParams {
  return { random: new SeededRandom(seed).bytes(32), chunkTypes: [0xc1, 0x80], hmacIds };
}

/** common header + AUTH(hmac len) + a fake ASCONF chunk, as raw bytes. */
function packetWithAuth(hmacId: number, hmacLen: number, keyId = 0): Uint8Array {
  const asconf = [0xc1, 0, 0, 16, 0, 0, 0, 7, 0, 5, 0, 8, 10, 0, 0, 2];
  const authLen = 8 + hmacLen;
  const bytes = [0x26, 0xab, 0x26, 0xab, 1, 2, 3, 4, 0, 0, 0, 0, 15, 0, authLen >> 8, authLen & 0xff, keyId >> 8, keyId & 0xff, hmacId >> 8, hmacId & 0xff];
  for (let i = 0; i < hmacLen; i++) bytes.push(0);
  return Uint8Array.from([...bytes, ...asconf]);
}

test('key vector is RANDOM ∥ CHUNKS ∥ HMAC-ALGO with headers and no padding', (t) => {
  const p: AuthParams = { random: new Uint8Array(32).fill(0xab), chunkTypes: [0xc1, 0x80, 0], hmacIds: [3, 1] };
  const v = keyVector(p);
  t.is(hex(v), '80020024' + 'ab'.repeat(32) + '80030007' + 'c18000' + '80040008' + '00030001');
  t.deepEqual(parseKeyVector(v), { ...p, chunksSent: true });
  const noChunks = keyVector({ ...p, chunksSent: false });
  t.is(hex(noChunks), '80020024' + 'ab'.repeat(32) + '80040008' + '00030001');
  t.is(parseKeyVector(noChunks)!.chunksSent, false);
  t.is(parseKeyVector(v.subarray(0, v.length - 1)), undefined);
});

test('key vector comparison follows usrsctp sctp_compare_key (left-padded, shorter smaller on tie)', (t) => {
  t.is(compareKeyVectors(Uint8Array.from([1, 2]), Uint8Array.from([1, 3])), -1);
  t.is(compareKeyVectors(Uint8Array.from([0, 0, 5]), Uint8Array.from([5])), 1); // equal value, longer is larger
  t.is(compareKeyVectors(Uint8Array.from([9]), Uint8Array.from([0, 8])), 1); // 9 > 8 after padding
  t.is(compareKeyVectors(Uint8Array.from([1, 0]), Uint8Array.from([0xff])), 1); // 256 > 255
  t.is(compareKeyVectors(new Uint8Array(0), Uint8Array.from([0])), -1);
  t.is(compareKeyVectors(Uint8Array.from([7, 7]), Uint8Array.from([7, 7])), 0);
});

test('association key = shared ∥ smaller ∥ larger, the same from both sides', (t) => {
  const a = keyVector(params(1));
  const b = keyVector(params(2));
  const shared = Uint8Array.from([9, 9, 9]);
  const k1 = associationKey(shared, a, b);
  const k2 = associationKey(shared, b, a);
  t.deepEqual(k1, k2);
  const [small, large] = Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0 ? [a, b] : [b, a];
  t.is(hex(k1), '090909' + hex(small) + hex(large));
  t.is(associationKey(new Uint8Array(0), a, b).length, a.length + b.length);
});

test('HMAC-SHA-1 matches RFC 2202 test case 6 (usrsctp sctp_test_hmac_sha1, key > block size)', (t) => {
  const mac = computeHmac(1, new Uint8Array(80).fill(0xaa), new TextEncoder().encode('Test Using Larger Than Block-Size Key - Hash Key First'));
  t.is(hex(mac), 'aa4ae5e15272d00e95705637ce8a3b55ed402112');
  t.throws(() => computeHmac(2, new Uint8Array(1), new Uint8Array(1)));
});

test('HMAC id selection: first of the peer list we support', (t) => {
  t.is(selectHmacId([3, 1]), 3);
  t.is(selectHmacId([1, 3]), 1);
  t.is(selectHmacId([2, 1]), 1);
  t.is(selectHmacId([2]), undefined);
  t.is(selectHmacId([3, 1], [1]), 1);
});

test('CHUNKS rules: INIT, INIT-ACK, SHUTDOWN-COMPLETE, AUTH never need AUTH', (t) => {
  t.true(requiresAuth(0xc1, [0xc1, 0x80]));
  t.false(requiresAuth(0, [0xc1, 0x80]));
  t.false(requiresAuth(1, [1, 0xc1]));
  t.deepEqual(localAuthParams(new Uint8Array(32), [1, 2, 14, 15, 0xc1]).chunkTypes, [0xc1]);
  t.throws(() => localAuthParams(new Uint8Array(16)));
});

test('authParamsFrom reads RANDOM/CHUNKS/HMAC-ALGO and requires SHA-1 in the list', (t) => {
  const p = params(3);
  t.deepEqual(authParamsFrom(authParamList(p)), { ...p, chunksSent: true });
  t.is(authParamsFrom(authParamList({ ...p, hmacIds: [3] })), undefined);
  t.is(authParamsFrom([]), undefined);
  const noChunks = authParamsFrom(authParamList(p).filter((x) => x.kind !== 'chunks'))!;
  t.false(noChunks.chunksSent);
  t.deepEqual(noChunks.chunkTypes, []);
});

for (const [name, hmacId, len, hash] of [['SHA-256', 3, 32, 'sha256'], ['SHA-1', 1, 20, 'sha1']] as const) {
  test(`sign and verify with HMAC-${name}, cross-checked by hand`, (t) => {
    const client = params(10, hmacId === 1 ? [1] : [3, 1]);
    const server = params(11, hmacId === 1 ? [1] : [3, 1]);
    const epk = Uint8Array.from([1, 2, 3]);
    const sender = new AuthContext(server, client, epk);
    const receiver = new AuthContext(client, server, epk);
    t.is(sender.sendHmacId, hmacId);
    t.deepEqual(sender.key, receiver.key);
    const pkt = packetWithAuth(hmacId, len);
    t.true(sender.signPacket(pkt));
    t.true(verifyChecksum(pkt));
    // by hand: HMAC over AUTH (hmac zeroed) + following chunks, key = epk ∥ smaller ∥ larger
    const kc = keyVector(client);
    const ks = keyVector(server);
    const key = Buffer.compare(Buffer.from(kc), Buffer.from(ks)) <= 0 ? Buffer.concat([epk, kc, ks]) : Buffer.concat([epk, ks, kc]);
    const text = Buffer.from(pkt.subarray(12));
    text.fill(0, 8, 8 + len);
    t.is(hex(pkt.subarray(20, 20 + len)), createHmac(hash, key).update(text).digest('hex'));
    const ok = receiver.verify(pkt);
    t.true(ok.ok);
    t.is(ok.ok && ok.authenticatedFrom, 12 + 8 + len);
    const acc = receiver.acceptable(pkt);
    t.deepEqual(acc.accept, [true, true]);
    // tamper with the ASCONF: verification fails and the ASCONF is not acceptable
    const bad = pkt.slice();
    bad[bad.length - 1] ^= 1;
    t.deepEqual(receiver.verify(bad), { ok: false, reason: 'bad-hmac', hmacId });
    t.deepEqual(receiver.acceptable(bad).accept, [true, false]);
    // a different endpoint-pair key (e.g. RFC 4895's empty default) does not verify
    t.false(new AuthContext(client, server).verify(pkt).ok);
  });
}

test('AuthSigner hooks: writeAuthChunk + sign produce what signPacket produces', (t) => {
  const tx = new AuthContext(params(60), params(61));
  const a = packetWithAuth(3, 32);
  const b = a.slice();
  b.fill(0xee, 12, 12 + 40); // garbage where the AUTH chunk goes
  tx.writeAuthChunk(b, 12);
  t.deepEqual(b, a);
  tx.sign(b, 12);
  tx.signPacket(a);
  t.deepEqual(b.subarray(12), a.subarray(12));
  t.true(tx.needsAuth(0xc1));
  t.false(tx.needsAuth(0));
  t.is(tx.authChunkLength, 40);
});

test('verify works on a Node Buffer (Buffer#slice is a view) and leaves it untouched', (t) => {
  const tx = new AuthContext(params(70), params(71));
  const p = packetWithAuth(3, 32);
  tx.signPacket(p);
  const pooled = Buffer.concat([Buffer.alloc(100, 1), Buffer.from(p)]).subarray(100);
  const before = Buffer.from(pooled);
  const rx = new AuthContext(params(71), params(70));
  t.true(rx.verify(pooled).ok);
  t.true(rx.verify(pooled).ok);
  t.true(before.equals(pooled));
});

test('verify refuses unsupported HMAC ids, wrong lengths, unknown key ids, missing AUTH', (t) => {
  const a = params(20);
  const b = params(21);
  const rx = new AuthContext(a, b);
  t.deepEqual(rx.verify(packetWithAuth(2, 20)), { ok: false, reason: 'unsupported-hmac', hmacId: 2 });
  t.deepEqual(rx.verify(packetWithAuth(3, 20)), { ok: false, reason: 'bad-length', hmacId: 3 });
  const other = new AuthContext(b, a);
  const p = packetWithAuth(3, 32, 0);
  other.signPacket(p);
  t.true(rx.verify(p).ok);
  const k1 = packetWithAuth(3, 32, 1);
  new AuthContext(b, a, new Uint8Array(0), 1).signPacket(k1);
  t.deepEqual(rx.verify(k1), { ok: false, reason: 'unknown-key', hmacId: 3 });
  const noAuth = Uint8Array.from([0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0xc1, 0, 0, 8, 0, 0, 0, 1]);
  t.deepEqual(rx.verify(noAuth), { ok: false, reason: 'no-auth' });
  t.deepEqual(rx.acceptable(noAuth).accept, [false]);
  t.deepEqual(unsupportedHmacCause(2), { code: 0x0105, info: Uint8Array.from([0, 2]) });
});

test('a receiver that only knows SHA-1 gets SHA-1 from a SHA-256-preferring peer', (t) => {
  const sha1Only = params(30, [1]);
  const both = params(31, [3, 1]);
  const tx = new AuthContext(both, sha1Only);
  t.is(tx.sendHmacId, 1);
  const p = packetWithAuth(1, 20);
  tx.signPacket(p);
  t.true(new AuthContext(sha1Only, both).verify(p).ok);
  t.throws(() => new AuthContext(params(32, [3]), params(33, [2])));
});

test('authContextFromVectors rebuilds the same key from exported vectors', (t) => {
  const a = params(40);
  const b = params(41);
  const epk = new Uint8Array(32).fill(5);
  const original = new AuthContext(a, b, epk);
  const rebuilt = authContextFromVectors(keyVector(a), keyVector(b), epk)!;
  t.deepEqual(rebuilt.key, original.key);
  t.is(rebuilt.sendHmacId, original.sendHmacId);
  t.is(authContextFromVectors(Uint8Array.from([1, 2, 3]), keyVector(b), epk), undefined);
});

test('x25519: both sides derive the same HKDF key; standard peer falls back', (t) => {
  const rnd = new SeededRandom(7);
  const alice = generateKeyPair(rnd);
  const bob = generateKeyPair(rnd);
  const salt = { initiatorTag: 0x11223344, responderTag: 0x55667788, initiatorRandom: new Uint8Array(32).fill(1), responderRandom: new Uint8Array(32).fill(2) };
  const ka = endpointPairKey(alice, bob.publicKey, salt);
  const kb = endpointPairKey(bob, alice.publicKey, salt);
  t.is(ka.keySource, 'x25519');
  t.deepEqual(ka.key, kb.key);
  t.is(ka.key.length, 32);
  // by hand with node:crypto HKDF over noble's shared secret
  const shared = x25519.getSharedSecret(alice.privateKey, bob.publicKey);
  const expected = Buffer.from(hkdfSync('sha256', shared, saltBytes(salt), 'baton sctp auth', 32));
  t.is(hex(ka.key), expected.toString('hex'));
  t.is(hex(saltBytes(salt).subarray(0, 8)), '1122334455667788');
  // different salt (another handshake) → different key
  t.notDeepEqual(endpointPairKey(alice, bob.publicKey, { ...salt, responderTag: 1 }).key, ka.key);
  // standard peer: no 0xbaf1 parameter
  t.deepEqual(endpointPairKey(alice, undefined, salt), { keySource: 'rfc4895-default', key: new Uint8Array(0) });
  t.deepEqual(endpointPairKey(undefined, bob.publicKey, salt).keySource, 'rfc4895-default');
  // low-order point (all zeros) → degenerate agreement → fallback, never a known key
  t.is(endpointPairKey(alice, new Uint8Array(32), salt).keySource, 'rfc4895-default');
});

test('x25519 parameter round trip, and unknown-param form is accepted', (t) => {
  const kp = generateKeyPair(new SeededRandom(8));
  const p = x25519Param(kp.publicKey);
  t.is(p.type, 0xbaf1);
  t.is((p.type >> 14) & 3, 2); // top bits 10: skip silently
  t.deepEqual(peerPublicKeyFrom([p]), kp.publicKey);
  t.deepEqual(peerPublicKeyFrom([{ type: 0xbaf1, kind: 'unknown', value: kp.publicKey }]), kp.publicKey);
  t.is(peerPublicKeyFrom([{ type: 0xbaf1, kind: 'unknown', value: new Uint8Array(31) }]), undefined);
  t.is(peerPublicKeyFrom([]), undefined);
});

test('eavesdropper: with every public handshake value it cannot reach the x25519 association key', (t) => {
  const rnd = new SeededRandom(9);
  const client = generateKeyPair(rnd);
  const server = generateKeyPair(rnd);
  const cp = params(50);
  const sp = params(51);
  const salt = { initiatorTag: 1, responderTag: 2, initiatorRandom: cp.random, responderRandom: sp.random };
  const real = new AuthContext(cp, sp, endpointPairKey(client, server.publicKey, salt).key);
  // Everything on the wire: both public keys, both vectors, both tags. Best guesses:
  const guesses = [
    new Uint8Array(0),
    createHash('sha256').update(client.publicKey).update(server.publicKey).digest(),
    endpointPairKey(generateKeyPair(rnd), server.publicKey, salt).key, // own key pair against the server's
  ];
  for (const g of guesses) t.notDeepEqual(new AuthContext(cp, sp, new Uint8Array(g)).key, real.key);
});

test('the endpoint key pair is a deterministic function of the secret, made once per secret', (t) => {
  const secret = new Uint8Array(32).fill(3);
  const a = endpointKeyPair(secret);
  t.is(endpointKeyPair(secret), a, 'kept: no scalar multiplication the second time');
  t.deepEqual(endpointKeyPair(new Uint8Array(32).fill(3)), a, 'the same secret bytes give the same pair');
  t.notDeepEqual(endpointKeyPair(new Uint8Array(32)).publicKey, a.publicKey);
  t.deepEqual(x25519.getPublicKey(a.privateKey), a.publicKey);
});

test('canonicalSalt is the same from both sides', (t) => {
  const a = { tag: 5, random: new Uint8Array(32).fill(1) };
  const b = { tag: 3, random: new Uint8Array(32).fill(2) };
  t.deepEqual(canonicalSalt(a, b), canonicalSalt(b, a));
  t.is(canonicalSalt(a, b).initiatorTag, 3);
  const c = { tag: 5, random: new Uint8Array(32).fill(0) };
  t.deepEqual(canonicalSalt(a, c), canonicalSalt(c, a));
  t.is(canonicalSalt(a, c).initiatorRandom[0], 0);
});
