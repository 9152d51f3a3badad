// One end of baton's throughput benchmark, run as its own process. Uses only the transport
// contract (TransportEndpoint.connect/pollAccept), the library's application loop (StreamSender,
// StreamCollector) and the runtime seam on real UDP, so it measures whatever backend
// createEndpoint() builds.
//
//   receiver: --role receiver --transport sctp|tcp --local 127.0.0.1:PORT
//     prints "LISTENING port", then "RESULT bytes seconds" (first to last data byte) when the
//     sender has finished and the connection is shut down, then "CPU seconds" and exits 0.
//   sender:   --role sender --transport sctp|tcp --local 127.0.0.1:PORT --peer 127.0.0.1:PORT
//             --seconds N --message-size N
//     sends messageSize-byte writes as fast as the send buffer takes them for N seconds, closes
//     gracefully, prints "SENT bytes" once closed, then "CPU seconds", exits 0.
//   either: --payload N sets the path MTU so that each full DATA chunk / segment carries exactly N
//     bytes (the benchmark's equal payload per datagram); default MTU 1500.
//   either: --auth-data off (SCTP: DATA without AUTH, SctpOptions.authenticateData; default on)
// Both print "ERROR ..." and exit 1 on a failure.
//
// Normally bench/throughput.ts (`baton bench throughput`) starts a receiver and a sender.
// By hand, in two shells:
//   node --import=tsx bench/baton-peer.ts --role receiver --transport sctp --local 127.0.0.1:9000
//   node --import=tsx bench/baton-peer.ts --role sender --transport sctp --local 127.0.0.1:9001 \
//     --peer 127.0.0.1:9000 --seconds 5 --message-size 1400
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import type { TransportEndpoint, TransportKind } from '../src/transport-abstraction/transport.js';
import { UdpRuntime, type UdpAttachment } from '../src/node/udp-runtime.js';
import { END, StreamCollector, StreamSender, type StreamSource } from '../src/stream/index.js';
import { createEndpoint } from '../src/transports.js';
import { parseFlags } from './child.js';
import { cpuLine } from './cpu.js';
import { DATA_AUTH_OVERHEAD } from '../src/sctp/options.js';

const LOOPBACK_MTU = 1500;

