// SctpAssociation: outbound packets — the outbox of ready packets (handshake, replies, SACKs built
// while input was processed), then one packet per call bundling control chunks, a due SACK and
// DATA (§6.10), with AUTH in front where the peer requires it (PacketWriter).
import type { Instant, Transmit } from '../../transport-abstraction/transport.js';
import type { AssociationState, SctpAssociation } from '../association.js';
import { Timer } from '../timers.js';
import { abandonStale } from '../pr-sctp.js';
import type { Chunk } from '../wire/types.js';
import { chunkSizeFor } from '../options.js';

/** States in which DATA may be sent and is accepted. */
export const DATA_STATES: ReadonlySet<AssociationState> = new Set<AssociationState>(['ESTABLISHED', 'SHUTDOWN-PENDING', 'SHUTDOWN-RECEIVED']);

export function packetBytes(a: SctpAssociation, chunks: Chunk[], vtag: number): Uint8Array {
  const w = a.writer;
  w.auth = a.takeoverState?.auth;
  w.begin(a.host.sctpPort, a.remotePort, vtag, 1 << 16);
  for (const c of chunks) w.addChunk(c, true);
  return w.finish();
}

export function pollTransmit(a: SctpAssociation, now: Instant): Transmit | undefined {
  if (a.outboxHead < a.outbox.length) {
    const t = a.outbox[a.outboxHead++]!;
    if (a.outboxHead === a.outbox.length) {
      a.outbox = [];
      a.outboxHead = 0;
    }
    return t;
  }
  return buildPacket(a, now);
}

/** The next packet from the control queue, the SACK schedule and the data sender, if any. */
export function buildPacket(a: SctpAssociation, now: Instant): Transmit | undefined {
  if (a.state === 'CLOSED' || a.receiver === undefined) return undefined;
  const i = a.sendPath;
  const path = a.paths[i]!;
  const r = a.receiver;
  const dataAllowed = DATA_STATES.has(a.state);
  if (dataAllowed) abandonStale(a, now); // PR-SCTP: stale messages go, a FORWARD-TSN says so
  // Byte-stream cork (send-queue corkMs): closing flushes at once, otherwise arm the timer.
  const q = a.sender.queue;
  if (a.state !== 'ESTABLISHED') q.flushShort = true;
  if (!q.corked) q.corkDeadline = undefined;
  else q.corkDeadline ??= now + q.corkMs;
  // Path MTU discovery: new DATA chunks are cut to this path's PLPMTU (pmtu.ts).
  if (dataAllowed && a.options.plpmtud) q.setChunkSize(chunkSizeFor(a.options, path.mtu));
  const canData = dataAllowed && a.sender.canSend(i);
  // canSend() may have recorded a short chunk under the export barrier: re-export before it goes.
  runsChanged(a, now);
  const sack = r.sackNow || r.sackAtBatchEnd || (canData && a.timers.isArmed(Timer.DELAYED_SACK));
  if (!sack && !canData && a.control.length === 0) return undefined;
  const w = a.writer;
  w.auth = a.takeoverState?.auth;
  w.begin(a.host.sctpPort, a.remotePort, a.peerTag, path.mtu - 28);
  let destination = path.address;
  if (a.control.length > 0) {
    const rest: typeof a.control = [];
    for (const item of a.control) {
      const target = item.path ?? i;
      if (target === i) {
        if (!w.addChunk(item.chunk, w.count === 0)) rest.push(item);
      } else rest.push(item);
    }
    // Control chunks for another path go out in their own packet, first.
    if (w.count === 0 && rest.length > 0) {
      const item = rest.shift()!;
      const p = a.paths[item.path ?? i] ?? path;
      destination = p.address;
      w.addChunk(item.chunk, true);
      a.control = rest;
      return { source: a.local, destination, payload: w.finish() };
    }
    a.control = rest;
  }
  if (sack) {
    // A SACK that no longer fits behind the control chunks goes in the next packet.
    if (w.addChunk(r.makeSack(), true)) a.timers.stop(Timer.DELAYED_SACK);
    else r.sackNow = true;
  }
  if (canData) a.sender.fill(now, w, i);
  runsChanged(a, now);
  if (w.count === 0) return undefined;
  // A DATA chunk cut for a larger PLPMTU than the path has now (pmtu.ts): it may be fragmented.
  if (w.oversized) return { source: a.local, destination, payload: w.finish(), mayFragment: true };
  return { source: a.local, destination, payload: w.finish() };
}

/** The TSN map changed shape: a taker needs a fresh export (see send-queue runsChanged). */
function runsChanged(a: SctpAssociation, now: Instant): void {
  if (!a.sender.queue.runsChanged) return;
  a.sender.queue.runsChanged = false;
  a.events.push({ type: 'state-changed' });
  // Under the export barrier the app must see it now: the recorded chunk waits for its re-export.
  if (a.sender.queue.barrier) a.eventsDueAt ??= now;
}
