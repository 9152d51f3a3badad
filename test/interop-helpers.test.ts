// The interop harness itself: process groups die on timeout, free ports bind, tshark's verdicts
// are read right (good, bad checksum, malformed), and the third-party peers work against
// themselves here (node `sctp` in UDP mode, usrsctp's client/echo_server and tsctp), so an interop
// failure with baton is baton's, not the harness's.
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../src/sim/pcap.js';
import { crc32c } from '../src/sctp/wire/crc32c.js';
import { spawnProcess, runToExit } from './helpers/process.js';
import { freeUdpPort, freeUdpPorts, freeWildcardUdpPorts, usableLoopbackAddresses, waitForUdpPortBound } from './helpers/ports.js';
import { decodeSctpCapture } from './helpers/tshark.js';
import { TSCTP_SERVER_SUMMARY, USRSCTP, nodeSctpPeerArgs } from './helpers/peers.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-interop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Running (a zombie waiting for a reaper counts as gone: it holds no resources but its pid). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('process: collects lines, waits for one, reports the exit code', async (t) => {
  const p = spawnProcess(process.execPath, ['-e', 'console.log("READY 42"); console.error("warn"); process.exit(3)'], { t });
  const m = await p.waitForLine(/^READY (\d+)$/);
  t.is(m[1], '42');
  const status = await p.waitForExit();
  t.is(status.code, 3);
  t.regex(p.stderr, /warn/);
});

test('process: the life timeout kills the whole process group, background children included', async (t) => {
  // 3 s: time for a loaded machine to start sh and print the line before the life timeout kills it.
  const p = spawnProcess('sh', ['-c', 'sleep 60 & echo "CHILD $!"; sleep 60'], { t, timeoutMs: 3000 });
  const m = await p.waitForLine(/^CHILD (\d+)$/);
  const child = Number(m[1]);
  t.true(alive(child));
  const status = await p.waitForExit(10_000);
  t.is(status.signal, 'SIGKILL');
  t.true(p.wasTimedOut);
  // The background sleep was in the same group: it is gone too (allow the kernel a moment to reap).
  for (let i = 0; i < 50 && alive(child); i++) await new Promise((r) => setTimeout(r, 20));
  t.false(alive(child));
});

test('process: waitForLine rejects with the output when the process exits first', async (t) => {
  const p = spawnProcess(process.execPath, ['-e', 'console.log("something else")'], { t });
  const error = await t.throwsAsync(p.waitForLine(/^NEVER$/, 5000));
  t.regex(error!.message, /something else/);
});

