// `baton call`: one telephony call to a pool of wedges hosting calls (`baton serve --service voice`,
// README "Telephony sessions"). Sends a 20 ms frame every 20 ms to the first server of --servers for
// --seconds, then prints one line: frames sent and received, server frames lost (missing between
// the first and last number received) and duplicated, takeovers, one-way delay percentiles of the
// server's frames. Exit 1 if a frame was played twice or the call broke (the connection closed, or
// no server frame in the call's last second); 2 for bad arguments.
import { Command, type CommanderError } from 'commander';
import { isIPv6 } from 'node:net';
import { cryptoRandom } from '../transport-abstraction/random.js';
import { UdpRuntime } from '../node/udp-runtime.js';
import { parseServerList } from '../client/dial.js';
import { parseTransportKind } from '../transports.js';
import { VoiceCaller, type CallReport } from '../wedge/voice-caller.js';
import { positiveNumber, rtoMin } from './numbers.js';

export interface CallCommandOptions {
  servers: string;
  transport: string;
  seconds: number;
  rtoMin?: number;
  json?: boolean;
}

export function callCommand(): Command {
  return new Command('call')
    .summary('a telephony call (20 ms frames both ways) to wedges run with `baton serve --service voice`')
    .description(
      [
        'Calls the first server of --servers (ADDR[:UDPPORT], comma-separated) and sends a 20 ms frame (160 bytes of audio) every 20 ms for --seconds; the server sends one every 20 ms, numbered by media time, echoing the newest client frame number. If the serving wedge dies, a member of its support group takes the call over.',
        'Prints one line at the end: frames sent and received, server frames lost and duplicated, takeovers, one-way delay p50/p95/p99/max of the server frames (ms; both clocks are Unix time).',
        'Exit status: 0 for a whole call, 1 if a frame was played twice or the call broke (no answer within 5 s, connection closed, or no server frame in the last second), 2 for bad arguments.',
      ].join('\n\n'),
    )
    .requiredOption('-s, --servers <LIST>', 'the pool: comma-separated ADDR[:PORT] (PORT: the UDP port)')
    .option('-t, --transport <kind>', 'sctp or tcp', 'sctp')
    .option('--seconds <n>', 'length of the call', positiveNumber(86_400), 10)
    .option('--rto-min <ms>', 'lower bound of the retransmission timeout (default 1000; 200 suits loopback)', rtoMin)
    .option('--json', 'print the report as JSON')
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (options: CallCommandOptions) => {
      process.exitCode = await runCall(options);
    });
}

const CONNECT_TIMEOUT_MS = 5000;

export async function runCall(o: CallCommandOptions): Promise<number> {
  let kind;
  let servers;
  try {
    kind = parseTransportKind(o.transport);
    servers = parseServerList(o.servers, kind, '--servers');
  } catch (error) {
    process.stderr.write(`baton call: ${(error as Error).message}\n`);
    return 2;
  }
  const server = servers[0]!;
  const local = server.address.startsWith('127.') ? '127.0.0.1' : server.address === '::1' ? '::1' : isIPv6(server.address) ? '::' : '0.0.0.0';
  const runtime = new UdpRuntime();
  const caller = await VoiceCaller.start({
    runtime,
    kind,
    local: { address: local, port: 0 },
    server,
    random: cryptoRandom,
    frames: Math.max(1, Math.ceil((o.seconds * 1000) / 20)),
    wallOffsetMs: Date.now() - runtime.now(),
    ...(o.rtoMin !== undefined ? { rtoMin: o.rtoMin } : {}),
  });
  const answered = await Promise.race([caller.finished.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(caller.connected), CONNECT_TIMEOUT_MS))]);
  if (!answered) {
    await caller.close();
    process.stderr.write(`baton call: no answer from ${server.address}:${server.port} within ${CONNECT_TIMEOUT_MS / 1000} s\n`);
    return 1;
  }
  await caller.finished;
  // The last frames' answers are on their way.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const r = caller.report();
  const broken = r.closed !== '' || runtime.now() - caller.lastFrameAt > 1300;
  await caller.close();
  process.stdout.write(o.json === true ? `${JSON.stringify({ ...r, broken })}\n` : `${line(r)}${broken ? ' BROKEN' : ''}\n`);
  return r.duplicates > 0 || broken ? 1 : 0;
}

function line(r: CallReport): string {
  const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
  return [
    `sent ${r.sent} (dropped at sender ${r.droppedAtSender})`,
    `received ${r.received}`,
    `lost ${r.lost}`,
    `duplicates ${r.duplicates}`,
    `cut ${r.corrupt}`,
    `late ${r.late}`,
    `takeovers ${r.takeovers}`,
    `echoed up to ${r.echoed}`,
    `delay ms p50 ${ms(r.delay.p50)} p95 ${ms(r.delay.p95)} p99 ${ms(r.delay.p99)} max ${ms(r.delay.max)}`,
    ...(r.closed !== '' ? [`closed ${r.closed}`] : []),
  ].join(', ');
}
