// Third-party SCTP-over-UDP peers for interop tests and benchmarks: where they live and how to
// call them. /work/notes/interop.md (and the comments here) describe their behaviour.
import { fileURLToPath } from 'node:url';
import type { UdpAddress } from '../../src/transport-abstraction/address.js';

export { USRSCTP, TSCTP_SERVER_SUMMARY, parseTsctpServer, type TsctpSummary } from '../../bench/usrsctp.js';

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
