// One end of baton's throughput benchmark, run as its own process. Uses only the transport
// contract (TransportEndpoint.connect/pollAccept, MigratableTransport.send/pollEvent/close) and
// UdpDriver.bind/wake, so it measures whatever backend createEndpoint() builds.
//
//   receiver: --role receiver --transport sctp|tcp --local 127.0.0.1:PORT
//     prints "LISTENING port", then "RESULT bytes seconds" (first to last data byte) when the
//     sender has finished and the connection is shut down, then exits 0.
//   sender:   --role sender --transport sctp|tcp --local 127.0.0.1:PORT --peer 127.0.0.1:PORT
//             --seconds N --message-size N
//     sends messageSize-byte writes as fast as the send buffer takes them for N seconds, closes
//     gracefully, prints "SENT bytes" once closed, exits 0.
// Both print "ERROR ..." and exit 1 on a failure.
//
// Normally bench/throughput.ts (`baton bench throughput`) starts a receiver and a sender.
// By hand, in two shells:
//   node --import=tsx bench/baton-peer.ts --role receiver --transport sctp --local 127.0.0.1:9000
//   node --import=tsx bench/baton-peer.ts --role sender --transport sctp --local 127.0.0.1:9001 \
//     --peer 127.0.0.1:9000 --seconds 5 --message-size 1400
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import { UdpDriver } from '../src/node/driver.js';
import type { MigratableTransport, TransportEndpoint, TransportKind } from '../src/transport-abstraction/transport.js';
import { createEndpoint } from '../src/transports.js';
import { parseFlags } from './child.js';

const LOOPBACK_MTU = 1500;

function udp(text: string | undefined, what: string): UdpAddress {
  const m = text === undefined ? null : /^(127\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  if (!m) fail(`${what}: expected 127.x.y.z:port, got ${text}`);
  return { address: m![1]!, port: Number(m![2]) };
}

/** The driver's counters on stderr (datagrams per cycle: how much each event-loop turn moved). */
function driverStats(driver: UdpDriver): string {
  const s = driver.stats;
  const perCycle = (s.datagramsSent / Math.max(1, s.cycles)).toFixed(1);
  const inPerCycle = (s.datagramsReceived / Math.max(1, s.cycles)).toFixed(1);
  return `STATS sent ${s.datagramsSent} received ${s.datagramsReceived} cycles ${s.cycles} (${perCycle} out, ${inPerCycle} in per cycle) dropped ${s.sendDropped} timer ${s.timerFires}\n`;
}

function fail(message: string): never {
  process.stdout.write(`ERROR ${message.replace(/\s+/g, ' ')}\n`);
  process.exit(1);
}

function endpointFor(kind: TransportKind, local: UdpAddress, listen: boolean): TransportEndpoint {
  // The transport port inside UDP equals the UDP port: each end's is then known from its address.
  return createEndpoint(kind, { addresses: [local], port: local.port, listen, mtu: LOOPBACK_MTU, rtoMin: 200 });
}

async function receiver(kind: TransportKind, local: UdpAddress): Promise<void> {
  const endpoint = endpointFor(kind, local, true);
  let conn: MigratableTransport | undefined;
  let bytes = 0;
  let first = 0;
  let last = 0;
  let reported = false;
  const report = (): void => {
    if (reported) return;
    reported = true;
    process.stdout.write(`RESULT ${bytes} ${((last - first) / 1000).toFixed(6)}\n`);
  };
  const driver = await UdpDriver.bind(endpoint, [local], {
    errors: (e) => process.stderr.write(`driver: ${e.code} ${e.message}\n`),
    afterInput: (now) => {
      if (!conn) conn = endpoint.pollAccept();
      if (!conn) return;
      for (let e = conn.pollEvent(); e !== undefined; e = conn.pollEvent()) {
        if (e.type === 'data') {
          if (bytes === 0) first = now;
          last = now;
          bytes += e.bytes.length;
        } else if (e.type === 'end') {
          report();
          conn.close(now);
        } else if (e.type === 'closed') {
          report();
          if (e.error) process.stderr.write(`closed with ${e.error.code}: ${e.error.message}\n`);
          process.stderr.write(driverStats(driver));
          setTimeout(() => void driver.close().then(() => process.exit(0)), 50);
        }
      }
    },
  });
  process.stdout.write(`LISTENING ${driver.addresses[0]!.port}\n`);
}

async function sender(kind: TransportKind, local: UdpAddress, peer: UdpAddress, seconds: number, size: number): Promise<void> {
  const endpoint = endpointFor(kind, local, false);
  const chunk = new Uint8Array(size).fill(0x62);
  let conn: MigratableTransport | undefined;
  let connected = false;
  let stopAt = Infinity;
  let closing = false;
  let sent = 0;
  let partial = 0; // bytes of `chunk` already accepted by a short send
  const fill = (now: number): void => {
    if (!conn || !connected || closing) return;
    if (now >= stopAt) {
      closing = true;
      conn.close(now);
      return;
    }
    for (;;) {
      const piece = partial === 0 ? chunk : chunk.subarray(partial);
      const n = conn.send(piece);
      sent += n;
      if (n < piece.length) {
        partial += n; // the rest waits for 'writable'
        return;
      }
      partial = 0;
    }
  };
  const driver = await UdpDriver.bind(endpoint, [local], {
    errors: (e) => process.stderr.write(`driver: ${e.code} ${e.message}\n`),
    afterInput: (now) => {
      if (!conn) return;
      for (let e = conn.pollEvent(); e !== undefined; e = conn.pollEvent()) {
        if (e.type === 'connected') {
          connected = true;
          stopAt = now + seconds * 1000;
        } else if (e.type === 'closed') {
          if (e.error) fail(`closed with ${e.error.code}: ${e.error.message}`);
          process.stdout.write(`SENT ${sent}\n`);
          process.stderr.write(driverStats(driver));
          setTimeout(() => void driver.close().then(() => process.exit(0)), 50);
          return;
        }
      }
      fill(now);
    },
  });
  conn = endpoint.connect(driver.now(), peer, { remotePort: peer.port });
  driver.wake();
  // The stop time passes while the send buffer is full and no event fires: check it on a timer.
  const tick = setInterval(() => {
    if (closing) {
      clearInterval(tick);
      return;
    }
    if (connected && driver.now() >= stopAt) {
      fill(driver.now());
      driver.wake();
    }
  }, 20);
}

const flags = parseFlags(process.argv.slice(2));
const kind = flags.get('transport') ?? 'sctp';
if (kind !== 'sctp' && kind !== 'tcp') fail(`unknown transport ${kind}`);
const local = udp(flags.get('local'), '--local');
process.on('uncaughtException', (e) => fail(`uncaught: ${e.stack ?? e.message}`));
if (flags.get('role') === 'receiver') {
  await receiver(kind, local);
} else if (flags.get('role') === 'sender') {
  await sender(kind, local, udp(flags.get('peer'), '--peer'), Number(flags.get('seconds') ?? 5), Number(flags.get('message-size') ?? 1400));
} else {
  fail('--role receiver|sender is required');
}
