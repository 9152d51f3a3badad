// The primitives a connection set-up spends its server CPU on (issue 12, "Connections per
// process": "use the fastest correct primitive; measure both; document the choice"), each way of
// computing them timed against the others in interleaved rounds (CPU time per operation, user +
// system, so that a shared machine's waiting is not counted), with their outputs compared equal
// first. README "Connections per process" gives the figures and the choices.
//
//   node --import=tsx bench/connections-crypto.ts [--rounds 5] [--ops 2000] [--json]
import { createHash, createHmac, createPrivateKey, createPublicKey, createSecretKey, diffieHellman, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import { isMain, parseFlags } from './child.js';

interface Candidate {
  readonly name: string;
  /** One operation on input i (inputs are made before timing). */
  readonly run: (i: number) => Uint8Array | number;
}

interface Contest {
  readonly name: string;
  readonly candidates: readonly Candidate[];
}

const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

function contests(ops: number): Contest[] {
  const priv = randomBytes(32);
  const pub = x25519.getPublicKey(priv);
  const privJwk = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64(priv), x: b64(pub) }, format: 'jwk' });
  const peers = Array.from({ length: ops }, () => x25519.getPublicKey(randomBytes(32)));
  const shared = peers.map((p) => x25519.getSharedSecret(priv, p));
  const salt = randomBytes(72);
  const info = Buffer.from('baton sctp auth');
  const secret = randomBytes(32);
  const secretKey = createSecretKey(secret);
  const cookies = Array.from({ length: ops }, () => randomBytes(420));
  // HMAC's two padded-key hash states, made once; each MAC copies them (RFC 2104).
  const block = Buffer.alloc(64);
  secret.copy(block);
  const inner = createHash('sha256').update(block.map((x) => x ^ 0x36));
  const outer = createHash('sha256').update(block.map((x) => x ^ 0x5c));
  const pool = randomBytes(4096);
  let poolAt = pool.length;
  const pooledUint32 = (): number => {
    if (poolAt + 4 > pool.length) {
      randomBytes(pool.length).copy(pool);
      poolAt = 0;
    }
    const v = pool.readUInt32BE(poolAt);
    poolAt += 4;
    return v;
  };
  return [
    {
      name: 'x25519 agreement (cached private key object)',
      candidates: [
        { name: 'node:crypto, peer key as JWK', run: (i) => diffieHellman({ privateKey: privJwk, publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64(peers[i]!) }, format: 'jwk' }) }) },
        { name: 'node:crypto, peer key as DER SPKI', run: (i) => diffieHellman({ privateKey: privJwk, publicKey: createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, peers[i]!]), format: 'der', type: 'spki' }) }) },
        { name: '@noble/curves', run: (i) => x25519.getSharedSecret(priv, peers[i]!) },
      ],
    },
    {
      name: 'SCTP endpoint-pair key: HKDF-SHA-256, 32 bytes (RFC 5869)',
      candidates: [
        { name: 'hkdfSync', run: (i) => new Uint8Array(hkdfSync('sha256', shared[i]!, salt, info, 32)) },
        { name: 'two createHmac (extract, expand)', run: (i) => createHmac('sha256', createHmac('sha256', salt).update(shared[i]!).digest()).update(info).update(ONE).digest() },
      ],
    },
    {
      name: 'state cookie HMAC-SHA-256 (420 bytes)',
      candidates: [
        { name: 'createHmac, key as bytes', run: (i) => createHmac('sha256', secret).update(cookies[i]!).digest() },
        { name: 'createHmac, key as a kept KeyObject', run: (i) => createHmac('sha256', secretKey).update(cookies[i]!).digest() },
        { name: 'kept padded-key hash states, copied', run: (i) => outer.copy().update(inner.copy().update(cookies[i]!).digest()).digest() },
      ],
    },
    {
      name: 'a random 32-bit number',
      candidates: [
        { name: 'randomBytes(4) each', run: () => randomBytes(4).readUInt32BE(0) },
        { name: 'from a 4 KiB pool of randomBytes', run: () => pooledUint32() },
      ],
    },
  ];
}
const ONE = new Uint8Array([1]);

/** Outputs of a contest's candidates for the same input must be equal (random draws excepted). */
function checkEqual(c: Contest): void {
  if (c.name.startsWith('a random')) return;
  for (const i of [0, 1, 2]) {
    const [first, ...rest] = c.candidates.map((x) => Buffer.from(x.run(i) as Uint8Array).toString('hex'));
    for (const r of rest) if (r !== first) throw new Error(`${c.name}: candidates disagree on input ${i}`);
  }
}

function microsPerOp(c: Candidate, ops: number): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < ops; i++) c.run(i);
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / ops;
}

export interface CryptoRow {
  readonly contest: string;
  readonly candidate: string;
  /** CPU µs per operation over the rounds: min / median / max. */
  readonly micros: readonly [number, number, number];
  /** Its per-round time over the first candidate's in the same round: min / median / max. */
  readonly ratio: readonly [number, number, number];
}

const spread = (xs: number[]): [number, number, number] => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[0]!, s[Math.floor(s.length / 2)]!, s[s.length - 1]!];
};

export function runCrypto(rounds: number, ops: number): CryptoRow[] {
  const rows: CryptoRow[] = [];
  for (const c of contests(ops)) {
    checkEqual(c);
    for (const x of c.candidates) microsPerOp(x, Math.min(ops, 200)); // warm-up
    const times = c.candidates.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      // Interleaved, and the order turned each round, so neither goes first every time.
      const order = c.candidates.map((_, i) => (i + r) % c.candidates.length);
      for (const i of order) times[i]!.push(microsPerOp(c.candidates[i]!, ops));
    }
    c.candidates.forEach((x, i) => rows.push({ contest: c.name, candidate: x.name, micros: spread(times[i]!), ratio: spread(times[i]!.map((t, r) => t / times[0]![r]!)) }));
  }
  return rows;
}

export function formatCrypto(rows: readonly CryptoRow[]): string {
  const f = (xs: readonly number[], d: number): string => xs.map((x) => x.toFixed(d)).join(' / ');
  return ['| operation | way | CPU µs per op, min / median / max | ÷ the first way, min / median / max |', '| --- | --- | --- | --- |', ...rows.map((r) => `| ${r.contest} | ${r.candidate} | ${f(r.micros, 1)} | ${f(r.ratio, 2)} |`)].join('\n');
}

if (isMain(import.meta.url)) {
  const flags = parseFlags(process.argv.slice(2));
  const rows = runCrypto(Number(flags.get('rounds') ?? 5), Number(flags.get('ops') ?? 2000));
  process.stdout.write(flags.has('json') ? `${JSON.stringify(rows)}\n` : `${formatCrypto(rows)}\n`);
}
