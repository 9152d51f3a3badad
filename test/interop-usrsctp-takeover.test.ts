// Issue 4's interop check: an unmodified usrsctp program accepts a baton takeover. usrsctp's
// `client` downloads a text stream from baton server A (127.0.0.1); A stops dead after part of it;
// baton server B (127.0.0.2, same UDP port, as usrsctp wants it) imports A's exported state, sends
// the authenticated ASCONF (add 127.0.0.2, set primary, delete 127.0.0.1), learns where the client
// is and sends the rest. The client keeps its one association and receives the stream byte-exact.
import test from 'ava';
import { RealEndpoint } from './helpers/baton-real.js';
import { spawnProcess } from './helpers/process.js';
import { freeUdpPort, freeWildcardUdpPorts } from './helpers/ports.js';
import { USRSCTP } from './helpers/peers.js';

/** The lines usrsctp's client prints about its association (stdout), among the data it writes. */
const NOTIFICATION = /(handle_notification : [A-Z_]+\n|Association change [^\n]*\.\n|Peer address [^\n]*\)\.\n|Local addresses: [^\n]*\.\n|Peer addresses: [^\n]*\.\n|Unsent [^\n]*\.\n|Sent [^\n]*\.\n|Number of packets [^\n]*\.\n)/g;

function textStream(lines: number): Buffer {
  let s = '';
  for (let i = 0; i < lines; i++) s += `line ${String(i).padStart(6, '0')} of the stream that survives a takeover\n`;
  return Buffer.from(s, 'latin1');
}

/** A UDP port free on both 127.0.0.1 and 127.0.0.2 (all servers of a pool share the port). */
async function sharedPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const p = await freeUdpPort('127.0.0.1');
    try {
      const q = await RealEndpoint.open({ local: { address: '127.0.0.2', port: p } });
      await q.close();
      return p;
    } catch {
      // taken there: try another
    }
  }
  throw new Error('no UDP port free on both 127.0.0.1 and 127.0.0.2');
}

test('usrsctp client keeps its association and its data when baton server B takes over from A', async (t) => {
  const file = textStream(2000); // ~130 kB
  const firstPart = 50_000;
  const port = await sharedPort();
  const [clientEncap] = await freeWildcardUdpPorts(1);

  const a = await RealEndpoint.open({ local: { address: '127.0.0.1', port }, listen: true, t });
  // client remote_addr remote_port local_port local_encaps remote_encaps: the remote encapsulation
  // port must be set for usrsctp to answer an address added by ASCONF.
  const client = spawnProcess(USRSCTP.client, ['127.0.0.1', String(port), '0', String(clientEncap), String(port)], {
    t,
    stdin: 'pipe',
    lineBuffered: true,
    keepBytes: 8 << 20,
    name: 'usrsctp client',
  });
  await client.waitForLine(/SCTP_COMM_UP/);
  const onA = await a.accept();
  onA.send(file.subarray(0, firstPart));
  // A's part is delivered and acknowledged; then A dies without a word (its sockets close).
  await onA.until(() => onA.transport.bufferedAmount === 0 && onA.unsent === 0, 20_000, "A's data acknowledged");
  const state = onA.transport.exportState(a.driver.now());
  await a.close();

  const b = await RealEndpoint.open({ local: { address: '127.0.0.2', port }, t });
  const onB = b.importState(state);
  onB.transport.takeover(b.driver.now(), 1, 'go-back-n');
  b.kick();
  await onB.until(() => onB.takeoverReceiver !== undefined || onB.closed, 20_000, 'takeover-complete');
  t.is(onB.closeError, undefined, `takeover failed: ${onB.log.join(',')} ${onB.closeError?.error?.message ?? ''}`);
  const receiver = onB.takeoverReceiver!;
  t.is(receiver.nextOffset, firstPart, 'the client holds exactly what A sent');
  onB.send(file.subarray(receiver.nextOffset));
  onB.close();
  await onB.waitClosed(30_000);
  t.is(onB.closeError?.error, undefined, onB.log.join(','));

  client.endInput();
  await client.waitForExit(15_000);
  const out = Buffer.from(client.stdout, 'latin1').toString('latin1');
  const data = out.replace(NOTIFICATION, '');
  t.is(data, file.toString('latin1'), 'the client received the whole stream, in order, once');
  t.is(out.match(/SCTP_COMM_UP/g)?.length, 1, 'one association from start to end (no restart)');
  t.regex(out, /Peer address 127\.0\.0\.2 is now SCTP_ADDR_(ADDED|MADE_PRIM|CONFIRMED|AVAILABLE)/);
});
