// The pure pieces both transports share (src/transport-abstraction/): X25519, the RTO estimator,
// the slab, the endpoint scheduler.
import test from 'ava';
import { agree, generateKeyPair, keyPairFrom } from '../src/transport-abstraction/x25519.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

test('x25519: RFC 7748 §6.1 vectors; both sides agree; a low-order peer key gives no secret', (t) => {
  const alice = keyPairFrom(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
  const bob = keyPairFrom(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
  t.is(Buffer.from(alice.publicKey).toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
  t.is(Buffer.from(bob.publicKey).toString('hex'), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
  t.is(Buffer.from(agree(alice.privateKey, bob.publicKey)!).toString('hex'), shared);
  t.is(Buffer.from(agree(bob.privateKey, alice.publicKey)!).toString('hex'), shared);
  const rnd = new SeededRandom(7);
  const a = generateKeyPair(rnd);
  const b = generateKeyPair(rnd);
  t.deepEqual(agree(a.privateKey, b.publicKey), agree(b.privateKey, a.publicKey));
  t.deepEqual(generateKeyPair(new SeededRandom(7)), a, 'the key pair is a function of the RandomSource');
  t.is(agree(a.privateKey, new Uint8Array(32)), undefined, 'the zero point');
  t.is(agree(a.privateKey, hex('0100000000000000000000000000000000000000000000000000000000000000')), undefined, 'a point of order 1');
  t.is(agree(a.privateKey, new Uint8Array(31)), undefined, 'a short key');
});
