// The simulated torture campaign (bench/torture/, `baton torture`): a few seeds on both transports
// with lossy links and server faults, every download byte-identical or a clear error, no run hung;
// the judge that tells lost from duplicated bytes; and the command line's last line and status.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import { addRun, emptyTotals, failed, replayCommand, runSeed, summaryLine } from '../bench/torture/campaign.js';
import { drawScenario } from '../bench/torture/scenario.js';
import { judge } from '../bench/torture/verdict.js';
import { BatonError } from '../src/transport-abstraction/errors.js';
import { SeededRandom } from '../src/transport-abstraction/random.js';
import { TRANSPORT_KINDS } from '../src/transports.js';
import { runToExit } from './helpers/process.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const SEEDS = 12;

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: seeds 1-${SEEDS} — every download whole or a clear error, no run hung`, async (t) => {
    const totals = emptyTotals();
    const failures: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      totals.seeds++;
      const r = await runSeed(kind, seed);
      addRun(totals, r);
      if (failed(r)) failures.push(`${replayCommand(r)}: ${r.hung ?? r.downloads.map((d) => d.detail).join('; ')}`);
    }
    t.deepEqual(failures, []);
    t.is(totals.lost + totals.duplicated + totals.hung, 0);
    t.true(totals.whole > totals.clearErrors, `${totals.whole} whole, ${totals.clearErrors} clear errors: the faults must leave most downloads whole`);
    t.log(`${summaryLine(totals)} (${totals.whole} whole)`);
  });
}

test('tcp seed 288: a member silenced before the request takes over with a state that has no request, the client holding 138800 bytes — a clear error, not a hang', async (t) => {
  const r = await runSeed('tcp', 288);
  t.is(r.hung, undefined, r.story.join('\n'));
  t.false(failed(r));
  const refused = r.downloads.filter((d) => d.outcome === 'clear-error');
  t.is(refused.length, 1, JSON.stringify(r.downloads));
  t.true(r.story.some((line) => line.includes('resume-failed') && line.includes('BATON_ERR_RESUME_BEYOND') && line.includes('49154')), r.story.join('\n'));
});

test('sctp seed 529: a path whose heartbeat deadline rounds to now (lastNewDataAt + interval + RTO === now in floating point) is not fired forever', async (t) => {
  // The taker's heartbeat timer fired 100,000 times at t=8439 ms without time advancing: the
  // "idle?" check compared now - lastNewDataAt with the period (5199.999999999999 < 5200) but
  // re-armed at the sum, which rounded to now (src/sctp/association/timers.ts heartbeat()).
  const r = await runSeed('sctp', 529);
  t.is(r.hung, undefined, r.story.join('\n'));
  t.false(failed(r), r.story.join('\n'));
});

test('sctp hangs 401, 561, 669 (16:07 code): a client SACK clipped before the held chunks it covers were made is processed again once they are', async (t) => {
  // The taker made the held chunks (gap-fill: the client has them, never sent) after the client's
  // SACK acknowledging them had been clipped to what existed; nothing in flight, no T3-rtx, no
  // SACK ever again: SHUTDOWN-PENDING forever. afterFill hands the clipped SACK back to be
  // processed once the sender has made those TSNs (SctpAssociation.pollTransmit).
  const { afterFill, onSack } = await import('../src/sctp/takeover-hooks.js');
  const sender = { cumulativeAck: 1002, peerAdvertised: 9000 };
  const a = { takeoverState: { initiator: { phase: 'complete' }, clipped: undefined }, outboundNextTsn: 1005, sender } as unknown as Parameters<typeof afterFill>[0];
  const early = { type: 3, cumulativeTsnAck: 1008, advertisedReceiverWindow: 4000, gapBlocks: [{ start: 2, end: 3 }], duplicateTsns: [7] } as const;
  const clipped = onSack(a, 0, early);
  t.like(clipped, { cumulativeTsnAck: 1004, gapBlocks: [] });
  t.is(afterFill(a), undefined, 'no new TSN yet');
  (a as { outboundNextTsn: number }).outboundNextTsn = 1012; // the held chunks 1005-1011 now exist
  const again = afterFill(a)!;
  t.like(again, { cumulativeTsnAck: 1008, advertisedReceiverWindow: 9000, gapBlocks: [{ start: 2, end: 3 }] });
  t.is(onSack(a, 0, again), again, 'nothing to clip any more');
  t.is(afterFill(a), undefined, 'replayed once');
  // An older SACK arriving late does not replace the kept one; a newer one supersedes it.
  (a as { outboundNextTsn: number }).outboundNextTsn = 1005;
  onSack(a, 0, early);
  onSack(a, 0, { ...early, cumulativeTsnAck: 1006, gapBlocks: [] });
  (a as { outboundNextTsn: number }).outboundNextTsn = 1009;
  t.is(afterFill(a)?.cumulativeTsnAck, 1008);
  sender.cumulativeAck = 1008;
  onSack(a, 0, { ...early, cumulativeTsnAck: 1008, gapBlocks: [] });
  t.is(afterFill(a), undefined, 'superseded by an unclipped SACK');
});

test('sctp seed 45: a clipped SACK replayed while a packet is being built finishes the SHUTDOWN after that packet, not inside it', async (t) => {
  // The replay acknowledged everything in SHUTDOWN-PENDING; building the SHUTDOWN inside the DATA
  // packet's writer threw "another packet was built inside this one" (association.ts pollTransmit).
  const r = await runSeed('sctp', 45);
  t.is(r.hung, undefined, r.story.join('\n'));
  t.false(failed(r), r.story.join('\n'));
});

test('a seed draws the same scenario every time, and seeds differ', (t) => {
  const a = drawScenario(7);
  const b = drawScenario(7);
  t.deepEqual(a.faults, b.faults);
  t.deepEqual([...a.objects.values()], [...b.objects.values()]);
  t.notDeepEqual(drawScenario(8).faults, a.faults);
});

test('the judge: whole, cut off, skipped, repeated, trailing bytes, a clear error, still open', (t) => {
  const object = new SeededRandom(5).bytes(5000);
  const head = new TextEncoder().encode(`HTTP/1.1 200 OK\r\nContent-Length: ${object.length}\r\n\r\n`);
  const join = (...parts: Uint8Array[]) => Buffer.concat(parts);
  const whole = join(head, object);
  t.is(judge(whole, [object], true, undefined).outcome, 'whole');
  t.is(judge(join(whole, head, object), [object, object], true, undefined).outcome, 'whole');
  const cut = judge(join(head, object.subarray(0, 3000)), [object], true, undefined);
  t.is(cut.outcome, 'lost');
  const skipped = judge(join(head, object.subarray(0, 1000), object.subarray(1300)), [object], true, undefined);
  t.deepEqual([skipped.outcome, skipped.shift], ['lost', 300]);
  const repeated = judge(join(head, object.subarray(0, 1000), object.subarray(800)), [object], true, undefined);
  t.deepEqual([repeated.outcome, repeated.shift], ['duplicated', 200]);
  t.is(judge(join(whole, new Uint8Array(3)), [object], true, undefined).outcome, 'duplicated');
  const error = new BatonError('BATON_ERR_TIMEOUT', 'no answer');
  t.deepEqual(judge(join(head, object.subarray(0, 3000)), [object], true, error).code, 'BATON_ERR_TIMEOUT');
  t.is(judge(join(head, object.subarray(0, 1000), object.subarray(1300)), [object], true, error).outcome, 'lost', 'a wrong byte is lost even when an error follows');
  t.is(judge(join(head, object.subarray(0, 3000)), [object], false, undefined).outcome, 'open');
  const corrupt = join(head, object);
  corrupt[head.length + 10] ^= 0xff;
  t.is(judge(corrupt, [object], true, undefined).outcome, 'lost');
});

test('baton torture --seeds 2: progress on stderr, the totals as the last line, exit 0', async (t) => {
  const { status, stdout, stderr } = await runToExit(process.execPath, [BATON, 'torture', '--seeds', '2', '--seed', '3', '--transport', 'both'], { t, timeoutMs: 120_000, stdout: 'pipe', stderr: 'pipe' });
  t.is(status.code, 0, `${stdout}\n${stderr}`);
  const lines = stdout.trim().split('\n');
  t.regex(lines.at(-1)!, /^seeds 2, lost 0, duplicated 0, hung 0, clear errors \d+$/);
  t.regex(stderr, /baton torture: 4\/4 runs, 0 failing/);
  t.is(replayCommand({ kind: 'tcp', seed: 9 }), 'baton torture --seeds 1 --seed 9 --transport tcp');
});

test('baton torture refuses a bad --transport or --seeds with one line and exit 2', async (t) => {
  for (const args of [['--transport', 'udp'], ['--seeds', '0'], ['--seeds', 'x']]) {
    const { status, stderr } = await runToExit(process.execPath, [BATON, 'torture', ...args], { t, timeoutMs: 60_000, stdout: 'pipe', stderr: 'pipe' });
    t.is(status.code, 2, stderr);
    t.notRegex(stderr, /at .*\.js:\d+/, 'no stack trace');
    t.is(stderr.trim().split('\n').length, 1, stderr);
  }
});
