// One wedge serving HTTP and telephony calls together (src/wedge/service-dispatch.ts, `baton serve
// --service http,voice`), in the simulator on TCP-Migrate: two wedges, a download and a call to
// w1 at once, each connection dispatched by its first byte (0x00: a call; anything else, such as
// an HTTP method or the CR LF a client may send before one, HTTP); w1 killed mid-way, w2 takes
// both over (the call by its announced `baton-voice` mapping, the download by its HTTP mapping):
// the download completes byte-exact, the call goes on both ways with no frame twice. Virtual time.
import test from 'ava';
import type { Session } from '../src/wedge/session.js';
import { httpAndVoiceService } from '../src/wedge/service-dispatch.js';
import { VoiceCaller } from '../src/wedge/voice-caller.js';
import { VOICE_ANNOUNCE_MS, VOICE_PROTOCOL, voiceService } from '../src/wedge/voice-service.js';
import { makeFile, sha256 } from './conformance/world.js';
import { get, WedgeWorld } from './wedge-sim-world.js';

const FRAMES = 150; // 3 s of call
const KILL_AT = 1000;

test('tcp: one wedge serves a download and a call, dispatched by their first bytes; both are taken over when it dies', async (t) => {
  const world = new WedgeWorld({ kind: 'tcp', seed: 17, wedges: 2, updateMs: VOICE_ANNOUNCE_MS, rate: 200_000, service: httpAndVoiceService(voiceService()) });
  const object = makeFile(500_000, 17); // 2.5 s at the backend's 200 kB/s
  await world.startAll(new Map([['/big.bin', object]]));
  const download = world.client('w1', [get('/big.bin', true)]);
  // A request after the empty line RFC 9112 §2.2 allows: still HTTP.
  const small = world.client('w1', [`\r\n${get('/small.bin', true)}`]);
  world.backends.get('w1')!.put('/small.bin', makeFile(1000, 3));
  const caller = await VoiceCaller.start({ runtime: world.sim, kind: 'tcp', local: { address: '10.0.0.1', port: 0 }, server: world.serverAddress('w1'), random: world.net.deriveRandom('caller'), frames: FRAMES, rtoMin: 200 });
  world.net.run(KILL_AT);
  const protocols = [...world.wedge('w1').sessions.values()].map((s) => (s as Session).state(world.net.now).stream?.applicationProtocol).sort();
  t.deepEqual(protocols, [VOICE_PROTOCOL, 'http/1.1'], 'w1 serves the download as HTTP and the call as a call (the small request is over)');
  t.is(small.responses()[0]?.status, 200, 'a request after an empty line is HTTP');
  t.true(download.received > 10_000 && !download.closed, `the download is under way: ${download.received} bytes`);
  t.true(caller.call.stats.received >= 40, `${caller.call.stats.received} server frames before the kill`);
  world.net.kill('w1');
  t.true(world.net.runUntil(() => caller.over && download.closed, 30_000), 'the call and the download both ended');
  world.net.run(world.net.now + 500);
  const won = world.events('takeover-won');
  t.deepEqual(won.map((w) => w.server), ['w2', 'w2'], 'w2 took both connections over');
  t.is(download.collector.closed?.error, undefined);
  t.is(sha256(download.responses()[0]!.body), sha256(object), 'the download, byte-exact across the takeover');
  const r = caller.report();
  t.is(r.closed, '', 'the call did not break');
  t.is(r.takeovers, 1);
  t.is(r.duplicates, 0, 'no server frame twice');
  t.true(r.echoed >= FRAMES - 5, `w2 echoes the client's frames to the end: ${r.echoed}`);
  t.log(`takeovers ${won.map((w) => w.time - KILL_AT).join(', ')} ms after the kill; server frames lost ${r.lost}`);
  await caller.close();
});

test('baton serve --service http,voice: both kinds on TCP-Migrate with a backend and 100 ms announcements; refused on SCTP', async (t) => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { parseServeConfig } = await import('../src/cli/serve.js');
  const dir = mkdtempSync(join(tmpdir(), 'baton-dispatch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'group.key'), `${'2e'.repeat(32)}\n`, { mode: 0o600 });
  const flags = { transport: 'tcp', listen: '127.0.0.2', backend: 'http://127.0.0.1:8080', service: 'voice,http', peers: 'a@127.0.0.2', registryTtl: '5', takeoverPolicy: 'backoff', weight: '1', poolHandle: 'baton', softStatePort: '9897', groups: '1', groupKey: join(dir, 'group.key'), cacheTimeout: '10', deadAfter: '3', health: 'heartbeat', headTimeout: '30', idleTimeout: '60', log: 'json' };
  const config = parseServeConfig(flags);
  t.is(config.service, 'http,voice');
  t.is(config.updateMs, 100, 'a wedge hosting calls announces every 100 ms');
  t.throws(() => parseServeConfig({ ...flags, transport: 'sctp' }), { code: 'BATON_ERR_USAGE', message: /--service http,voice needs --transport tcp/ } as never);
  t.throws(() => parseServeConfig({ ...flags, backend: undefined }), { message: /--backend <URL>' not specified \(with --service http,voice\)/ } as never);
  t.throws(() => parseServeConfig({ ...flags, service: 'http,ftp' }), { message: /--service must be http, voice or http,voice/ } as never);
});
