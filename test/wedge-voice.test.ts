// Telephony sessions through a takeover (src/wedge/voice-session.ts, README "Telephony sessions"),
// on the simulated network with bench/experiments/voice.ts's call: a client and server A exchange
// 20 ms frames both ways, A announces the call to B every 100 ms and dies at 2 s, B takes over.
import test from 'ava';
import { PHASES, runVoiceCall, voiceOutput } from '../bench/experiments/voice.js';
import { decodeFrame, encodeFrame, FrameReader, frameSize } from '../src/wedge/voice-frame.js';

test('frames: round trip; a cut or changed frame fails its check; the reader finds boundaries from any offset', (t) => {
  const f = { seq: 77, sentAt: 1234.5, payload: new Uint8Array(160).fill(9) };
  const bytes = encodeFrame(f);
  t.is(bytes.length, frameSize(160));
  t.deepEqual(decodeFrame(bytes, 160), { seq: 77, sentAt: 1234.5, payload: f.payload });
  const changed = bytes.slice();
  changed[20] ^= 1;
  t.is(decodeFrame(changed, 160), undefined);
  t.is(decodeFrame(bytes.subarray(1), 160), undefined);
  // A stream of three frames read from offset 100 (inside the first): the reader skips to frame 2.
  const stream = new Uint8Array(3 * bytes.length);
  for (let i = 0; i < 3; i++) stream.set(encodeFrame({ ...f, seq: i }), i * bytes.length);
  const reader = new FrameReader(bytes.length, 100);
  const out = [...reader.push(stream.subarray(100, 250)), ...reader.push(stream.subarray(250))];
  t.deepEqual(out.map((b) => decodeFrame(b, 160)?.seq), [1, 2]);
});

for (const [kind, killAtMs] of [['sctp', 2000], ['tcp', 2000], ['sctp', 2074], ['tcp', 2074]] as const) {
  test(`${kind}: a takeover mid-call (kill at ${killAtMs} ms): no frame delivered twice, the call goes on both ways`, (t) => {
    const r = runVoiceCall({ kind, seed: 2, killAtMs });
    t.false(Number.isNaN(r.resumedAt), 'the takeover completed');
    t.is(r.clientClosed, '', 'the client connection stayed open');
    t.is(r.takerClosed, '');
    t.is(r.deliveredTwice, 0, 'no client frame delivered twice to one server');
    // A frame can reach both servers only if A received it after its last announcement reached B
    // (A never acknowledged it, so the client sends it to B too): one announcement period's worth.
    t.true(r.upstreamFrames.atBoth <= 100 / 20 + 1, `${r.upstreamFrames.atBoth} client frames reached both servers`);
    if (killAtMs === 2000) t.is(r.upstreamFrames.atBoth, 0, 'killed right after an announcement: none at both');
    t.is(r.client.duplicates, 0, 'no server frame delivered twice to the client');
    t.is(r.upstreamFrames.lostBeforeKill, 0);
    // Both directions go on after the takeover, with the delays of before.
    for (const dir of ['upstream', 'downstream'] as const) {
      t.true(r[dir].after.count >= 120, `${dir}: ${r[dir].after.count} frames after the takeover`);
      t.true(r[dir].after.max <= 10 + 1, `${dir}: after the takeover frames take ${r[dir].after.max} ms (one way is 10)`);
    }
    t.is(r.serverB.received, r.upstreamFrames.atB);
    if (kind === 'tcp') {
      // Reliable: every frame the client wrote reached a server (those at both counted once).
      t.is(r.upstreamFrames.lost, 0);
      t.is(r.upstreamFrames.atA + r.upstreamFrames.atB - r.upstreamFrames.atBoth, r.upstreamFrames.sent);
      t.is(r.client.droppedAtSender, 0);
    } else {
      // Frames sent into the dead server were abandoned after their 150 ms lifetime, not resent;
      // none arrives later than its lifetime + the send bound (200 ms) + one way.
      t.true(r.abandoned > 0, 'frames were abandoned');
      t.true(r.forwardTsnSent > 0);
      t.true(r.upstreamFrames.lost > 0);
      const worst = Math.max(...PHASES.map((p) => r.upstream[p].max));
      t.true(worst <= 150 + 200 + 10 + 1, `a client frame arrived ${worst} ms after it was sent`);
    }
    const out = voiceOutput([r], 'test');
    t.is(out.failure, undefined);
    t.is(out.rows.length, 6);
  });
}

test('sctp: a plain server that acknowledges beyond its export: the PR-SCTP client skips the gap with FORWARD-TSN instead of closing', (t) => {
  const r = runVoiceCall({ kind: 'sctp', seed: 3, holdAcks: false, announceMs: 500 });
  t.is(r.clientClosed, '', 'not BATON_ERR_PROTOCOL');
  t.false(Number.isNaN(r.resumedAt));
  t.true(r.upstream.after.count >= 120, 'client frames reach the taker');
  t.true(r.downstream.after.count >= 120);
  t.is(r.deliveredTwice, 0);
});

test('sctp: the same without PR-SCTP on the client ends with BATON_ERR_PROTOCOL (why the hold or PR-SCTP is needed)', (t) => {
  const r = runVoiceCall({ kind: 'sctp', seed: 3, holdAcks: false, announceMs: 500, clientPr: false });
  t.is(r.clientClosed, 'BATON_ERR_PROTOCOL');
});

test('sctp: a client without PR-SCTP and servers that hold acknowledgements: reliable, every frame at one server', (t) => {
  const r = runVoiceCall({ kind: 'sctp', seed: 4, clientPr: false });
  t.is(r.clientClosed, '');
  t.false(Number.isNaN(r.resumedAt));
  t.is(r.abandoned, 0);
  t.is(r.upstreamFrames.atBoth, 0, 'killed right after an announcement: none at both');
  t.is(r.upstreamFrames.atA + r.upstreamFrames.atB, r.upstreamFrames.sent, 'every frame handed to SCTP arrived once');
  t.true(r.upstream.after.count >= 120 && r.downstream.after.count >= 120);
});

test('a lossy call (2% each way) through a takeover, both transports: no duplicate, the call goes on', (t) => {
  for (const kind of ['sctp', 'tcp'] as const) {
    const r = runVoiceCall({ kind, seed: 5, loss: 0.02 });
    t.is(r.clientClosed, '', kind);
    t.false(Number.isNaN(r.resumedAt), kind);
    t.is(r.deliveredTwice + r.client.duplicates, 0, kind);
    t.true(r.upstream.after.count >= 100 && r.downstream.after.count >= 100, `${kind}: ${r.upstream.after.count} / ${r.downstream.after.count}`);
  }
});

test('sctp: the client misses some of the dead server\'s last frames (holes): the taker skips them with FORWARD-TSN and resumes', (t) => {
  const r = runVoiceCall({ kind: 'sctp', seed: 1, lossBeforeKill: 0.5 });
  t.false(Number.isNaN(r.resumedAt));
  t.is(r.clientClosed, '');
  t.true(r.takerForwardTsnSent > 0, 'the taker sent a FORWARD-TSN over the holes');
  t.true(r.client.received < r.downstreamSent.before + r.downstreamSent.during + r.downstreamSent.after, 'frames were lost before the kill');
  t.is(r.client.duplicates, 0);
  t.true(r.downstream.after.count >= 120 && r.upstream.after.count >= 120);
});

// The same holes with a client without PR-SCTP (the taker fills them): test/voice-ordered.test.ts.
