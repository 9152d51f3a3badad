// fig7's shape on a small run (2 sizes, 1 recorded round, both transports, batonFetch and `baton
// connect`): real nginx and real `baton serve` processes, so it needs Debian's nginx and a built
// tree (the suite's `tsc` emits dist/). It checks that every transfer carried the object's bytes
// (the experiment fails otherwise), that every (path, size) row is there, and that the numbers are
// finite and positive. It asserts nothing about which is faster: that is the figure, not a test.
import test from 'ava';
import { fig7Experiment, FIG7_COLUMNS } from '../bench/experiments/fig7.js';
import { nginxInstalled } from './helpers/nginx.js';

test('fig7 on 1K and 64K, one round: every path and size present, every byte checked, numbers finite and positive', async (t) => {
  t.timeout(120_000);
  if (!nginxInstalled()) {
    t.fail('Debian nginx is not installed (/usr/sbin/nginx): run .ci/install-deps');
    return;
  }
  const progress: string[] = [];
  const output = await fig7Experiment.run({
    seeds: 1,
    options: { rounds: '1', sizes: '1K,64K', transports: 'sctp,tcp', connect: 'yes', mtu: '1500' },
    progress: (m) => progress.push(m),
  });
  t.is(output.failure, undefined, progress.join('\n'));
  t.deepEqual(output.columns, [...FIG7_COLUMNS]);
  const column = (name: string) => output.columns.indexOf(name);
  const paths = ['fetch-sctp', 'connect-sctp', 'fetch-tcp', 'connect-tcp'];
  t.deepEqual(output.rows.map((r) => `${r[column('path')]} ${r[column('size')]}`), paths.flatMap((p) => [`${p} 1K`, `${p} 64K`]));
  for (const row of output.rows) {
    t.is(row[column('bytes')], row[column('size')] === '1K' ? 1024 : 65536);
    t.is(row[column('rounds')], 1);
    for (const name of ['direct_ms', 'baton_ms', 'direct_head_ms', 'baton_head_ms']) {
      const v = row[column(name)] as number;
      t.true(Number.isFinite(v) && v > 0, `${row[0]} ${row[1]} ${name} = ${v}`);
    }
    for (const name of ['added_ms_min', 'added_ms_median', 'added_ms_max', 'added_pct']) t.true(Number.isFinite(row[column(name)] as number), `${row[0]} ${row[1]} ${name}`);
    // batonFetch's split of its head time: each phase within it; `baton connect` has none.
    for (const name of ['baton_socket_ms', 'baton_handshake_ms', 'baton_request_ms']) {
      const v = row[column(name)];
      if (String(row[0]).startsWith('connect-')) t.is(v, '', `${row[0]} ${name}`);
      else t.true(typeof v === 'number' && v >= 0 && v <= (row[column('baton_head_ms')] as number), `${row[0]} ${row[1]} ${name} = ${v}`);
    }
  }
  t.regex(output.notes ?? '', /(\d+) transfers/);
  // (1 warm-up + 1 recorded round) x 2 sizes x 5 paths (direct and four through baton), each checked.
  t.regex(output.notes ?? '', /\(20 transfers\)/);
  t.is(output.chart.kind, 'line');
});

test('fig7 refuses bad options before it starts anything', async (t) => {
  const run = (options: Record<string, string>) => fig7Experiment.run({ seeds: 1, options: { rounds: '1', sizes: '1K', transports: 'sctp', connect: 'no', mtu: '1500', ...options }, progress: () => {} });
  await t.throwsAsync(async () => run({ sizes: '1X' }), { message: /size is a whole number/ });
  await t.throwsAsync(async () => run({ transports: 'udp' }), { message: /--transports takes sctp and tcp/ });
  await t.throwsAsync(async () => run({ connect: 'maybe' }), { message: /--connect is yes or no/ });
  await t.throwsAsync(async () => run({ rounds: '0' }), { message: /--rounds must be a whole number/ });
  await t.throwsAsync(async () => run({ mtu: '70000' }), { message: /--mtu must be at most 65535/ });
});
