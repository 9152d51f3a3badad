// A peer restart handled in place (RFC 9260 §5.2.4, action A). The peer came back from the same
// addresses with a new INIT (§5.2.2: we answered with a fresh Initiate Tag and our Tie-Tags in the
// cookie) and its COOKIE ECHO carries those Tie-Tags with two new tags. §5.2.4 A: "the existing
// session is treated the same as if it received an ABORT chunk followed by a new COOKIE ECHO
// chunk", except that a RESTART is reported to the user instead of a lost association, and DATA
// MAY be retained. So the association object stays (the application's handle, the endpoint's
// entry), and everything of the old incarnation goes:
//  - tags, initial TSNs, streams, RANDOM and the peer's INIT values become the cookie's;
//  - paths are made afresh: congestion control (cwnd, ssthresh) back to its initial values
//    (§5.2.4, §7.2.1), RTO as for a new peer (§6.3.1), the peer's addresses as its INIT lists them;
//  - outbound DATA is not retained (usrsctp does the same, sctp_report_all_outbound): the
//    restarted peer no longer knows the stream it belonged to, so a byte stream continued into the
//    new incarnation would splice two streams. What send() had accepted and the peer never
//    acknowledged is counted in the 'restarted' event; the stream offset starts again at 0;
//  - inbound: messages delivered before stay in the event queue ahead of 'restarted' (their bytes
//    still count against the receive window until read); partial messages are dropped;
//  - baton's own state (takeover-hooks.ts) starts over as for an association we accepted: AUTH is
//    keyed from the new key vectors and a new x25519 agreement with the peer's new key, takeover
//    numbers and ASCONF serials start from the new initial TSNs, no previous or pending re-key key
//    survives. A state exported before the restart names the old tags and key, so a taker built
//    from it is refused; the export generation keeps counting up (the queue's barrier never takes
//    a confirmation of an export from before the restart for one made after it).
// In SHUTDOWN-ACK-SENT there is no restart (§5.2.4: handshake.ts answers). A user who had asked
// to close (SHUTDOWN-PENDING, SHUTDOWN-SENT) still gets the close: the restarted association goes
// on to SHUTDOWN at once, having nothing to send.
import type { UdpAddress } from '../transport-abstraction/address.js';
import type { Instant } from '../transport-abstraction/transport.js';
import type { SctpAssociation } from './association.js';
import { acknowledgeCookie, established, learnPeer, newAddresses, refuseNewAddresses } from './association/handshake.js';
import { progressShutdown } from './association/shutdown.js';
import { supervisePaths } from './association/timers.js';
import type { CookieContents } from './cookie.js';
import type { PeerInit } from './handshake.js';
import { Path } from './path.js';
import { Sender } from './sender.js';
import { TakeoverState } from './takeover-hooks.js';
import type { Packet } from './wire/types.js';

/** Carry out §5.2.4 A on `a` with the restarted peer's cookie; COOKIE ACK and bundled chunks follow. */
export function restartInPlace(a: SctpAssociation, now: Instant, from: UdpAddress, cookie: CookieContents, peer: PeerInit, packet: Packet, raw: Uint8Array, index: number): void {
  // The INIT was checked for new addresses when we answered it (§5.2.2); check again, since the
  // association's addresses may have changed (ADD-IP) while the cookie was out.
  const added = newAddresses(a, peer.params, from);
  if (added.length > 0) {
    refuseNewAddresses(a, from, added, peer.tag);
    return;
  }
  const before = a.state;
  const wasOpen = before !== 'COOKIE-WAIT' && before !== 'COOKIE-ECHOED';
  const closing = before === 'SHUTDOWN-PENDING' || before === 'SHUTDOWN-SENT';
  const discardedBytes = a.bufferedAmount;
  const o = a.options;

  // Nothing of the old incarnation is sent any more: its packets carry the old tags.
  a.timers.stopAll();
  a.outbox = [];
  a.outboxHead = 0;
  a.control = [];
  a.initPacket = undefined;
  a.cookieEcho = undefined;
  a.initRetransmits = 0;
  a.cookiePreservative = 0;
  a.errorCount = 0;
  a.endEmitted = false;
  a.formerPeerAddresses.length = 0;

  // Our side of the new incarnation, as our INIT ACK offered it (the cookie).
  a.localTag = cookie.localTag;
  a.localInitialTsn = cookie.localInitialTsn;
  a.tieTags = undefined;
  a.useLocalRandom(cookie.localRandom, cookie.localExtraParams);

  // Fresh paths, congestion and RTO state; learnPeer adds the peer's other addresses.
  a.paths.length = 0;
  a.primary = 0;
  a.paths.push(new Path(from, o.mtu, o.rto, o.receiveWindow, true));

  // A new outbound queue at the new TSN; the export generation goes on counting (see above).
  const old = a.sender.queue;
  const sender = new Sender(o.mode, o.chunkSize, a.localInitialTsn, o.outboundStreams, o.receiveWindow, a.paths);
  sender.ppid = a.sender.ppid;
  sender.maxBurst = a.sender.maxBurst;
  sender.queue.barrier = old.barrier;
  sender.queue.corkMs = old.corkMs;
  sender.queue.generation = old.generation;
  sender.queue.confirmedGeneration = old.generation;
  a.sender = sender;

  // The old receiver's delivered but unread bytes still take room in the receive buffer.
  const unread = a.receiver?.unreadBytes ?? 0;
  if (a.takeoverState) a.takeoverState = new TakeoverState(a.takeoverState.secret, 'responder');
  learnPeer(a, peer, from);
  a.receiver!.unreadBytes = unread;

  if (!wasOpen) {
    established(a, now); // a restart before we were up is simply the association coming up
  } else {
    a.transition('ESTABLISHED', 'the peer restarted (RFC 9260 §5.2.4 A)');
    a.events.push({ type: 'restarted', discardedBytes });
    a.events.push({ type: 'state-changed' });
    supervisePaths(a, now);
    if (a.wantWritable) {
      a.wantWritable = false;
      a.events.push({ type: 'writable' });
    }
  }
  a.toEndpoint({ type: 'routing-changed' });
  acknowledgeCookie(a, now, from, packet, raw, index);
  if (closing) {
    a.transition('SHUTDOWN-PENDING', 'close() was called before the peer restarted');
    progressShutdown(a, now);
  }
}