test('ports: free ports bind on 127.0.0.1 and on the wildcards; 127.0.0.2-9 are usable', async (t) => {
  const port = await freeUdpPort('127.0.0.1');
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
  t.is(socket.address().port, port);
  socket.close();
  const ports = await freeUdpPorts(3);
  t.is(new Set(ports).size, 3);
  const wild = await freeWildcardUdpPorts(2);
  t.is(new Set(wild).size, 2);
  await t.throwsAsync(freeUdpPort('10.0.0.1'), { message: /127\.0\.0\.0\/8/ });
  const usable = await usableLoopbackAddresses(2, 9);
  // Linux routes all of 127.0.0.0/8 to lo: the multi-server tests rely on it.
  t.deepEqual(usable, ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9']);
});

/** An SCTP packet with one INIT chunk and its CRC32c (little-endian in the header, as on the wire). */
function sctpInit(tag: number, chunkLength = 20): Uint8Array {
  const p = new Uint8Array(32);
  const v = new DataView(p.buffer);
  v.setUint16(0, 5000);
  v.setUint16(2, 5001);
  v.setUint32(4, 0);
  v.setUint8(12, 1);
  v.setUint16(14, chunkLength);
  v.setUint32(16, tag);
  v.setUint32(20, 65536);
  v.setUint16(24, 10);
  v.setUint16(26, 10);
  v.setUint32(28, 1);
  v.setUint32(8, crc32c(p), true);
  return p;
}

test('tshark: a good INIT decodes clean; a bad CRC32c and a truncated chunk are flagged', async (t) => {
  const dir = tempDir(t);
  const pcap = new PcapWriter();
  const a = { address: '127.0.0.1', port: 9899 };
  const b = { address: '127.0.0.2', port: 9899 };
  pcap.add(0, a, b, sctpInit(1));
  const bad = sctpInit(2);
  bad[8]! ^= 0xff;
  pcap.add(1, a, b, bad);
  pcap.add(2, a, b, sctpInit(3, 40)); // chunk length beyond the packet
  const file = join(dir, 'crafted.pcap');
  writeFileSync(file, pcap.toBuffer());
  const d = await decodeSctpCapture(file, { udpPorts: [9899] });
  t.is(d.frames.length, 3);
  t.deepEqual(d.frames[0]!.chunkTypes, [1]);
  t.is(d.frames[0]!.checksum, 'good');
  t.deepEqual(d.frames[0]!.expert, []);
  t.is(d.frames[0]!.source, '127.0.0.1');
  t.deepEqual(d.badChecksumFrames, [2]);
  t.deepEqual(d.malformedFrames, [3]);
  t.deepEqual(d.nonSctpFrames, []);
  t.true(d.problems.some((p) => p.frame === 2 && p.group === 'checksum' && p.severity === 'error'));
  t.true(d.problems.some((p) => p.frame === 3 && p.group === 'malformed'));
});

test('node sctp peer (UDP mode) echoes a file to itself intact', async (t) => {
  const dir = tempDir(t);
  const data = randomBytes(200_000);
  const file = join(dir, 'data.bin');
  writeFileSync(file, data);
  const hash = createHash('sha256').update(data).digest('hex');
  const [sPort, cPort] = [await freeUdpPort('127.0.0.2'), await freeUdpPort('127.0.0.3')];
  const server = spawnProcess(
    process.execPath,
    nodeSctpPeerArgs({ role: 'server', local: { address: '127.0.0.2', port: sPort! }, peer: { address: '127.0.0.3', port: cPort! }, echo: true }),
    { t, name: 'node-sctp server', timeoutMs: 30_000 },
  );
  await server.waitForLine(/^LISTENING /);
  const client = spawnProcess(
    process.execPath,
    nodeSctpPeerArgs({ role: 'client', local: { address: '127.0.0.3', port: cPort! }, peer: { address: '127.0.0.2', port: sPort! }, send: file, expect: data.length }),
    { t, name: 'node-sctp client', timeoutMs: 30_000 },
  );
  const got = await client.waitForLine(/^HASH ([0-9a-f]+) (\d+)$/, 20_000);
  t.is(got[2], String(data.length));
  t.is(got[1], hash);
  const echoed = await server.waitForLine(/^HASH ([0-9a-f]+) (\d+)$/, 20_000);
  t.is(echoed[1], hash);
  t.is((await client.waitForExit(10_000)).code, 0);
  t.is((await server.waitForExit(10_000)).code, 0);
});

// usrsctp's client and echo_server bind the wildcard address, list every address of the host in
// INIT / INIT ACK and heartbeat them all (192.0.2.x, fd00::...). So this self-test runs both in a
// network namespace of its own where only lo exists (root needed, as in CI): then they can only
// talk on 127.0.0.1 and ::1, and fixed ports cannot collide with anything.
test('usrsctp client and echo_server (UDP encapsulation, private netns with lo only) echo lines', async (t) => {
  const lines = ['hello usrsctp', 'second line, a bit longer than the first one'];
  const script = [
    'ip link set lo up',
    `${USRSCTP.echoServer} 9899 9900 > /dev/null 2>&1 & S=$!`,
    // wait for the UDP socket of usrsctp_init (port 9899 = 0x26AB) in this namespace's table
    "i=0; while ! grep -q ':26AB ' /proc/net/udp; do sleep 0.02; i=$((i+1)); [ $i -gt 250 ] && exit 3; done",
    'sleep 0.3', // bound is not yet listening: give it a moment (the client does not retry)
    `{ printf '${lines.join('\\n')}\\n'; sleep 1; } | stdbuf -oL ${USRSCTP.client} 127.0.0.1 7 0 9900 9899`,
    'rc=$?; kill $S; exit $rc',
  ].join('\n');
  const p = spawnProcess('unshare', ['-n', 'sh', '-c', script], { t, name: 'usrsctp in netns', timeoutMs: 30_000 });
  const status = await p.waitForExit(25_000);
  t.is(status.code, 0, p.describe());
  for (const l of lines) t.true(p.lines.includes(l), `echoed: ${l}`);
  t.regex(p.stdout, /Association change SCTP_COMM_UP/);
  t.regex(p.stdout, /Association change SCTP_SHUTDOWN_COMP/);
  // Only loopback exists here, so only loopback addresses are in the association.
  t.regex(p.stdout, /^Peer addresses: 127\.0\.0\.1, ::1\.$|^Peer addresses: ::1, 127\.0\.0\.1\.$/m);
});

test('usrsctp tsctp sends a counted run of 1400-byte messages to a tsctp server', async (t) => {
  const [serverEncap, clientEncap] = await freeWildcardUdpPorts(2);
  const sctpPort = 5001 + Math.floor(Math.random() * 1000);
  const server = spawnProcess(USRSCTP.tsctp, ['-E', String(serverEncap), '-L', '127.0.0.1', '-p', String(sctpPort)], {
    t,
    lineBuffered: true,
    name: 'tsctp server',
    keepBytes: 1 << 20,
  });
  await waitForUdpPortBound(serverEncap!);
  // The client's stdout is a flood of usrsctp debug lines (Debian builds with SCTP_DEBUG): drop it.
  // A server that has bound its UDP port may not listen yet: a refused client exits 1, so retry.
  let run = { status: { code: -1, signal: null } as { code: number | null; signal: NodeJS.Signals | null }, stderr: '' };
  for (let attempt = 0; attempt < 3; attempt++) {
    run = await runToExit(
      USRSCTP.tsctp,
      ['-E', String(clientEncap), '-U', String(serverEncap), '-L', '127.0.0.1', '-p', String(sctpPort), '-l', '1400', '-n', '2000', '127.0.0.1'],
      { t, stdout: 'ignore', timeoutMs: 30_000, name: 'tsctp client' },
    );
    if (run.status.code === 0 || !/Connection refused/.test(run.stderr)) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  t.is(run.status.code, 0, run.stderr);
  // Receiver summary: length, messages, recv calls, bytes, seconds, B/s, notifications.
  const m = await server.waitForLine(TSCTP_SERVER_SUMMARY, 15_000);
  t.is(m[1], '1400');
  t.is(m[2], '2000');
  t.is(m[4], String(1400 * 2000));
});
