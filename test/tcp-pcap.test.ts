// A capture of TCP-Migrate, written as IP packets carrying the UDP payload (a TCP segment) with the
// checksums exactly as our endpoints computed them, decodes in tshark with every TCP checksum good.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimNetwork } from '../src/sim/network.js';
import { PcapWriter, pcapTrace } from '../src/sim/pcap.js';
import { TcpMigrateEndpoint } from '../src/tcp-migrate/endpoint.js';
import type { TcpMigrateConnection } from '../src/tcp-migrate/connection.js';

test('tshark decodes a capture with a takeover and finds every TCP checksum good', (t) => {
  const net = new SimNetwork({ seed: 4 });
  net.addHost('c', ['10.0.0.1']);
  net.addHost('a', ['10.0.0.2']);
  net.addHost('b', ['10.0.0.3']);
  net.link('c', 'a', { delayMs: 5, rateBps: 1_000_000, loss: 0.03 });
  net.link('c', 'b', { delayMs: 10, rateBps: 1_000_000 });
  const writer = new PcapWriter({ encapsulation: 'ip-payload', protocol: 6, fixChecksum: false });
  net.onTrace(pcapTrace(writer, { at: ['10.0.0.1'] }));
  const ca = { address: '10.0.0.1', port: 9898 };
  const aa = { address: '10.0.0.2', port: 9898 };
  const ba = { address: '10.0.0.3', port: 9898 };
  const ce = new TcpMigrateEndpoint({ addresses: [ca], random: net.random, rtoMin: 200 });
  const ae = new TcpMigrateEndpoint({ addresses: [aa], random: net.random, rtoMin: 200, listen: true });
  const be = new TcpMigrateEndpoint({ addresses: [ba], random: net.random, rtoMin: 200 });
  const data = new Uint8Array(120_000).map((_, i) => i & 0xff);
  let srv: TcpMigrateConnection | undefined;
  net.attach(ae, [aa], () => {
    if (srv) return;
    srv = ae.pollAccept();
    srv?.send(data);
  });
  const conn = ce.connect(0, aa);
  let got = 0;
  net.attach(ce, [ca], () => {
    for (let e = conn.pollEvent(); e; e = conn.pollEvent()) {
      if (e.type === 'data') got += e.bytes.length;
      if (e.type === 'end') conn.close(net.now);
    }
  });
  net.wake(ce);
  net.run(400);
  const state = srv!.exportState(net.now);
  net.kill('a');
  const taker = be.importState(net.now, state);
  let offset = 0;
  net.attach(be, [ba], () => {
    for (let e = taker.pollEvent(); e; e = taker.pollEvent()) if (e.type === 'takeover-complete') offset = e.receiver.nextOffset;
    if (taker.stateName === 'ESTABLISHED' && offset < data.length) {
      offset += taker.send(data.subarray(offset));
      if (offset >= data.length) taker.close(net.now);
    }
  });
  taker.takeover(net.now, 1, 'go-back-n');
  net.wake(be);
  net.run(30_000);
  t.is(got, data.length);
  const dir = mkdtempSync(join(tmpdir(), 'baton-tcp-pcap-'));
  try {
    const file = join(dir, 'takeover.pcap');
    writeFileSync(file, writer.toBuffer());
    const out = execFileSync('tshark', ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-T', 'fields', '-e', 'tcp.checksum.status', '-e', 'ip.src', '-e', 'tcp.flags', '-e', 'tcp.option_kind', '-e', '_ws.malformed', '-e', '_ws.expert.severity'], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const rows = out.trim().split('\n').map((l) => l.split('\t'));
    t.is(rows.length, writer.packetCount);
    t.true(rows.length > 100);
    t.deepEqual([...new Set(rows.map((r) => r[0]))], ['1'], 'tshark: checksum status 1 = good for every segment');
    t.true(rows.some((r) => r[1] === '10.0.0.3' && r[2] === '0x0002'), 'the Migrate SYN from B is in the capture');
    // The Migrate options decode as TCP options (experimental kinds 253 Migrate-Permitted, 254 Migrate).
    const kinds = (r: string[]) => (r[3] ?? '').split(',').filter(Boolean).map(Number);
    t.true(rows.some((r) => r[2] === '0x0002' && r[1] === '10.0.0.1' && kinds(r).includes(253)), 'Migrate-Permitted on the SYN');
    t.true(rows.some((r) => r[2] === '0x0002' && r[1] === '10.0.0.3' && kinds(r).includes(254)), 'Migrate option on the Migrate SYN');
    t.deepEqual(rows.filter((r) => (r[4] ?? '') !== ''), [], 'no malformed segments');
    // Expert severities: 8388608 = error (Wireshark's PI_ERROR); notes and chats about retransmissions are fine.
    t.deepEqual(rows.filter((r) => (r[5] ?? '').split(',').includes('8388608')), [], 'no expert errors');
  } finally {
    if (process.env.KEEP_PCAP) writeFileSync(process.env.KEEP_PCAP, writer.toBuffer());
    rmSync(dir, { recursive: true, force: true });
  }
});
