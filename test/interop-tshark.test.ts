// tshark (Debian) decodes real captures of baton's SCTP over UDP (RFC 6951), taken with dumpcap on
// lo, with CRC32c validation on: every frame is SCTP, none is malformed, no checksum is bad, and
// tshark raises no warning or error. Once baton ↔ baton, once baton ↔ usrsctp (whose INIT carries
// AUTH, ASCONF and address parameters baton must parse and answer).
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealEndpoint } from './helpers/baton-real.js';
import { spawnProcess } from './helpers/process.js';
import { freeUdpPort, freeWildcardUdpPorts, waitForUdpPortBound } from './helpers/ports.js';
import { USRSCTP } from './helpers/peers.js';
import { CHUNK_NAMES, captureLoopback, decodeSctpCapture, describeSctpCapture, type TsharkDecode } from './helpers/tshark.js';

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-tshark-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function chunkNames(d: TsharkDecode): Set<string> {
  return new Set(d.frames.flatMap((f) => f.chunkTypes.map((c) => CHUNK_NAMES[c] ?? `type ${c}`)));
}

async function assertClean(t: ExecutionContext, file: string, ports: number[], d: TsharkDecode): Promise<void> {
  const detail = async (): Promise<string> => (await describeSctpCapture(file, ports)).slice(0, 20_000);
  t.true(d.frames.length > 0, 'the capture has frames');
  t.deepEqual(d.nonSctpFrames, [], 'every frame decodes as SCTP');
  t.deepEqual(d.malformedFrames, [], d.malformedFrames.length ? await detail() : 'no malformed frame');
  t.deepEqual(d.badChecksumFrames, [], 'no bad CRC32c');
  t.true(
    d.frames.every((f) => f.checksum === 'good'),
    'tshark verified every CRC32c',
  );
  t.deepEqual(
    d.problems.map((p) => `frame ${p.frame}: ${p.severity}/${p.group}: ${p.message}`),
    [],
    'no expert warnings or errors',
  );
}

test('tshark decodes a baton ↔ baton association over UDP cleanly (handshake, data, shutdown)', async (t) => {
  const dir = tempDir(t);
  const [aPort, bPort] = [await freeUdpPort('127.0.0.2'), await freeUdpPort('127.0.0.3')];
  const file = join(dir, 'baton.pcapng');
  const capture = await captureLoopback(file, [aPort, bPort], { t });
  const server = await RealEndpoint.open({ local: { address: '127.0.0.3', port: bPort }, listen: true, t });
  server.echoAccepted = true;
  const client = await RealEndpoint.open({ local: { address: '127.0.0.2', port: aPort }, t });
  const conn = client.connect(server.address, server.address.port);
  await conn.waitConnected();
  const data = randomBytes(60_000);
  conn.send(data);
  await conn.waitBytes(data.length);
  t.true(conn.received.equals(data));
  conn.close();
  await conn.waitClosed();
  await capture.stop();
  const d = await decodeSctpCapture(file, { udpPorts: [aPort, bPort] });
  await assertClean(t, file, [aPort, bPort], d);
  const names = chunkNames(d);
  for (const c of ['INIT', 'INIT_ACK', 'COOKIE_ECHO', 'COOKIE_ACK', 'DATA', 'SACK', 'SHUTDOWN', 'SHUTDOWN_ACK', 'SHUTDOWN_COMPLETE']) {
    t.true(names.has(c), `capture holds ${c} (has ${[...names].join(' ')})`);
  }
  t.true(d.frames.every((f) => f.source.startsWith('127.0.0.') && f.destination.startsWith('127.0.0.')), 'loopback only');
});

/** baton client ↔ usrsctp echo_server on 127.0.0.1 for a while (heartbeats included), captured on lo. */
async function captureWithUsrsctp(t: ExecutionContext, idleMs = 0) {
  const dir = tempDir(t);
  const [usrsctpEncap, batonPort] = await freeWildcardUdpPorts(2);
  const file = join(dir, 'usrsctp.pcapng');
  const capture = await captureLoopback(file, [usrsctpEncap!, batonPort!], { t });
  spawnProcess(USRSCTP.echoServer, [String(usrsctpEncap), String(batonPort)], { t, lineBuffered: true, name: 'echo_server' });
  await waitForUdpPortBound(usrsctpEncap!);
  const baton = await RealEndpoint.open({ local: { address: '127.0.0.1', port: batonPort! }, t });
  const conn = await baton.connectEstablished({ address: '127.0.0.1', port: usrsctpEncap! }, 7);
  const data = randomBytes(30_000);
  conn.send(data);
  await conn.waitBytes(data.length);
  // Stay associated a while: path confirmation (HEARTBEATs to unconfirmed addresses) happens then.
  if (idleMs > 0) await new Promise((r) => setTimeout(r, idleMs));
  conn.close();
  await conn.waitClosed();
  await capture.stop();
  const ports = [usrsctpEncap!, batonPort!];
  return { file, ports, batonPort: batonPort!, d: await decodeSctpCapture(file, { udpPorts: ports }) };
}

test('tshark decodes a baton ↔ usrsctp echo_server association cleanly', async (t) => {
  const { file, ports, d } = await captureWithUsrsctp(t);
  // usrsctp heartbeats every address of the host (192.0.2.x, fd00::, ...), all on lo.
  await assertClean(t, file, ports, d);
  const names = chunkNames(d);
  for (const c of ['INIT', 'INIT_ACK', 'COOKIE_ECHO', 'COOKIE_ACK', 'DATA', 'SACK', 'SHUTDOWN', 'SHUTDOWN_ACK', 'SHUTDOWN_COMPLETE']) {
    t.true(names.has(c), `capture holds ${c} (has ${[...names].join(' ')})`);
  }
});

// usrsctp's INIT ACK lists every address of this host (192.0.2.2, fd00::2, ::1, 127.0.0.1).
// baton should stay in the association's scope (loopback) instead of probing the others.
test('baton talking to usrsctp on 127.0.0.1 sends only to 127.0.0.0/8', async (t) => {
  const { d, batonPort } = await captureWithUsrsctp(t, 1500);
  const fromBaton = d.frames.filter((f) => f.udpSourcePort === batonPort);
  t.true(fromBaton.length > 0);
  const outside = fromBaton.filter((f) => !f.destination.startsWith('127.')).map((f) => `frame ${f.number}: ${f.info} to ${f.destination}`);
  t.deepEqual(outside, [], 'baton sent packets outside 127.0.0.0/8');
});
