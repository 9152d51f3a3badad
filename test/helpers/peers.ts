// Third-party SCTP-over-UDP peers for interop tests and benchmarks: where they live and how to
// call them. /work/notes/interop.md (and the comments here) describe their behaviour.
import { fileURLToPath } from 'node:url';
import type { UdpAddress } from '../../src/transport-abstraction/address.js';

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

/** The npm `sctp` package (v1.0.0) as a child process: see test/helpers/node-sctp-peer.cjs. */
export const NODE_SCTP_PEER = fileURLToPath(new URL('./node-sctp-peer.cjs', import.meta.url));

export interface NodeSctpPeerOptions {
  readonly role: 'client' | 'server';
  readonly local: UdpAddress;
  readonly peer: UdpAddress;
  /** Default 5001 each. A server accepts only an association from peerSctpPort. */
  readonly localSctpPort?: number;
  readonly peerSctpPort?: number;
  readonly send?: string;
  readonly chunkSize?: number;
  readonly echo?: boolean;
  readonly expect?: number;
  readonly closeAfterSend?: boolean;
}

/** Arguments for `node` (the script path first). */
export function nodeSctpPeerArgs(o: NodeSctpPeerOptions): string[] {
  const args = [
    NODE_SCTP_PEER,
    '--role',
    o.role,
    '--local',
    `${o.local.address}:${o.local.port}`,
    '--peer',
    `${o.peer.address}:${o.peer.port}`,
  ];
  if (o.localSctpPort !== undefined) args.push('--local-sctp-port', String(o.localSctpPort));
  if (o.peerSctpPort !== undefined) args.push('--peer-sctp-port', String(o.peerSctpPort));
  if (o.send !== undefined) args.push('--send', o.send);
  if (o.chunkSize !== undefined) args.push('--chunk-size', String(o.chunkSize));
  if (o.echo) args.push('--echo');
  if (o.expect !== undefined) args.push('--expect', String(o.expect));
  if (o.closeAfterSend) args.push('--close-after-send');
  return args;
}

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
