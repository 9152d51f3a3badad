// Interop: an unmodified usrsctp program (Debian libusrsctp-examples' `client`) accepts a baton
// takeover. It talks to baton server A on 127.0.0.1; baton server B on 127.0.0.2 (same UDP and
// SCTP port, as a baton pool does) imports A's exported state and sends the authenticated ASCONF
// (RFC 4895 HMAC-SHA-1 with the RFC 4895 default key: usrsctp has no x25519), probes, and then the
// association goes on with B: data both ways. A's later packets are refused by usrsctp (OOTB).
// Real UDP on 127.0.0.x only; the usrsctp process is killed at teardown.
import test from 'ava';
import { RealConnection, RealEndpoint } from './helpers/baton-real.js';
import { spawnProcess } from './helpers/process.js';
import { freeWildcardUdpPorts, usableLoopbackAddresses } from './helpers/ports.js';
import { USRSCTP } from './helpers/peers.js';
import { decodeTransportState, encodeTransportState } from '../src/transport-abstraction/state.js';
import type { SctpAssociation } from '../src/sctp/association.js';
import type { TakeoverState } from '../src/sctp/takeover-hooks.js';

test('usrsctp client keeps its association and its data when baton B takes over from baton A', async (t) => {
  // usrsctp ignores an INIT-ACK from 127.0.0.2 when it sent INIT there (seen here), so A is on
  // 127.0.0.1, where the usrsctp client starts; B is on 127.0.0.2.
  const loop = await usableLoopbackAddresses(2, 2);
  if (loop.length < 1) {
    t.log('127.0.0.2 is not bindable here; checking only that this was detected');
    t.is(loop.length, 0);
    return;
  }
  const A = '127.0.0.1';
  const B = loop[0]!;
  const [clientEncap, serverPort] = await freeWildcardUdpPorts(2);
  const a = await RealEndpoint.open({ local: { address: A, port: serverPort! }, listen: true, t, rtoMin: 200 });
  const client = spawnProcess(USRSCTP.client, [A, String(serverPort), '0', String(clientEncap), String(serverPort)], {
    t,
    stdin: 'pipe',
    lineBuffered: true,
    name: 'usrsctp client',
  });
  await client.waitForLine(/SCTP_COMM_UP/);
  const connA = await a.accept();
  connA.send(new TextEncoder().encode('hello from server A\n'));
  await client.waitForLine(/^hello from server A$/);
  client.write('to A\n');
  await connA.waitBytes(5);
  const agentA = (connA.transport as SctpAssociation).takeoverState as TakeoverState;
  t.is(agentA.keySource, 'rfc4895-default'); // usrsctp sends no x25519 key
  t.truthy(agentA.context, 'AUTH negotiated with usrsctp');
  t.is(agentA.context!.sendHmacId, 1); // Debian's usrsctp offers HMAC-SHA-1 only

  // A's state, through the protobuf schema, imported on B
  const state = decodeTransportState(encodeTransportState(connA.transport.exportState(0)));
  const b = await RealEndpoint.open({ local: { address: B, port: serverPort! }, listen: false, t, rtoMin: 200 });
  const taken = b.endpoint.importState(b.driver.now(), state);
  const connB = new RealConnection(taken, b);
  b.connections.push(connB);
  taken.takeover(b.driver.now(), state.takeoverNumber + 1, 'gap-fill');
  b.kick();
  await connB.until(() => connB.log.includes('takeover-complete') || connB.closed, 10_000, 'takeover-complete');
  t.true(connB.log.includes('takeover-complete'), `${connB.log.join(',')} ${connB.closeError?.error?.message ?? ''}`);
  const rs = taken.receiverState()!;
  t.is(rs.nextOffset, 'hello from server A\n'.length);
  t.deepEqual(rs.heldRanges, []);

  // The association goes on with B, both ways
  connB.send(new TextEncoder().encode('hello from server B\n'));
  await client.waitForLine(/^hello from server B$/);
  client.write('to B\n');
  await connB.waitBytes(5);
  t.is(connB.received.toString('latin1'), 'to B\n');

  // A, wrongly still alive, sends again: usrsctp no longer knows A's address and drops its
  // packets (this build answers with silence, not ABORT, seen here), so A's data stays
  // unacknowledged (A would give up after Association.Max.Retrans; not awaited here) and never
  // reaches the application.
  connA.send(new TextEncoder().encode('late from server A\n'));
  connB.send(new TextEncoder().encode('still B\n'));
  await client.waitForLine(/^still B$/);
  await new Promise((r) => setTimeout(r, 1500)); // A retransmits meanwhile (RTO min 200 ms)
  t.false(client.stdout.includes('late from server A'));
  t.true(connA.transport.bufferedAmount > 0, 'A never got its late data acknowledged');
  connA.abort('test over');

  client.endInput();
  await client.waitForLine(/SCTP_SHUTDOWN_COMP/, 10_000);
  t.is((await client.waitForExit(10_000)).code, 0);
});
