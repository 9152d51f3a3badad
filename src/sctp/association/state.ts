// SctpAssociation: export of its state for a taker (the SctpState of proto/transport_state.proto)
// and the rebuild of an ESTABLISHED association from such a state; the takeover hooks fill in and
// use the rest (keys, serials, TSN map replay).
import type { UdpAddress } from '../../transport-abstraction/address.js';
import type { SctpState, TransportState } from '../../transport-abstraction/state-types.js';
import type { Instant } from '../../transport-abstraction/transport.js';
import type { SctpAssociation } from '../association.js';
import { Receiver } from '../receiver.js';
import { FAILOVER_CORK_MS } from '../send-queue.js';
import { tsnAdd } from '../serial.js';
import { peerSupportsForwardTsn } from '../pr-sctp.js';
import * as takeover from '../takeover-hooks.js';

export function exportState(a: SctpAssociation, now: Instant): TransportState {
  void now;
  const ep = (x: UdpAddress) => ({ address: x.address, port: a.remotePort, udpPort: x.port });
  const q = a.sender.queue;
  // A connection whose state is exported takes part in failover: keep its TSN map one open run
  // while it is fed continuously (short tails wait, see SendQueue.corkMs).
  q.corkMs = Math.max(q.corkMs, FAILOVER_CORK_MS);
  const sctp: SctpState = {
    localVerificationTag: a.localTag,
    peerVerificationTag: a.peerTag,
    localInitialTsn: a.localInitialTsn,
    peerInitialTsn: a.peerInitialTsn,
    tsnMap: q.exportRuns(),
    localKeyVector: a.localKeyVector,
    peerKeyVector: a.peerKeyVector,
    endpointPairKey: new Uint8Array(0),
    hmacId: 0,
    sharedKeyId: 0,
    x25519Agreed: false,
    peerAddresses: a.paths.map((p) => ep(p.address)),
    localAddresses: [{ address: a.local.address, port: a.host.sctpPort, udpPort: a.local.port }],
    nextAsconfSerial: 0,
    peerAsconfSerial: 0,
    outboundStreams: a.outboundStreams,
    inboundStreams: a.inboundStreams,
    // The acknowledged point (ack-point.ts), not the cumulative TSN received: what an acknowledge
    // limit holds is the peer's to resend, and a taker must accept it as new.
    peerCumulativeTsn: a.receiver?.ackPoint.ackedTsn ?? tsnAdd(a.peerInitialTsn, -1),
    peerReceiverWindow: a.sender.peerAdvertised,
    inboundNextSsn: a.receiver ? a.receiver.ackPoint.inboundSsnsAt(a.receiver.reassembly.nextSsn) : [],
    pathMtu: a.options.mtu,
    peerStreamOffset: a.receiver?.ackPoint.ackedOffset ?? 0,
    ...(peerSupportsForwardTsn(a) ? { peerForwardTsn: true } : {}),
    // Message mode: a taker continues the ordered streams from here (pr-sctp.ts messageResume).
    ...(a.options.mode === 'message' ? { outboundSsns: { nextTsn: q.nextTsn, nextSsn: [...q.nextSsn] } } : {}),
  };
  const state: TransportState = {
    client: ep(a.remote),
    server: { address: a.local.address, port: a.host.sctpPort, udpPort: a.local.port },
    sctp,
    takeoverNumber: 0,
    ownerId: '',
    takenAtMs: 0,
    streamBytesSent: q.chunkedOffset,
    streamBytesAcked: a.ackedStreamOffset(),
  };
  if (a.takeoverState) takeover.exportInto(a, state);
  return state;
}

/**
 * Rebuild from exported state (importState): ESTABLISHED, tags and TSNs as exported, the peer's
 * data acknowledged through peerCumulativeTsn. The takeover module completes the rest.
 */
export function restore(a: SctpAssociation, now: Instant, s: SctpState): void {
  a.peerTag = s.peerVerificationTag;
  a.peerInitialTsn = s.peerInitialTsn;
  a.outboundStreams = s.outboundStreams || a.options.outboundStreams;
  a.inboundStreams = s.inboundStreams || a.options.inboundStreams;
  a.localKeyVector = s.localKeyVector;
  a.peerKeyVector = s.peerKeyVector;
  a.receiver = new Receiver(tsnAdd(s.peerCumulativeTsn, 1), a.inboundStreams, a.options.receiveWindow, (stream, bytes) => {
    a.events.push({ type: 'data', stream, bytes });
  });
  // receivedOffset counts from the association's first byte, as on TCP-Migrate.
  a.receiver.ackPoint.receivedOffset = a.receiver.ackPoint.ackedOffset = s.peerStreamOffset;
  s.inboundNextSsn.forEach((v, i) => {
    if (i < a.receiver!.reassembly.nextSsn.length) a.receiver!.reassembly.nextSsn[i] = v;
  });
  for (const x of s.peerAddresses.slice(1)) a.addPeerAddress({ address: x.address, port: x.udpPort }, true);
  a.paths[0]!.confirmed = true;
  a.pr.importedPeerSupport = s.peerForwardTsn === true;
  a.sender.peerRwnd = s.peerReceiverWindow;
  a.sender.peerAdvertised = s.peerReceiverWindow;
  a.transition('ESTABLISHED', 'restored from exported state');
  void now;
}
