// Support groups: the documented hash is stable (values computed independently with Python's
// hashlib from the formula in src/wedge/groups.ts), uniform over many addresses, and symmetric.
import test from 'ava';
import fc from 'fast-check';
import { LocalUsageError } from '../src/transport-abstraction/errors.js';
import { groupPeers, supportGroup } from '../src/wedge/groups.js';

test('stable: the documented SHA-256 formula, pinned values', (t) => {
  // python3: int.from_bytes(sha256(b"baton support group v1\0" + addr + b"\0" + id).digest()[:8], "big") % n
  t.is(supportGroup({ address: '127.0.0.2', id: 'a' }, 4), 3);
  t.is(supportGroup({ address: '127.0.0.3', id: 'b' }, 4), 2);
  t.is(supportGroup({ address: '10.1.2.3', id: '' }, 16), 8);
  t.is(supportGroup({ address: '::1', id: 'x' }, 3), 2);
  t.is(supportGroup({ address: '::1', id: 'x' }, 1), 0);
  t.is(supportGroup({ address: 'FE80::1', id: 'x' }, 7), supportGroup({ address: 'fe80::1', id: 'x' }, 7), 'addresses compare lower-cased');
});

test('uniform: 20,000 addresses over 8 buckets pass a chi-square test (p = 0.001)', (t) => {
  const buckets = 8;
  const counts = new Array<number>(buckets).fill(0);
  const n = 20_000;
  for (let i = 0; i < n; i++) counts[supportGroup({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, id: '' }, buckets)]!++;
  const expected = n / buckets;
  const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  t.log(`counts ${counts.join(' ')}, chi2 ${chi2.toFixed(2)}`);
  t.true(chi2 < 24.32, `chi2 ${chi2} (7 degrees of freedom, 0.001 critical value 24.32)`);
});

test('groupPeers: every member of a group sees the same group, self excluded', (t) => {
  const servers = Array.from({ length: 30 }, (_, i) => ({ address: `127.0.0.${i + 2}`, id: `s${i}` }));
  for (const s of servers) {
    const peers = groupPeers(s, servers, 5);
    t.false(peers.includes(s));
    for (const p of peers) {
      t.is(supportGroup(p, 5), supportGroup(s, 5));
      t.true(groupPeers(p, servers, 5).includes(s), 'membership is symmetric');
    }
  }
  t.throws(() => supportGroup(servers[0]!, 0), { instanceOf: LocalUsageError });
});

test('property: the group is in range and a pure function of address and id', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.ipV4(), fc.string(), fc.integer({ min: 1, max: 1000 }), (address, id, n) => {
        const g = supportGroup({ address, id }, n);
        return Number.isInteger(g) && g >= 0 && g < n && g === supportGroup({ address, id }, n);
      }),
    ),
  );
});
