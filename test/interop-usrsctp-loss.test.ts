// baton and usrsctp recovering each other's losses: every datagram goes through a relay on
// 127.0.0.1 that drops 3 % of them each way (seeded), so both stacks' SACK gap blocks, fast
// retransmits and T3 timeouts are read and answered by the other side. Bytes checked.
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { RealEndpoint } from './helpers/baton-real.js';
import { spawnProcess } from './helpers/process.js';
import { freeWildcardUdpPorts, waitForUdpPortBound } from './helpers/ports.js';
import { startLossyRelay } from './helpers/lossy-relay.js';
import { USRSCTP, TSCTP_SERVER_SUMMARY } from './helpers/peers.js';

const LO = '127.0.0.1';
const LOSS = 0.03;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('baton client ⇄ usrsctp echo_server through 3 % loss each way: 400 kB echoed intact', async (t) => {
  const [usrsctpEncap] = await freeWildcardUdpPorts(1);
  const relay = await startLossyRelay({ target: { address: LO, port: usrsctpEncap! }, loss: LOSS, seed: 7, spare: 4 });
  t.teardown(() => relay.close());
  // echo_server answers to the relay's back socket (its remote encapsulation port).
  spawnProcess(USRSCTP.echoServer, [String(usrsctpEncap), String(relay.back.port)], { t, lineBuffered: true, name: 'echo_server' });
  await waitForUdpPortBound(usrsctpEncap!);
  const baton = await RealEndpoint.open({ local: { address: LO, port: 0 }, rtoMin: 200, t });
  const conn = await baton.connectEstablished(relay.front, 7);
  const data = randomBytes(400_000);
  conn.send(data);
  await conn.waitBytes(data.length, 90_000);
  t.is(conn.receivedHash(), sha(data));
  t.true(relay.stats.dropped > 10, `the relay dropped ${relay.stats.dropped} datagrams`);
  conn.close();
  await conn.waitClosed(30_000);
  t.is(conn.closeError?.error, undefined, conn.log.join(','));
});

test('usrsctp tsctp client → baton server through 3 % loss each way: 3000 × 1400 bytes arrive', async (t) => {
  const [clientEncap] = await freeWildcardUdpPorts(1);
  const baton = await RealEndpoint.open({ local: { address: LO, port: 0 }, listen: true, rtoMin: 200, t });
  const relay = await startLossyRelay({ target: baton.address, loss: LOSS, seed: 11, spare: 4 });
  t.teardown(() => relay.close());
  const count = 3000;
  const tsctp = spawnProcess(
    USRSCTP.tsctp,
    ['-E', String(clientEncap), '-U', String(relay.front.port), '-L', LO, '-p', String(baton.address.port), '-l', '1400', '-n', String(count), LO],
    { t, stdout: 'ignore', name: 'tsctp client', timeoutMs: 120_000 },
  );
  const conn = await baton.accept(20_000);
  await conn.waitEnded(90_000);
  t.is(conn.receivedBytes, 1400 * count);
  t.true(conn.received.every((b) => b === 0x62));
  t.true(relay.stats.dropped > 10, `the relay dropped ${relay.stats.dropped} datagrams`);
  t.is((await tsctp.waitForExit(30_000)).code, 0);
});

test('baton client → usrsctp tsctp server through 3 % loss each way: the server counts every byte', async (t) => {
  const [usrsctpEncap] = await freeWildcardUdpPorts(1);
  const relay = await startLossyRelay({ target: { address: LO, port: usrsctpEncap! }, loss: LOSS, seed: 13, spare: 4 });
  t.teardown(() => relay.close());
  const server = spawnProcess(USRSCTP.tsctp, ['-E', String(usrsctpEncap), '-L', LO, '-p', '5001'], {
    t,
    lineBuffered: true,
    keepBytes: 1 << 20,
    name: 'tsctp server',
  });
  await waitForUdpPortBound(usrsctpEncap!);
  const baton = await RealEndpoint.open({ local: { address: LO, port: 0 }, rtoMin: 200, t });
  const conn = await baton.connectEstablished(relay.front, 5001);
  const total = 2_000_000;
  conn.send(randomBytes(total));
  conn.close();
  await conn.waitClosed(90_000);
  t.is(conn.closeError?.error, undefined, conn.log.join(','));
  const m = await server.waitForLine(TSCTP_SERVER_SUMMARY, 20_000);
  t.is(Number(m[4]), total, 'bytes the tsctp server received');
  t.true(relay.stats.dropped > 10, `the relay dropped ${relay.stats.dropped} datagrams`);
});

// usrsctp sends at most Max.Burst (4) packets more per SACK it receives. RFC 9260 §6.2: a receiver
// SHOULD SACK at least every second packet. usrsctp does; if baton SACKs less often (say once per
// burst of 5 it reads in one go), one lost SACK leaves usrsctp with nothing to clock on until its
// T3 timer (RTO.Min 1 s) fires. So: the same transfer through the same lossy relay, once into a
// usrsctp receiver and once into baton; baton may be a little slower, not an order of magnitude.

