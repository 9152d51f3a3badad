// SCTP over UDP on loopback through the real UdpDriver: one association, byte-stream mode,
// 1500-byte MTU. Usage: npx tsx bench/sctp-loopback.ts [MB]
import dgram from 'node:dgram';
import { SctpEndpoint } from '../src/sctp/endpoint.js';
import { UdpDriver } from '../src/node/driver.js';
import type { SctpAssociation } from '../src/sctp/association.js';

async function freePort(address: string): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, address, resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const MB = Number(process.argv[2] ?? 200);
const total = MB * 1e6;
const A = { address: '127.0.0.1', port: await freePort('127.0.0.1') };
const B = { address: '127.0.0.1', port: await freePort('127.0.0.1') };
const assoc = { mtu: Number(process.env.MTU ?? 1500), rto: { min: 200 }, receiveWindow: 4 << 20, sendBufferSize: 8 << 20 };
const client = new SctpEndpoint({ addresses: [A], listen: false, association: assoc });
const server = new SctpEndpoint({ addresses: [B], association: assoc });
let received = 0;
let s: SctpAssociation | undefined;
let start = 0;
const done = new Promise<void>((resolve) => {
  void UdpDriver.bind(server, [B], {
    afterInput: () => {
      s ??= server.pollAccept();
      if (!s) return;
      for (let e = s.pollEvent(); e; e = s.pollEvent()) if (e.type === 'data') received += e.bytes.length;
      if (received >= total) resolve();
    },
  }).then((d) => (serverDriver = d));
});
let serverDriver: UdpDriver | undefined;
const block = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
let sent = 0;
let c: SctpAssociation | undefined;
const clientDriver = await UdpDriver.bind(client, [A], {
  afterInput: () => {
    if (!c) return;
    for (let e = c.pollEvent(); e; e = c.pollEvent()) if (e.type === 'connected') start = performance.now();
    if (c.stateName !== 'ESTABLISHED') return;
    while (sent < total) {
      const n = c.send(block.subarray(0, Math.min(block.length, total - sent)));
      if (n === 0) break;
      sent += n;
    }
  },
});
c = client.connect(clientDriver.now(), B);
clientDriver.wake();
await done;
const secs = (performance.now() - start) / 1000;
console.log(`${MB} MB over loopback UDP in ${secs.toFixed(2)} s: ${(MB / secs).toFixed(1)} MB/s`);
console.log('client', JSON.stringify(clientDriver.stats), 'dropped', JSON.stringify([...client.dropped]));
console.log('server', JSON.stringify(serverDriver?.stats), 'dropped', JSON.stringify([...server.dropped]));
const p = c.paths[0]!;
console.log('cwnd', p.cwnd, 'ssthresh', p.ssthresh, 'srtt', p.rto.srtt, 'rto', p.rto.rto);
await clientDriver.close();
await serverDriver?.close();
