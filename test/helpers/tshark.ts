// Decode an SCTP-over-UDP capture with tshark (Debian's, 4.x) and report what it thinks of every
// frame: chunk types, CRC32c status (validation switched on: `-o sctp.checksum:CRC-32C`), and its
// expert infos, including "Malformed Packet" and "Bad SCTP checksum".
//
// Field output is used instead of -T json because tshark's JSON repeats keys (ip.addr twice, ...)
// and JSON.parse keeps only the last.
import { execFile } from 'node:child_process';
import { spawnProcess, type SpawnOptions } from './process.js';

export const TSHARK = '/usr/bin/tshark';

/** Expert-info severities (epan/proto.h PI_SEVERITY_MASK values). */
const SEVERITY: Record<number, ExpertSeverity> = {
  0x00100000: 'comment',
  0x00200000: 'chat',
  0x00400000: 'note',
  0x00600000: 'warning',
  0x00800000: 'error',
};

/** Expert-info groups (epan/proto.h PI_GROUP_MASK values) that matter here. */
const GROUP: Record<number, string> = {
  0x01000000: 'checksum',
  0x02000000: 'sequence',
  0x03000000: 'response-code',
  0x04000000: 'request-code',
  0x05000000: 'undecoded',
  0x06000000: 'reassemble',
  0x07000000: 'malformed',
  0x08000000: 'debug',
  0x09000000: 'protocol',
  0x0a000000: 'security',
  0x0b000000: 'comments',
  0x0c000000: 'decryption',
  0x0d000000: 'assumption',
  0x0e000000: 'deprecated',
};

export type ExpertSeverity = 'comment' | 'chat' | 'note' | 'warning' | 'error' | 'unknown';

export interface ExpertInfo {
  readonly frame: number;
  readonly severity: ExpertSeverity;
  readonly group: string;
  readonly message: string;
}

export interface TsharkFrame {
  readonly number: number;
  /** e.g. "raw:ip:udp:sctp" */
  readonly protocols: string;
  /** tshark's Info column, e.g. "INIT", "DATA (TSN=0) SACK (Ack=0, Arwnd=131072)" */
  readonly info: string;
  /** IPv4 or IPv6 source / destination address. */
  readonly source: string;
  readonly destination: string;
  readonly udpSourcePort: number;
  readonly udpDestinationPort: number;
  /** SCTP chunk type numbers in the frame, in order. */
  readonly chunkTypes: readonly number[];
  /** tshark's CRC32c verdict: good, bad, or unverified (no SCTP or validation off). */
  readonly checksum: 'good' | 'bad' | 'unverified';
  readonly malformed: boolean;
  readonly expert: readonly ExpertInfo[];
}

export interface TsharkDecode {
  readonly frames: readonly TsharkFrame[];
  /** Every expert info of severity warning or error, from all frames. */
  readonly problems: readonly ExpertInfo[];
  /** Frames tshark marked malformed. */
  readonly malformedFrames: readonly number[];
  /** Frames whose CRC32c tshark found wrong. */
  readonly badChecksumFrames: readonly number[];
  /** Frames that did not decode as SCTP at all. */
  readonly nonSctpFrames: readonly number[];
}

export interface DecodeOptions {
  /** UDP ports to decode as SCTP (RFC 6951 encapsulation), e.g. [9899]. */
  readonly udpPorts: readonly number[];
  readonly timeoutMs?: number;
  /** Extra tshark arguments (e.g. a display filter: ['-Y', 'sctp']). */
  readonly extraArgs?: readonly string[];
}

const FIELDS = [
  'frame.number',
  'frame.protocols',
  '_ws.col.Info',
  'ip.src',
  'ip.dst',
  'ipv6.src',
  'ipv6.dst',
  'udp.srcport',
  'udp.dstport',
  'sctp.chunk_type',
  'sctp.checksum.status',
  '_ws.malformed',
  '_ws.expert.severity',
  '_ws.expert.group',
  '_ws.expert.message',
] as const;

const SEP = '\t';
const AGG = '\x1e'; // within a field, between occurrences

