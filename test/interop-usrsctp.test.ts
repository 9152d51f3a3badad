// baton's SCTP over UDP (RFC 6951) against usrsctp's example programs from Debian
// (libusrsctp-examples, /usr/lib/usrsctp/), as client and as server; bytes intact both ways.
// Everything on 127.0.0.1 (usrsctp binds its UDP socket to the wildcards, ports from
// freeWildcardUdpPorts), every process in its own group, killed at teardown.
import test from 'ava';
import { randomBytes, createHash } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealEndpoint } from './helpers/baton-real.js';
import { spawnProcess } from './helpers/process.js';
import { freeWildcardUdpPorts, waitForUdpPortBound } from './helpers/ports.js';
import { USRSCTP, TSCTP_SERVER_SUMMARY } from './helpers/peers.js';

const LO = '127.0.0.1';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('baton client → usrsctp echo_server: 200 kB echoed back intact, clean shutdown', async (t) => {
  const [usrsctpEncap, batonPort] = await freeWildcardUdpPorts(2);
  // echo_server local_encaps remote_encaps: it sends to batonPort (its remote encapsulation port).
  const server = spawnProcess(USRSCTP.echoServer, [String(usrsctpEncap), String(batonPort)], { t, lineBuffered: true, name: 'echo_server' });
  await waitForUdpPortBound(usrsctpEncap!);
  const baton = await RealEndpoint.open({ local: { address: LO, port: batonPort! }, t });
  const conn = await baton.connectEstablished({ address: LO, port: usrsctpEncap! }, 7);
  const data = randomBytes(200_000);
  conn.send(data);
  await conn.waitBytes(data.length, 30_000);
  t.is(conn.receivedBytes, data.length);
  t.is(conn.receivedHash(), sha(data));
  conn.close();
  await conn.waitClosed();
  t.is(conn.closeError?.error, undefined, `closed with an error: ${conn.log.join(',')}`);
  // echo_server saw complete messages from us (each DATA chunk is one message in stream mode).
  await server.waitForLine(/^Msg of length \d+ received from ::ffff:127\.0\.0\.1:\d+ .*complete 1\.$/);
});

