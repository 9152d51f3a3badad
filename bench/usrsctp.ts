// usrsctp's example programs (Debian libusrsctp-examples): where they live and how to read tsctp's
// summary. Used by the usrsctp benchmark and, through test/helpers/peers.ts, by the interop tests.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './child.js';

/** Debian's libusrsctp-examples (0.9.5.0). Every program binds its UDP socket to 0.0.0.0 and [::]. */
export const USRSCTP = {
  /** echo_server [local_encaps_port [remote_encaps_port]]: SCTP port 7, echoes each complete message (≤ 10240 bytes). */
  echoServer: '/usr/lib/usrsctp/echo_server',
  /** discard_server [local_encaps_port [remote_encaps_port]]: SCTP port 9; stdout floods with debug lines. */
  discardServer: '/usr/lib/usrsctp/discard_server',
  /** client remote_addr remote_port local_port local_encaps_port remote_encaps_port: stdin lines out, data to stdout. */
  client: '/usr/lib/usrsctp/client',
  /** tsctp [-E local_encaps] [-U remote_encaps] [-l len] [-n count | -T secs] [-L local_ip] [-p port] [address] */
  tsctp: '/usr/lib/usrsctp/tsctp',
  /** http_client remote_addr remote_port [local_port] [local_encaps] [remote_encaps] [uri]: HTTP/1.0 GET, response to stdout among debug lines. */
  httpClient: '/usr/lib/usrsctp/http_client',
} as const;

/** tsctp's receiver summary line: "length, messages, recv calls, bytes, seconds, B/s, notifications". */
export const TSCTP_SERVER_SUMMARY = /^(\d+), (\d+), (\d+), (\d+), ([\d.]+), ([\d.]+), (\d+)$/;

export interface TsctpSummary {
  readonly messageLength: number;
  readonly messages: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly bytesPerSecond: number;
}

/** The last receiver summary in tsctp server output, if any. */
export function parseTsctpServer(text: string): TsctpSummary | undefined {
  let found: TsctpSummary | undefined;
  for (const line of text.split('\n')) {
    const m = TSCTP_SERVER_SUMMARY.exec(line);
    if (m) {
      found = { messageLength: Number(m[1]), messages: Number(m[2]), bytes: Number(m[4]), seconds: Number(m[5]), bytesPerSecond: Number(m[6]) };
    }
  }
  return found;
}

/**
 * The LD_PRELOAD shim that turns usrsctp's debug tracing off (bench/usrsctp-quiet.c), compiled
 * on first use with the system C compiler into node_modules/.cache/baton/. Throws, naming the
 * missing compiler, if it cannot be built: a usrsctp figure with tracing on would flatter baton.
 */
export function quietLibrary(): string {
  const source = join(PROJECT_ROOT, 'bench', 'usrsctp-quiet.c');
  const dir = join(PROJECT_ROOT, 'node_modules', '.cache', 'baton');
  const output = join(dir, 'usrsctp-quiet.so');
  if (existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) return output;
  mkdirSync(dir, { recursive: true });
  const compiler = process.env['CC'] ?? 'cc';
  try {
    execFileSync(compiler, ['-shared', '-fPIC', '-O2', '-o', output, source], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(`cannot build ${source} with ${compiler} (install gcc, or set CC): ${(error as Error).message}`);
  }
  return output;
}