function run(args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(TSHARK, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 256 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`tshark ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function decodeAs(ports: readonly number[]): string[] {
  return ports.flatMap((p) => ['-d', `udp.port==${p},sctp`]);
}

/** Decode `file`, reading UDP `udpPorts` as SCTP, with CRC32c validation on. */
export async function decodeSctpCapture(file: string, options: DecodeOptions): Promise<TsharkDecode> {
  const args = [
    '-n',
    '-r',
    file,
    ...decodeAs(options.udpPorts),
    '-o',
    'sctp.checksum:CRC-32C',
    ...(options.extraArgs ?? []),
    '-T',
    'fields',
    '-E',
    'separator=/t',
    '-E',
    'occurrence=a',
    '-E',
    `aggregator=${AGG}`,
    '-E',
    'quote=n',
    ...FIELDS.flatMap((f) => ['-e', f]),
  ];
  const out = await run(args, options.timeoutMs ?? 30_000);
  return parseFields(out);
}

/** tshark's full packet details (-V) as text: for notes and failure messages. */
export function describeSctpCapture(file: string, udpPorts: readonly number[], timeoutMs = 30_000): Promise<string> {
  return run(['-n', '-r', file, ...decodeAs(udpPorts), '-o', 'sctp.checksum:CRC-32C', '-V'], timeoutMs);
}

/** Parse the field output of decodeSctpCapture (exported for the helper's own test). */
export function parseFields(out: string): TsharkDecode {
  const frames: TsharkFrame[] = [];
  for (const line of out.split('\n')) {
    if (line.trim() === '') continue;
    const cols = line.split(SEP);
    const get = (name: (typeof FIELDS)[number]): string[] => {
      const v = cols[FIELDS.indexOf(name)] ?? '';
      return v === '' ? [] : v.split(AGG);
    };
    const number = Number(get('frame.number')[0]);
    const severities = get('_ws.expert.severity').map(Number);
    const groups = get('_ws.expert.group').map(Number);
    const messages = get('_ws.expert.message');
    const expert: ExpertInfo[] = messages.map((message, i) => ({
      frame: number,
      message,
      severity: SEVERITY[severities[i] ?? -1] ?? 'unknown',
      group: GROUP[groups[i] ?? -1] ?? `0x${(groups[i] ?? 0).toString(16)}`,
    }));
    const status = get('sctp.checksum.status');
    const protocols = get('frame.protocols')[0] ?? '';
    frames.push({
      number,
      protocols,
      info: (get('_ws.col.Info')[0] ?? '').trim(),
      source: get('ip.src')[0] ?? get('ipv6.src')[0] ?? '',
      destination: get('ip.dst')[0] ?? get('ipv6.dst')[0] ?? '',
      udpSourcePort: Number(get('udp.srcport')[0] ?? NaN),
      udpDestinationPort: Number(get('udp.dstport')[0] ?? NaN),
      chunkTypes: get('sctp.chunk_type').map(Number),
      // PROTO_CHECKSUM_E_BAD = 0, _GOOD = 1, _UNVERIFIED = 2
      checksum: status.includes('0') ? 'bad' : status.includes('1') ? 'good' : 'unverified',
      malformed: get('_ws.malformed').length > 0 || expert.some((e) => e.group === 'malformed'),
      expert,
    });
  }
  return {
    frames,
    problems: frames.flatMap((f) => f.expert.filter((e) => e.severity === 'warning' || e.severity === 'error')),
    malformedFrames: frames.filter((f) => f.malformed).map((f) => f.number),
    badChecksumFrames: frames.filter((f) => f.checksum === 'bad').map((f) => f.number),
    nonSctpFrames: frames.filter((f) => !f.protocols.split(':').includes('sctp')).map((f) => f.number),
  };
}

/** Names of the SCTP chunk types tshark reports, for readable assertions. */
export const CHUNK_NAMES: Record<number, string> = {
  0: 'DATA',
  1: 'INIT',
  2: 'INIT_ACK',
  3: 'SACK',
  4: 'HEARTBEAT',
  5: 'HEARTBEAT_ACK',
  6: 'ABORT',
  7: 'SHUTDOWN',
  8: 'SHUTDOWN_ACK',
  9: 'ERROR',
  10: 'COOKIE_ECHO',
  11: 'COOKIE_ACK',
  14: 'SHUTDOWN_COMPLETE',
  15: 'AUTH',
  128: 'ASCONF_ACK',
  192: 'FORWARD_TSN',
  193: 'ASCONF',
};

export interface LoopbackCapture {
  readonly file: string;
  /** Stop capturing (SIGINT lets dumpcap finish the file) and wait for it to exit. */
  stop(): Promise<void>;
}

/**
 * Capture UDP traffic on `lo` for the given ports with dumpcap (root or CAP_NET_RAW needed) into
 * `file` (pcapng). dumpcap prints "Capturing on" some 20-30 ms before its filter really sees
 * packets, and a SIGINT loses what it has not read yet (measured: the last ~50 ms); so this waits
 * `settleMs` (default 300) after the banner, and stop() waits as long again before the SIGINT.
 */
export async function captureLoopback(
  file: string,
  udpPorts: readonly number[],
  options: { readonly t?: SpawnOptions['t']; readonly timeoutMs?: number; readonly settleMs?: number } = {},
): Promise<LoopbackCapture> {
  const settle = options.settleMs ?? 300;
  const filter = udpPorts.map((p) => `udp port ${p}`).join(' or ');
  const p = spawnProcess('/usr/bin/dumpcap', ['-q', '-i', 'lo', '-f', filter, '-w', file], {
    name: 'dumpcap',
    t: options.t,
    timeoutMs: options.timeoutMs ?? 120_000,
  });
  await p.waitForLine(/Capturing on/, 10_000, 'stderr');
  await new Promise((r) => setTimeout(r, settle));
  return {
    file,
    async stop() {
      await new Promise((r) => setTimeout(r, settle));
      await p.kill('SIGINT', 3000);
      const captured = /Packets captured: (\d+)/.exec(p.stderr);
      if (!captured) throw new Error(`dumpcap did not finish cleanly: ${p.describe()}`);
    },
  };
}
