// Path MTU discovery (RFC 8899, HEARTBEAT + PAD probes) against a standard peer: usrsctp's
// echo_server from Debian (libusrsctp-examples) on 127.0.0.1 over real UDP. usrsctp knows the PAD
// chunk (RFC 4820) and answers the padded HEARTBEATs, so baton's search reaches MAX_PLPMTU on
// loopback, and the echoed bytes come back intact with DATA cut to the discovered size.
import test from 'ava';
import { randomBytes, createHash } from 'node:crypto';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import { UdpDriver } from '../src/node/driver.js';
import { parsePacket } from '../src/sctp/wire/index.js';
import { spawnProcess } from './helpers/process.js';
import { freeWildcardUdpPorts, waitForUdpPortBound } from './helpers/ports.js';
import { USRSCTP } from './helpers/peers.js';

const LO = '127.0.0.1';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('baton client with PLPMTUD → usrsctp echo_server: padded probes answered, search reaches 1500, 400 kB echoed intact', async (t) => {
  const [usrsctpEncap, batonPort] = await freeWildcardUdpPorts(2);
  spawnProcess(USRSCTP.echoServer, [String(usrsctpEncap), String(batonPort)], { t, lineBuffered: true, name: 'echo_server' });
  await waitForUdpPortBound(usrsctpEncap!);
  const local = { address: LO, port: batonPort! };
  const ep = new SctpEndpoint({ addresses: [local], sctpPort: batonPort!, listen: false, association: { plpmtud: { max: 1500, probeTimer: 1000 } } });
  const got: Uint8Array[] = [];
  let received = 0;
  let largestDataSent = 0;
  const driver = await UdpDriver.bind(ep, [local], {
    afterInput: () => {
      for (let e = conn.pollEvent(); e; e = conn.pollEvent()) {
        if (e.type === 'data') {
          got.push(e.bytes.slice());
          received += e.bytes.length;
        }
      }
    },
  });
  t.teardown(() => driver.close());
  // Watch what baton sends (the driver's transmits): the size of packets with DATA.
  const poll = ep.pollTransmit.bind(ep);
  ep.pollTransmit = (now) => {
    const tx = poll(now);
    if (tx) {
      const r = parsePacket(tx.payload);
      if (r.ok && r.packet.chunks.some((c) => c.type === 0)) largestDataSent = Math.max(largestDataSent, tx.payload.length + 28);
    }
    return tx;
  };
  const conn = ep.connect(driver.now(), { address: LO, port: usrsctpEncap! }, { remotePort: 7 });
  driver.wake();
  const until = async (cond: () => boolean, ms: number, what: string) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what} (state ${conn.stateName}, PLPMTUD ${conn.paths[0]?.pmtud?.state})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until(() => conn.stateName === 'ESTABLISHED', 15_000, 'the association');
  await until(() => conn.paths[0]!.pmtud!.state === 'SEARCH_COMPLETE', 30_000, 'the search');
  t.is(conn.paths[0]!.mtu, 1500, 'usrsctp answered the 1500-byte probe');
  const data = randomBytes(400_000);
  let off = 0;
  const pump = () => {
    while (off < data.length) {
      const n = conn.send(data.subarray(off, Math.min(data.length, off + 65536)));
      if (n === 0) break;
      off += n;
    }
    driver.wake();
  };
  const timer = setInterval(pump, 10);
  t.teardown(() => clearInterval(timer));
  pump();
  await until(() => received >= data.length, 60_000, 'the echo');
  clearInterval(timer);
  t.is(sha(Buffer.concat(got)), sha(data));
  // Chunks are cut for 1500 with room for a 40-byte AUTH chunk (authenticateData); usrsctp does
  // not ask for DATA to be authenticated, so the packets are a little smaller than the PLPMTU.
  t.true(largestDataSent > 1500 - 40 && largestDataSent <= 1500, `DATA packets cut to the discovered PLPMTU (largest ${largestDataSent})`);
  conn.close(driver.now());
  driver.wake();
});
