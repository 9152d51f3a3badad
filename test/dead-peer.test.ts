// Dead-peer bounds under the contract's names (transport.ts DeadPeerOptions: connectTimeoutMs,
// userTimeoutMs, idleTimeoutMs), the same options on both transports, in virtual time: a connect
// nobody answers, a server whose client died while it was sending, and an idle download client
// whose server died and was never taken over — each ends with BATON_ERR_TIMEOUT within its bound.
import test from 'ava';
import { SimNetwork } from '../src/sim/network.js';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { ConnectionOptions, DeadPeerOptions, MigratableTransport, TransportEndpoint, TransportKind } from '../src/transport-abstraction/transport.js';
import { createEndpoint, TRANSPORT_KINDS } from '../src/transports.js';

const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';

interface Pair {
  net: SimNetwork;
  client: MigratableTransport;
  server: () => MigratableTransport | undefined;
  closed: Map<'client' | 'server', { at: number; code: string | undefined }>;
}

/** A client and a listening server; the server sends `sendBytes` once it has the connection. */
function pair(kind: TransportKind, seed: number, deadPeer: { client?: DeadPeerOptions; server?: DeadPeerOptions }, sendBytes = 0, connectOptions?: ConnectionOptions): Pair {
  const net = new SimNetwork({ seed });
  net.addHost('client', [CLIENT]);
  net.addHost('server', [SERVER]);
  net.link('client', 'server', { delayMs: 10, rateBps: 2_000_000, queueBytes: 64_000 });
  const port = 9000;
  const ca: UdpAddress = { address: CLIENT, port };
  const sa: UdpAddress = { address: SERVER, port };
  const se: TransportEndpoint = createEndpoint(kind, { addresses: [sa], listen: true, random: net.random, rtoMin: 200, deadPeer: deadPeer.server });
  const ce: TransportEndpoint = createEndpoint(kind, { addresses: [ca], random: net.random, rtoMin: 200, deadPeer: deadPeer.client });
  const closed: Pair['closed'] = new Map();
  let srv: MigratableTransport | undefined;
  let sent = false;
  net.attach(se, [sa], (now) => {
    srv ??= se.pollAccept();
    if (!srv) return;
    for (let e = srv.pollEvent(); e; e = srv.pollEvent()) if (e.type === 'closed') closed.set('server', { at: now, code: e.error?.code });
    if (!sent && sendBytes > 0 && srv.stateName === 'ESTABLISHED') {
      sent = true;
      srv.send(new Uint8Array(sendBytes).fill(7));
    }
  });
  const client = ce.connect(net.now, sa, connectOptions);
  net.attach(ce, [ca], (now) => {
    for (let e = client.pollEvent(); e; e = client.pollEvent()) if (e.type === 'closed') closed.set('client', { at: now, code: e.error?.code });
  });
  net.wake(ce);
  return { net, client, server: () => srv, closed };
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: connectTimeoutMs bounds a connect nobody answers`, (t) => {
    const p = pair(kind, 1, { client: { connectTimeoutMs: 6000 } });
    p.net.kill('server');
    p.net.runUntil(() => p.closed.has('client'), 120_000);
    const c = p.closed.get('client');
    t.is(c?.code, 'BATON_ERR_TIMEOUT');
    t.true(c!.at <= 6000, `${kind} gave up after ${c?.at} ms, bound 6000 ms`);
    t.log(`${kind}: connect given up after ${c!.at} ms`);
  });

  test(`${kind}: userTimeoutMs bounds a sender whose receiver died`, (t) => {
    const p = pair(kind, 2, { server: { userTimeoutMs: 8000 } }, 2_000_000);
    t.true(p.net.runUntil(() => (p.server()?.bufferedAmount ?? 0) > 0 && p.net.now > 1000, 10_000));
    p.net.kill('client');
    const died = p.net.now;
    p.net.runUntil(() => p.closed.has('server'), died + 300_000);
    const s = p.closed.get('server');
    t.is(s?.code, 'BATON_ERR_TIMEOUT');
    // TCP-Migrate counts from the first retransmission timeout (RTO >= 200 ms here), SCTP from the death.
    t.true(s!.at - died <= 8000 + 2000, `${kind} gave up ${s!.at - died} ms after the receiver died, bound 8 s + an RTO`);
    t.log(`${kind}: sender gave up ${s!.at - died} ms after the receiver died`);
  });

  test(`${kind}: idleTimeoutMs bounds a download client whose server died and was never taken over; the default leaves a takeover time`, (t) => {
    for (const [options, atLeast, atMost] of [
      [{ idleTimeoutMs: 10_000 }, 0, 10_000],
      [undefined, 15_000, 60_000],
    ] as const) {
      const p = pair(kind, 3, { client: options }, 20_000);
      t.true(p.net.runUntil(() => p.client.receivedOffset >= 20_000, 10_000));
      p.net.run(p.net.now + 2000); // idle: the server has sent everything
      p.net.kill('server');
      const died = p.net.now;
      p.net.runUntil(() => p.closed.has('client'), died + 600_000);
      const c = p.closed.get('client');
      t.is(c?.code, 'BATON_ERR_TIMEOUT');
      const waited = c!.at - died;
      t.true(waited >= atLeast && waited <= atMost, `${kind} ${JSON.stringify(options)}: the client gave up after ${waited} ms, expected ${atLeast}..${atMost} ms`);
      t.log(`${kind} ${options === undefined ? 'default' : JSON.stringify(options)}: client gave up ${waited} ms after its server died`);
    }
  });

  test(`${kind}: the same option per connection (ConnectionOptions) overrides the endpoint's`, (t) => {
    const p = pair(kind, 4, { client: { idleTimeoutMs: 60_000 } }, 20_000, { idleTimeoutMs: 8000 });
    t.true(p.net.runUntil(() => p.client.receivedOffset >= 20_000, 10_000));
    p.net.kill('server');
    const died = p.net.now;
    p.net.runUntil(() => p.closed.has('client'), died + 600_000);
    const c = p.closed.get('client');
    t.is(c?.code, 'BATON_ERR_TIMEOUT');
    t.true(c!.at - died <= 8000, `${kind}: gave up after ${c!.at - died} ms`);
  });
}