function udp(text: string | undefined, what: string): UdpAddress {
  const m = text === undefined ? null : /^(127\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  if (!m) fail(`${what}: expected 127.x.y.z:port, got ${text}`);
  return { address: m![1]!, port: Number(m![2]) };
}

/** The driver's counters on stderr (datagrams per cycle: how much each event-loop turn moved). */
function driverStats(attachment: UdpAttachment<TransportEndpoint>): string {
  const s = attachment.driver.stats;
  const perCycle = (s.datagramsSent / Math.max(1, s.cycles)).toFixed(1);
  const inPerCycle = (s.datagramsReceived / Math.max(1, s.cycles)).toFixed(1);
  return `STATS sent ${s.datagramsSent} received ${s.datagramsReceived} cycles ${s.cycles} (${perCycle} out, ${inPerCycle} in per cycle) dropped ${s.sendDropped} timer ${s.timerFires}\n`;
}

/** CPU usage when the connection was set up: the "CPU" line counts from there. */
let cpuAtStart: NodeJS.CpuUsage | undefined;

function exitWithCpu(): void {
  process.stdout.write(cpuLine(cpuAtStart));
  process.exit(0);
}

function fail(message: string): never {
  process.stdout.write(`ERROR ${message.replace(/\s+/g, ' ')}\n`);
  process.exit(1);
}

/**
 * Header bytes between the path MTU and one full chunk's / segment's payload: IPv4 + UDP (28) plus
 * SCTP's common header (12) and DATA chunk header (16), and the AUTH chunk in front when DATA is
 * authenticated (DATA_AUTH_OVERHEAD); TCP-Migrate reserves 60 bytes of TCP header and options (its
 * MSS is mtu - 88, src/tcp-migrate/endpoint.ts).
 */
const PAYLOAD_OVERHEAD: Record<TransportKind, number> = { sctp: 28 + 12 + 16, tcp: 88 };

/** SCTP only: `--auth-data off` leaves DATA unauthenticated (SctpOptions.authenticateData). */
let authData = true;

let mtu = LOOPBACK_MTU;

function endpointFor(kind: TransportKind, local: UdpAddress, listen: boolean): TransportEndpoint {
  // The transport port inside UDP equals the UDP port: each end's is then known from its address.
  return createEndpoint(kind, { addresses: [local], port: local.port, listen, mtu, rtoMin: 200, authenticateData: authData });
}

function runtimeWithLog(): UdpRuntime {
  const runtime = new UdpRuntime();
  runtime.onError((e) => process.stderr.write(`runtime: ${e.code} ${e.message}\n`));
  return runtime;
}

async function receiver(kind: TransportKind, local: UdpAddress): Promise<void> {
  const runtime = runtimeWithLog();
  let endpoint: TransportEndpoint | undefined;
  let collector: StreamCollector | undefined;
  let reported = false;
  const report = (): void => {
    if (reported || collector === undefined) return;
    reported = true;
    const seconds = ((collector.lastDataAt ?? 0) - (collector.firstDataAt ?? 0)) / 1000;
    process.stdout.write(`RESULT ${collector.received} ${seconds.toFixed(6)}\n`);
  };
  const attachment = await runtime.attach([local], (bound) => (endpoint = endpointFor(kind, bound[0]!, true)), (now) => {
    if (collector === undefined) {
      const conn = endpoint!.pollAccept();
      if (conn === undefined) return;
      cpuAtStart = process.cpuUsage();
      collector = new StreamCollector({
        conn,
        keep: false,
        onEvent: (e) => {
          if (e.type === 'end') report();
          else if (e.type === 'closed') {
            report();
            if (e.error) process.stderr.write(`closed with ${e.error.code}: ${e.error.message}\n`);
            process.stderr.write(driverStats(attachment));
            setTimeout(() => void attachment.close().then(() => exitWithCpu()), 50);
          }
        },
      });
    }
    collector.pump(now);
  });
  process.stdout.write(`LISTENING ${attachment.addresses[0]!.port}\n`);
}

async function sender(kind: TransportKind, local: UdpAddress, peer: UdpAddress, seconds: number, size: number): Promise<void> {
  const runtime = runtimeWithLog();
  const chunk = new Uint8Array(size).fill(0x62);
  let stopAt = Infinity;
  // Message-sized writes: each read ends at a message boundary (a short send resumes mid-message).
  const source: StreamSource = {
    read: (offset, max) => {
      if (runtime.now() >= stopAt) return END;
      const at = offset % size;
      return chunk.subarray(at, Math.min(size, at + max));
    },
  };
  let endpoint: TransportEndpoint | undefined;
  let sender: StreamSender | undefined;
  const attachment = await runtime.attach([local], (bound) => (endpoint = endpointFor(kind, bound[0]!, false)), (now) => sender?.pump(now));
  const conn = endpoint!.connect(runtime.now(), peer, { remotePort: peer.port });
  sender = new StreamSender({
    conn,
    source,
    now: () => runtime.now(),
    wake: () => attachment.wake(),
    onEvent: (e, now) => {
      if (e.type === 'connected') {
        stopAt = now + seconds * 1000;
        cpuAtStart = process.cpuUsage();
      }
      else if (e.type === 'closed') {
        if (e.error) fail(`closed with ${e.error.code}: ${e.error.message}`);
        process.stdout.write(`SENT ${sender!.offset}\n`);
        process.stderr.write(driverStats(attachment));
        setTimeout(() => void attachment.close().then(() => exitWithCpu()), 50);
      }
    },
  });
  attachment.wake();
  // The stop time passes while the send buffer is full and no event fires: check it on a timer.
  const tick = setInterval(() => {
    if (!sender!.sending) clearInterval(tick);
    else if (runtime.now() >= stopAt) sender!.ready();
  }, 20);
}

const flags = parseFlags(process.argv.slice(2));
const kind = flags.get('transport') ?? 'sctp';
if (kind !== 'sctp' && kind !== 'tcp') fail(`unknown transport ${kind}`);
const local = udp(flags.get('local'), '--local');
authData = flags.get('auth-data') !== 'off';
if (flags.has('payload')) {
  const payload = Number(flags.get('payload'));
  if (!Number.isInteger(payload) || payload < 200 || payload % 4 !== 0) fail(`--payload: a multiple of 4, at least 200, not ${flags.get('payload')}`);
  mtu = payload + PAYLOAD_OVERHEAD[kind] + (kind === 'sctp' && authData ? DATA_AUTH_OVERHEAD : 0);
}
process.on('uncaughtException', (e) => fail(`uncaught: ${e.stack ?? e.message}`));
if (flags.get('role') === 'receiver') {
  await receiver(kind, local);
} else if (flags.get('role') === 'sender') {
  await sender(kind, local, udp(flags.get('peer'), '--peer'), Number(flags.get('seconds') ?? 5), Number(flags.get('message-size') ?? 1400));
} else {
  fail('--role receiver|sender is required');
}
