// `baton bench throughput`: one connection's goodput between two processes on loopback, measured
// in the same run as usrsctp's tsctp and the raw node:dgram ceiling, with the ratios.
//
//   node --import=tsx bench/throughput.ts [--transport sctp|tcp] [--seconds 5] [--message-size 1400] [--json]
//
// Figures are MB/s = 10^6 bytes per second of application payload, measured at the receiver from
// its first to its last byte.
import { benchScript, isMain, mbps, parseFlags, PROJECT_ROOT } from './child.js';
import { runUdpCeiling } from './udp-ceiling.js';
import { runUsrsctpTsctp } from './usrsctp-tsctp.js';
import { spawnProcess } from './process.js';
import { freeUdpPorts } from './ports.js';
import type { TransportKind } from '../src/transport-abstraction/transport.js';

export interface ThroughputOptions {
  readonly transport: TransportKind;
  readonly seconds?: number;
  /** Bytes per application write (and per usrsctp message, per ceiling datagram); default 1400. */
  readonly messageSize?: number;
  /** Skip the usrsctp / ceiling runs (their fields are then NaN). */
  readonly only?: 'baton';
}

export interface ThroughputResult {
  readonly transport: TransportKind;
  readonly seconds: number;
  readonly messageSize: number;
  readonly batonMBps: number;
  readonly usrsctpMBps: number;
  readonly udpCeilingMBps: number;
  readonly ratioToUsrsctp: number;
  readonly ratioToCeiling: number;
  readonly batonBytes: number;
}

/** baton's goodput alone: a receiver and a sender process over 127.0.0.1 (`authData` false: SCTP DATA without AUTH). */
export async function runBaton(transport: TransportKind, seconds = 5, messageSize = 1400, authData = true): Promise<{ mbps: number; bytes: number; seconds: number }> {
  const authArgs = authData ? [] : ['--auth-data', 'off'];
  const [rPort, sPort] = await freeUdpPorts(2, '127.0.0.1');
  const common = { cwd: PROJECT_ROOT, timeoutMs: (seconds + 60) * 1000 };
  const receiver = spawnProcess(
    process.execPath,
    [...benchScript('baton-peer'), '--role', 'receiver', '--transport', transport, '--local', `127.0.0.1:${rPort}`, ...authArgs],
    { ...common, name: `baton ${transport} receiver` },
  );
  try {
    await receiver.waitForLine(/^(LISTENING \d+|ERROR .*)$/, 30_000);
    if (receiver.lines.some((l) => l.startsWith('ERROR'))) throw new Error(receiver.describe());
    const sender = spawnProcess(
      process.execPath,
      [
        ...benchScript('baton-peer'),
        '--role',
        'sender',
        '--transport',
        transport,
        '--local',
        `127.0.0.1:${sPort}`,
        '--peer',
        `127.0.0.1:${rPort}`,
        '--seconds',
        String(seconds),
        '--message-size',
        String(messageSize),
        ...authArgs,
      ],
      { ...common, name: `baton ${transport} sender` },
    );
    try {
      const result = await Promise.race([
        receiver.waitForLine(/^RESULT (\d+) ([\d.]+)$/, (seconds + 45) * 1000),
        sender.waitForLine(/^ERROR /, (seconds + 45) * 1000).then(() => {
          throw new Error(sender.describe());
        }),
      ]);
      const bytes = Number(result[1]);
      const secs = Number(result[2]);
      return { mbps: mbps(bytes, secs), bytes, seconds: secs };
    } finally {
      await sender.kill();
    }
  } catch (error) {
    throw new Error(`baton ${transport} throughput run failed: ${(error as Error).message}\n${receiver.describe()}`);
  } finally {
    await receiver.kill();
  }
}

/** The three measurements, one after the other (so they do not compete for the CPUs). */
export async function runThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const seconds = options.seconds ?? 5;
  const messageSize = options.messageSize ?? 1400;
  const baton = await runBaton(options.transport, seconds, messageSize);
  const usrsctp = options.only === 'baton' ? NaN : (await runUsrsctpTsctp({ seconds, messageSize })).mbps;
  const ceiling = options.only === 'baton' ? NaN : (await runUdpCeiling({ seconds, messageSize })).mbps;
  return {
    transport: options.transport,
    seconds,
    messageSize,
    batonMBps: baton.mbps,
    usrsctpMBps: usrsctp,
    udpCeilingMBps: ceiling,
    ratioToUsrsctp: baton.mbps / usrsctp,
    ratioToCeiling: baton.mbps / ceiling,
    batonBytes: baton.bytes,
  };
}

