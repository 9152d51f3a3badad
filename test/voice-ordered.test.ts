// Telephony sessions on SCTP through a takeover (README "Telephony sessions"), the two cases the
// unordered call of test/wedge-voice.test.ts does not cover, on bench/experiments/voice.ts's
// simulated call (A serves, dies at 2 s, B takes over from A's last announced state):
//  - ordered frames: the state carries the outbound SSNs (SctpState.outbound_ssns), the taker
//    continues each ordered stream past every SSN the old server can have used and tells the client
//    so in the FORWARD-TSN that skips the old server's holes (src/sctp/pr-sctp.ts messageResume);
//    before, the taker started its SSNs at 0 and the client's ordered stream stalled for good;
//  - a client without PR-SCTP that misses some of the dead server's frames: the taker cannot skip
//    them, so it fills their TSNs with filler messages the client's SCTP discards; before, the
//    taker aborted the call.
import test from 'ava';
import { runVoiceCall, type VoiceRunResult } from '../bench/experiments/voice.js';

function goesOn(t: import('ava').ExecutionContext, r: VoiceRunResult): void {
  t.false(Number.isNaN(r.resumedAt), 'the takeover completed');
  t.is(r.clientClosed, '', 'the client connection stayed open');
  t.is(r.takerClosed, '', 'the taker connection stayed open');
  t.is(r.client.duplicates + r.deliveredTwice, 0, 'no frame played twice');
  t.is(r.client.corrupt, 0, 'no filler or foreign message reached the call');
  for (const dir of ['upstream', 'downstream'] as const) {
    t.true(r[dir].after.count >= 120, `${dir}: ${r[dir].after.count} frames after the takeover`);
    t.true(r[dir].after.max <= 10 + 1, `${dir}: after the takeover frames take ${r[dir].after.max} ms (one way is 10)`);
  }
}

for (const [name, lossBeforeKill] of [['', undefined], [', the client missing some of the dead server\'s last frames', 0.5]] as const) {
  test(`sctp: ordered frames through a takeover mid-call${name}: both ways in order, the taker continues the SSNs`, (t) => {
    const r = runVoiceCall({ kind: 'sctp', seed: 2, ordered: true, ...(lossBeforeKill === undefined ? {} : { lossBeforeKill }) });
    goesOn(t, r);
    t.is(r.client.outOfOrder, 0, 'server frames in order');
    t.is(r.serverB.outOfOrder + r.serverA.outOfOrder, 0, 'client frames in order at each server');
    t.true(r.takerForwardTsnSent > 0, 'the taker told the client where its streams continue (FORWARD-TSN)');
  });
}

for (const ordered of [false, true]) {
  test(`sctp: a client without PR-SCTP misses some of the dead server's last ${ordered ? 'ordered' : 'unordered'} frames: the taker fills the holes and the call goes on`, (t) => {
    const r = runVoiceCall({ kind: 'sctp', seed: 1, lossBeforeKill: 0.5, clientPr: false, ordered });
    goesOn(t, r);
    t.is(r.takerForwardTsnSent, 0, 'nothing skipped: the client does not support PR-SCTP');
    t.is(r.client.outOfOrder, ordered ? 0 : r.client.outOfOrder);
    t.true(r.client.received < r.downstreamSent.before + r.downstreamSent.during + r.downstreamSent.after, 'frames were lost before the kill');
  });
}