test('baton client → usrsctp discard_server: every byte counted by the server', async (t) => {
  const [usrsctpEncap, batonPort] = await freeWildcardUdpPorts(2);
  const dir = mkdtempSync(join(tmpdir(), 'baton-discard-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'discard.out');
  // discard_server prints SCTP_DEBUG_ALL lines on stdout: keep them in a file, line-buffered.
  const server = spawnProcess(USRSCTP.discardServer, [String(usrsctpEncap), String(batonPort)], {
    t,
    lineBuffered: true,
    stdout: { file: out },
    name: 'discard_server',
  });
  await waitForUdpPortBound(usrsctpEncap!);
  const baton = await RealEndpoint.open({ local: { address: LO, port: batonPort! }, t });
  const conn = await baton.connectEstablished({ address: LO, port: usrsctpEncap! }, 9);
  const total = 300_000;
  conn.send(randomBytes(total));
  conn.close();
  await conn.waitClosed(30_000);
  t.is(conn.closeError?.error, undefined, `closed with an error: ${conn.log.join(',')}`);
  await server.kill();
  // "Msg of length N received from ... complete 1." — complete 0 lines are partial reads.
  const text = readFileSync(out, 'latin1');
  let counted = 0;
  for (const m of text.matchAll(/Msg of length (\d+) received from [^\n]*?complete [01]\./g)) counted += Number(m[1]);
  t.is(counted, total);
});

test('usrsctp client → baton server (echo): lines come back, client shuts down cleanly', async (t) => {
  const [clientEncap] = await freeWildcardUdpPorts(1);
  const baton = await RealEndpoint.open({ local: { address: LO, port: 0 }, listen: true, t });
  baton.echoAccepted = true;
  const batonPort = baton.address.port;
  const client = spawnProcess(USRSCTP.client, [LO, String(batonPort), '0', String(clientEncap), String(batonPort)], {
    t,
    stdin: 'pipe',
    lineBuffered: true,
    name: 'client',
  });
  await client.waitForLine(/SCTP_COMM_UP/);
  const conn = await baton.accept();
  const lines = ['first line from usrsctp', 'a second, different line', 'x'.repeat(79)];
  for (const l of lines) client.write(l + '\n');
  // fgets(80) splits the 79 x's and the newline into two messages.
  for (const l of lines) await client.waitForLine(new RegExp(`^${l}$`));
  client.endInput();
  await client.waitForLine(/SCTP_SHUTDOWN_COMP/);
  t.is((await client.waitForExit(10_000)).code, 0);
  await conn.waitClosed();
  t.is(conn.received.toString('latin1'), lines.map((l) => l + '\n').join(''));
  t.is(conn.closeError?.error, undefined, conn.log.join(','));
});

test('usrsctp tsctp client → baton server: 2000 messages of 1400 bytes arrive intact', async (t) => {
  const [clientEncap] = await freeWildcardUdpPorts(1);
  const baton = await RealEndpoint.open({ local: { address: LO, port: 0 }, listen: true, t });
  const batonPort = baton.address.port;
  const count = 2000;
  const tsctp = spawnProcess(
    USRSCTP.tsctp,
    ['-E', String(clientEncap), '-U', String(batonPort), '-L', LO, '-p', String(batonPort), '-l', '1400', '-n', String(count), LO],
    { t, stdout: 'ignore', name: 'tsctp client', timeoutMs: 60_000 },
  );
  const conn = await baton.accept();
  await conn.waitEnded(30_000);
  t.is(conn.receivedBytes, 1400 * count);
  t.true(conn.received.every((b) => b === 0x62), "tsctp sends the byte 'b' only");
  t.is((await tsctp.waitForExit(20_000)).code, 0);
});

test('baton client → usrsctp tsctp server: the server counts every byte', async (t) => {
  const [usrsctpEncap, batonPort] = await freeWildcardUdpPorts(2);
  const sctpPort = 5001;
  const server = spawnProcess(USRSCTP.tsctp, ['-E', String(usrsctpEncap), '-L', LO, '-p', String(sctpPort)], {
    t,
    lineBuffered: true,
    stdout: 'pipe',
    keepBytes: 1 << 20,
    name: 'tsctp server',
  });
  await waitForUdpPortBound(usrsctpEncap!);
  const baton = await RealEndpoint.open({ local: { address: LO, port: batonPort! }, t });
  const conn = await baton.connectEstablished({ address: LO, port: usrsctpEncap! }, sctpPort);
  const total = 1_000_000;
  conn.send(randomBytes(total));
  conn.close();
  await conn.waitClosed(30_000);
  const m = await server.waitForLine(TSCTP_SERVER_SUMMARY, 15_000);
  t.is(Number(m[4]), total, 'bytes the tsctp server received');
});

for (const { name, args, count, length } of [
  { name: 'unordered (U bit) 1400-byte messages', args: ['-u'], count: 2000, length: 1400 },
  { name: 'fragmented 20 000-byte messages (B/E bits over 14+ DATA chunks)', args: [], count: 150, length: 20_000 },
]) {
  test(`usrsctp tsctp client → baton server: ${name} arrive complete`, async (t) => {
    const [clientEncap] = await freeWildcardUdpPorts(1);
    const baton = await RealEndpoint.open({ local: { address: LO, port: 0 }, listen: true, t });
    const batonPort = baton.address.port;
    const tsctp = spawnProcess(
      USRSCTP.tsctp,
      ['-E', String(clientEncap), '-U', String(batonPort), '-L', LO, '-p', String(batonPort), '-l', String(length), '-n', String(count), ...args, LO],
      { t, stdout: 'ignore', name: 'tsctp client', timeoutMs: 60_000 },
    );
    const conn = await baton.accept();
    await conn.waitEnded(30_000);
    t.is(conn.receivedBytes, length * count);
    t.true(conn.received.every((b) => b === 0x62));
    t.is((await tsctp.waitForExit(20_000)).code, 0);
  });
}
