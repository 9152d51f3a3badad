// The wedge hosting calls (src/wedge/voice-service.ts, README "Telephony sessions") in the
// simulator: three (or two) wedges announcing every 100 ms, one call (VoiceCaller) to w1, w1 killed mid-call;
// the wedge's own heartbeat and backoff hand the call to a member, which continues it both ways.
import test from 'ava';
import { WedgeWorld } from '../src/sim/wedge-world.js';
import { VoiceCaller } from '../src/wedge/voice-caller.js';
import { VOICE_ANNOUNCE_MS, voiceService } from '../src/wedge/voice-service.js';

const FRAMES = 300; // 6 s
const KILL_AT = 2000;

// Two wedges: the taker has no live member left to confirm its announcements; the call's client
// frames must still be acknowledged (on TCP-Migrate they stalled before Wedge.sealed confirmed them).
for (const [kind, wedges] of [['sctp', 3], ['tcp', 3], ['sctp', 2], ['tcp', 2]] as const) {
  test(`${kind}, ${wedges} wedges: the serving wedge dies mid-call; a member takes the call over and it goes on both ways, nothing twice`, async (t) => {
    const atServer = new Map<string, number[]>();
    const world = new WedgeWorld({
      kind,
      seed: 5,
      wedges,
      updateMs: VOICE_ANNOUNCE_MS,
      service: voiceService({ onClientFrame: (owner, frame) => (atServer.get(owner) ?? atServer.set(owner, []).get(owner)!).push(frame.seq) }),
    });
    await world.startAll(new Map());
    const caller = await VoiceCaller.start({ runtime: world.sim, kind, local: { address: '10.0.0.1', port: 0 }, server: world.serverAddress('w1'), random: world.net.deriveRandom('caller'), frames: FRAMES, rtoMin: 200 });
    world.net.run(KILL_AT);
    t.is(world.wedge('w1').hosted, 1, 'w1 hosts the call');
    const beforeKill = caller.call.stats.received;
    t.true(beforeKill >= 90, `${beforeKill} server frames before the kill`);
    world.net.kill('w1');
    t.true(world.net.runUntil(() => caller.over, 20_000), 'every frame was sent');
    world.net.run(world.net.now + 1000);
    const r = caller.report();
    const won = world.events('takeover-won');
    t.is(won.length, 1, 'one member took the call over');
    const taker = won[0]!.server;
    t.is(world.wedge(taker).hosted, 1);
    t.is(r.closed, '', 'the call did not break');
    t.is(r.takeovers, 1);
    t.is(r.duplicates, 0, 'no server frame played twice');
    t.true(r.corrupt <= (kind === 'tcp' ? 1 : 0), `${r.corrupt} cut frames: at most the one cut at a TCP-Migrate takeover`);
    // The stall: from the kill to the takeover, plus a frame; the server frames of that time are
    // never sent (media time moved on), everything else arrives.
    const stallFrames = Math.ceil((won[0]!.time - KILL_AT) / 20) + 2;
    t.true(r.lost <= stallFrames, `${r.lost} server frames missing, stall ${stallFrames} frames`);
    t.true(r.received >= FRAMES - stallFrames - 10, `${r.received} server frames`);
    // The taker echoes the client's frames to the end of the call.
    t.true(r.echoed >= FRAMES - 5, `echoed up to ${r.echoed}`);
    // Client → server: no frame twice at one server; on TCP-Migrate none lost at all, on SCTP only
    // those sent while no server was alive (abandoned after their lifetime) and the send bound's.
    const w1 = atServer.get('w1') ?? [];
    const tk = atServer.get(taker) ?? [];
    for (const seqs of [w1, tk]) t.is(new Set(seqs).size, seqs.length, 'no client frame delivered twice to one server');
    const union = new Set([...w1, ...tk]);
    const both = w1.filter((s) => tk.includes(s)).length;
    t.true(both <= VOICE_ANNOUNCE_MS / 20 + 1, `${both} client frames reached both servers`);
    const lostUp = r.sent - union.size;
    if (kind === 'tcp') t.is(lostUp, 0, 'no client frame lost');
    else t.true(lostUp > 0 && lostUp <= stallFrames + (150 + 200) / 20, `${lostUp} client frames lost, stall ${stallFrames}`);
    t.true(tk.some((s) => s >= FRAMES - 2), 'the taker received the last frames');
    t.log(`${kind}: takeover ${won[0]!.time - KILL_AT} ms after the kill; server frames lost ${r.lost}, client frames lost ${lostUp}, at both ${both}, delay p50 ${r.delay.p50} p99 ${r.delay.p99} max ${r.delay.max}`);
    await caller.close();
  });
}
