// baton's SCTP over UDP against the npm `sctp` package (1.0.0, RFC 4960 in plain JS) in its UDP
// mode, run as a child process (test/helpers/node-sctp-peer.cjs). Both ways, bytes checked by hash.
// node-sctp sends every packet to one fixed UDP peer and (as a "passive" server) accepts an
// association only from the SCTP port it was told: baton's SCTP port is set to match.
import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealEndpoint } from './helpers/baton-real.js';
import { spawnProcess } from './helpers/process.js';
import { freeUdpPort } from './helpers/ports.js';
import { nodeSctpPeerArgs, type NodeSctpPeerOptions } from './helpers/peers.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const BATON = '127.0.0.2';
const NODE = '127.0.0.3';
const BATON_SCTP_PORT = 5002;
const NODE_SCTP_PORT = 5001;

function dataFile(t: { teardown(fn: () => void): void }, size: number): { file: string; data: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'baton-node-sctp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = randomBytes(size);
  const file = join(dir, 'data.bin');
  writeFileSync(file, data);
  return { file, data };
}

/**
 * A baton endpoint on BATON (listening when node-sctp is the client) and a node-sctp process in
 * `role` on a free UDP port of NODE, pointed at each other; `extra` adds the peer's options.
 */
async function batonAndNodeSctp(t: ExecutionContext, role: 'server' | 'client', extra: Partial<NodeSctpPeerOptions>) {
  const nodePort = await freeUdpPort(NODE);
  const baton = await RealEndpoint.open({ local: { address: BATON, port: 0 }, transportPort: BATON_SCTP_PORT, listen: role === 'client', t });
  const peer = spawnProcess(
    process.execPath,
    nodeSctpPeerArgs({
      role,
      local: { address: NODE, port: nodePort },
      peer: baton.address,
      localSctpPort: NODE_SCTP_PORT,
      peerSctpPort: BATON_SCTP_PORT,
      ...extra,
    }),
    { t, name: `node-sctp ${role}`, timeoutMs: 60_000 },
  );
  return { baton, peer, nodePort };
}

/** baton connects to a node-sctp echo server and sends `size` random bytes; resolves once they came back. */
async function echoThroughNodeSctp(t: ExecutionContext, size: number) {
  const { baton, peer, nodePort } = await batonAndNodeSctp(t, 'server', { echo: true });
  await peer.waitForLine(/^LISTENING \d+$/);
  const conn = baton.connect({ address: NODE, port: nodePort }, NODE_SCTP_PORT);
  await conn.waitConnected();
  await peer.waitForLine(/^CONNECTED$/);
  const data = randomBytes(size);
  conn.send(data);
  await conn.waitBytes(data.length, 30_000);
  return { conn, peer, data };
}

test('baton client → node sctp server (echo): 150 kB echoed back intact', async (t) => {
  const { conn, peer, data } = await echoThroughNodeSctp(t, 150_000);
  t.is(conn.receivedBytes, data.length);
  t.is(conn.receivedHash(), sha(data));
  // End with ABORT: node-sctp reports COMMUNICATION LOST, and its hash of what it received.
  conn.abort('test over');
  const echoed = await peer.waitForLine(/^HASH ([0-9a-f]+) (\d+)$/, 20_000);
  t.is(echoed[1], sha(data), 'node-sctp received what baton sent');
  t.is((await peer.waitForExit(10_000)).code, 0);
});

// node-sctp ignores the Cumulative TSN Ack of a SHUTDOWN and answers SHUTDOWN ACK only if all its
// DATA was already SACKed when the SHUTDOWN arrived (RFC 9260 §9.2 says: check the SHUTDOWN's
// cumulative TSN, keep sending until all is acked, then SHUTDOWN ACK). If baton's SACK for
// node-sctp's last DATA is still delayed when baton sends SHUTDOWN, node-sctp never answers.
// baton interoperates if it bundles the owed SACK in front of its SHUTDOWN (see notes/interop.md).
test('baton client → node sctp server: graceful close while a SACK for node-sctp data is owed', async (t) => {
  // Round 1: the first DATA of an association is SACKed at once. Round 2: one DATA packet from
  // node-sctp, whose SACK baton delays (up to 200 ms) — and baton closes right then.
  const { conn, peer, data } = await echoThroughNodeSctp(t, 100);
  const second = randomBytes(100);
  conn.send(second);
  await conn.waitBytes(data.length + second.length, 10_000);
  conn.close();
  await conn.waitClosed(10_000);
  t.is(conn.closeError?.error, undefined, conn.log.join(','));
  const echoed = await peer.waitForLine(/^HASH ([0-9a-f]+) (\d+)$/, 10_000);
  t.is(echoed[1], sha(Buffer.concat([data, second])), 'node-sctp received what baton sent');
  t.is((await peer.waitForExit(10_000)).code, 0);
});

test('node sctp client → baton server: a 300 kB file arrives intact, node-sctp closes', async (t) => {
  const { file, data } = dataFile(t, 300_000);
  const { baton, peer } = await batonAndNodeSctp(t, 'client', { send: file, closeAfterSend: true });
  const conn = await baton.accept(15_000);
  await conn.waitEnded(30_000);
  t.is(conn.receivedBytes, data.length);
  t.is(conn.receivedHash(), sha(data));
  await peer.waitForLine(/^DONE$/, 20_000);
  t.is((await peer.waitForExit(10_000)).code, 0);
});

test('baton server → node sctp client: baton sends 300 kB, node-sctp hashes it and closes', async (t) => {
  const data = randomBytes(300_000);
  const { baton, peer } = await batonAndNodeSctp(t, 'client', { expect: data.length });
  const conn = await baton.accept(15_000);
  conn.send(data);
  const got = await peer.waitForLine(/^HASH ([0-9a-f]+) (\d+)$/, 30_000);
  t.is(got[2], String(data.length));
  t.is(got[1], sha(data));
  await conn.waitClosed(20_000);
  t.is(conn.closeError?.error, undefined, conn.log.join(','));
  t.is((await peer.waitForExit(10_000)).code, 0);
});
