// Figure 3 (the annotated failover trace), checked on both transports: the trace at the client
// holds the death report's consequences in the paper's order — sB's takeover request and the
// client's acceptance, sA's later packets refused, sC's request with the same number refused, sB's
// resumed data from the client's first missing byte — and the command writes its three files.
import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFig3, traceText, type Fig3Trace, type TraceRow } from '../bench/experiments/fig3.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { runExperimentQuietly } from './helpers/experiment-run.js';

const A = '10.0.1.1';
const B = '10.0.1.2';
const C = '10.0.1.3';
const first = (trace: Fig3Trace, match: (r: TraceRow) => boolean) => trace.rows.findIndex(match);

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: the trace shows sB's takeover accepted, sA's packets and sC's request refused, sB resuming`, async (t) => {
    const trace = await runFig3({ kind });
    t.log(traceText(trace));
    t.is(trace.winner, 'sB');
    t.true(trace.complete, 'the object arrived whole');
    const request = first(trace, (r) => r.line.direction === 'in' && r.line.role === 'takeover' && r.line.from.address === B);
    const accept = first(trace, (r) => r.line.direction === 'out' && r.line.role === 'takeover-answer' && r.line.to.address === B);
    t.true(request >= 0 && accept > request, 'sB asks, then the client accepts');
    t.is(trace.rows[request]!.line.requestNumber, 1);
    t.true(trace.rows[request]!.time > 0, 'after the death report');
    // sA, alive, sends on after the takeover; every such packet is answered with a refusal.
    const lateFromA = trace.rows.filter((r, i) => i > accept && r.line.direction === 'in' && r.line.role === 'data' && r.line.from.address === A);
    t.true(lateFromA.length >= 1, "sA's packets after the takeover");
    t.true(lateFromA.every((r) => r.note.includes('refused')));
    const refusalsToA = trace.rows.filter((r, i) => i > accept && r.line.direction === 'out' && r.line.role === 'refusal' && r.line.to.address === A);
    t.is(refusalsToA.length, lateFromA.length, 'one refusal per packet of sA');
    t.is(trace.refusedOldPackets, refusalsToA.length);
    // sC's request comes later (200 ms path) with the same number, and is refused.
    const fromC = first(trace, (r) => r.line.direction === 'in' && r.line.role === 'takeover' && r.line.from.address === C);
    t.true(fromC > accept, "sC's request arrives after sB's was accepted");
    t.is(trace.rows[fromC]!.line.requestNumber, 1);
    t.true(trace.rows.slice(fromC + 1).some((r) => r.line.direction === 'out' && r.line.role === 'refusal' && r.line.to.address === C), "sC's request refused");
    t.is(trace.refusedTakeovers, 1);
    // sB resumes with new data at the point the client announced in its acceptance.
    const acceptedAck = trace.rows[accept]!.line.ack;
    const resumed = trace.rows.filter((r, i) => i > accept && r.line.direction === 'in' && r.line.role === 'data' && r.line.from.address === B && r.note.startsWith('resumed'));
    t.true(resumed.length >= 2, 'resumed data from sB');
    if (kind === 'tcp') t.is(resumed[0]!.line.dataStart, acceptedAck, 'TCP: sB starts at the ack of the SYN/ACK');
    t.true(trace.events.some((e) => e.text.includes('sB has won')));
    t.true(trace.events.some((e) => e.text.includes('sC has lost')));
  });
}

test('`baton experiment fig3` writes fig3.csv (one row per packet), fig3.md (the traces) and fig3.svg', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'baton-fig3-'));
  await runExperimentQuietly(['fig3', '--out', out]);
  const csv = readFileSync(join(out, 'fig3.csv'), 'utf8').trim().split('\n');
  t.is(csv[0], 'transport,time_s,direction,from,to,role,data_start,data_end,ack,note,packet');
  t.deepEqual([...new Set(csv.slice(1).map((l) => l.split(',')[0]))].sort(), ['sctp', 'tcp']);
  t.true(csv.some((l) => /^sctp,.*,takeover,.*ASCONF/.test(l)));
  t.true(csv.some((l) => /^tcp,.*,takeover,.*migrate PRELOAD 1/.test(l)));
  const md = readFileSync(join(out, 'fig3.md'), 'utf8');
  t.regex(md, /### TCP-Migrate[\s\S]*```[\s\S]*sB\.9000 > cl\.\d+: S [\s\S]*```/);
  t.notRegex(md, /The run failed/);
  t.regex(readFileSync(join(out, 'fig3.svg'), 'utf8'), /^<svg[\s\S]*SCTP[\s\S]*TCP-Migrate[\s\S]*<\/svg>\n$/);
});
