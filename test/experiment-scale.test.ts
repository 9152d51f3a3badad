// Scale (one wedge, N concurrent slow streams), small and fast: N = 1 and 50 on the simulated
// network. Every row is present with finite, positive figures; every connection is taken over
// after the serving wedge dies and its bytes are the object's. And the command writes its files.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScale } from '../bench/experiments/scale.js';
import { runExperimentQuietly } from './helpers/experiment-run.js';

test('N = 1 and 50: figures finite and positive, every connection taken over with the right bytes', async (t) => {
  const rows = await runScale({ counts: [1, 50] });
  t.deepEqual(rows.map((r) => r.connections), [1, 50]);
  for (const r of rows) {
    t.log(JSON.stringify(r));
    for (const value of [r.cpuPerStateUs, r.cpuFraction, r.bytesPerSecPerMember, r.datagramsPerSecPerMember, r.takeoverMs, r.takerCpuMs, r.takeoverPhaseCpuMs, r.wallS]) t.true(Number.isFinite(value) && value > 0, `N=${r.connections}: ${value}`);
    t.true(Number.isNaN(r.heapPerConnection) || r.heapPerConnection > 0, 'heap per connection measured (with --expose-gc) or NaN');
    t.is(r.takenOver, r.connections, 'every connection taken over');
    t.is(r.corrupt, 0, 'every client holds a prefix of the object');
  }
  t.true(rows[1]!.bytesPerSecPerMember > 10 * rows[0]!.bytesPerSecPerMember, 'announcing 50 states takes more bytes than announcing 1');
});

test('`baton experiment scale` writes scale.csv, .md and .svg', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'baton-scale-'));
  await runExperimentQuietly(['scale', '--out', out, '--counts', '1,3']);
  const csv = readFileSync(join(out, 'scale.csv'), 'utf8').trim().split('\n');
  t.is(csv[0], 'connections,heap_bytes_per_connection,cpu_us_per_state,cpu_pct_of_core,announce_bytes_per_s_per_member,announce_datagrams_per_s_per_member,out_of_turn_per_s,out_of_turn_bytes_per_s_per_member,out_of_turn_cpu_pct_of_core,takeover_all_ms,taker_cpu_ms,takeover_phase_cpu_ms,taken_over,wrong_bytes,wall_s');
  t.deepEqual(csv.slice(1).map((line) => line.split(',')[0]), ['1', '3']);
  t.deepEqual(csv.slice(1).map((line) => line.split(',')[12]), ['1', '3'], 'all taken over');
  t.true(readFileSync(join(out, 'scale.md'), 'utf8').includes('Scale'));
  t.true(readFileSync(join(out, 'scale.svg'), 'utf8').startsWith('<svg'));
  t.is(process.exitCode ?? 0, 0);
});