export interface AuthDataCost {
  readonly seconds: number;
  readonly messageSize: number;
  /** Per round: goodput in MB/s with authenticated DATA and without, and with ÷ without. */
  readonly rounds: ReadonlyArray<{ readonly withAuth: number; readonly withoutAuth: number; readonly ratio: number }>;
  readonly ratio: { readonly min: number; readonly median: number; readonly max: number };
}

/**
 * The cost of authenticated SCTP DATA (SctpOptions.authenticateData): baton SCTP goodput with and
 * without, in interleaved rounds (the order alternates, so drift in the machine's load hits both
 * alike); each round's ratio with ÷ without, and their min / median / max.
 */
export async function runAuthDataCost(options: { readonly seconds?: number; readonly messageSize?: number; readonly rounds?: number }): Promise<AuthDataCost> {
  const seconds = options.seconds ?? 5;
  const messageSize = options.messageSize ?? 1400;
  const rounds: Array<{ withAuth: number; withoutAuth: number; ratio: number }> = [];
  for (let i = 0; i < (options.rounds ?? 5); i++) {
    let withAuth = NaN;
    let withoutAuth = NaN;
    for (const auth of i % 2 === 0 ? [true, false] : [false, true]) {
      const r = (await runBaton('sctp', seconds, messageSize, auth)).mbps;
      if (auth) withAuth = r;
      else withoutAuth = r;
    }
    rounds.push({ withAuth, withoutAuth, ratio: withAuth / withoutAuth });
  }
  const sorted = rounds.map((r) => r.ratio).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { seconds, messageSize, rounds, ratio: { min: sorted[0]!, median, max: sorted[sorted.length - 1]! } };
}

export function formatAuthDataCost(r: AuthDataCost): string {
  const lines = [`baton sctp, authenticated DATA vs not, ${r.messageSize}-byte writes, ${r.seconds} s each, loopback, interleaved rounds`];
  r.rounds.forEach((x, i) => lines.push(`  round ${i + 1}: with AUTH ${x.withAuth.toFixed(1)} MB/s, without ${x.withoutAuth.toFixed(1)} MB/s, ratio ${x.ratio.toFixed(3)}`));
  lines.push(`  with ÷ without: min ${r.ratio.min.toFixed(3)}, median ${r.ratio.median.toFixed(3)}, max ${r.ratio.max.toFixed(3)}`);
  return lines.join('\n');
}

/** The human-readable table the CLI prints. */
export function formatThroughput(r: ThroughputResult): string {
  const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
  const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '-');
  const row = (label: string, mbps: number, note = ''): string => `  ${label.padEnd(20)}${f(mbps).padStart(8)} MB/s${note}`;
  return [
    `transport ${r.transport}, ${r.messageSize}-byte writes, ${r.seconds} s each, loopback`,
    row(`baton (${r.transport})`, r.batonMBps),
    row('usrsctp tsctp', r.usrsctpMBps, `   baton/usrsctp ${ratio(r.ratioToUsrsctp)}`),
    row('node:dgram ceiling', r.udpCeilingMBps, `   baton/ceiling ${ratio(r.ratioToCeiling)}`),
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const flags = parseFlags(process.argv.slice(2));
  const transport = flags.get('transport') ?? 'sctp';
  if (transport !== 'sctp' && transport !== 'tcp') throw new Error(`unknown transport ${transport}`);
  const r = await runThroughput({
    transport,
    seconds: Number(flags.get('seconds') ?? 5),
    messageSize: Number(flags.get('message-size') ?? 1400),
    ...(flags.has('only-baton') ? { only: 'baton' as const } : {}),
  });
  process.stdout.write(flags.has('json') ? JSON.stringify(r) + '\n' : formatThroughput(r) + '\n');
}
