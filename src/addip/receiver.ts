// The receiving side of RFC 5061: process an ASCONF, build its ASCONF-ACK, keep the serial number
// and the cached ACK, and apply baton's at-most-once takeover rule. Sans-IO: the association hands
// in the parsed chunk, the packet's source, whether AUTH verified it, and its peer address set; it
// gets back what to send and what changed.
//
// Serial numbers (RFC 5061 §5.2): serial == peerSerial + 1 → process and cache the ACK;
// serial == peerSerial → resend the cached ACK; anything else → drop silently.
//
// Takeover (baton parameter 0xbaf2 with request number n), only on authenticated ASCONFs that add
// their own source address (an ASCONF relayed from another address is dropped as unauthenticated):
//  - n > last accepted → process (whatever the serial: the taker's state may be older than another
//    ASCONF exchange; the number governs), remember n, cache the ACK, peerSerial := serial; then
//    every peer address but the taker's (the packet's source) is deleted: a takeover leaves
//    exactly the taker, whatever its state knew;
//  - otherwise, if it is byte-for-byte the ASCONF whose ACK is cached (same serial, same source,
//    same parameters) → resend the cached ACK (a plain retransmission);
//  - otherwise → refuse: an ASCONF-ACK with the request's serial, every request parameter answered
//    with REQUEST_REFUSED_NO_AUTHORIZATION + BATON_TAKEOVER_NUMBER_USED (see causes.ts); nothing
//    changes, nothing is cached.
import type { UdpAddress } from '../transport-abstraction/address.js';
import { CauseCode, ParamType, type AsconfAckChunk, type AsconfChunk, type AsconfParam, type ErrorCause } from '../sctp/wire/types.js';
import { type PeerAddressTable, encodeAddressParam, ipOf, isUnicast, isWildcard } from './addresses.js';
import { emitAsconfParam } from '../sctp/wire/params.js';
import { takeoverRefusedCauses } from './causes.js';
import { takeoverDistance, takeoverNumberAcceptable } from '../transport-abstraction/transport.js';

export type AddressChange =
  | { readonly kind: 'added'; readonly address: UdpAddress }
  | { readonly kind: 'deleted'; readonly address: UdpAddress }
  | { readonly kind: 'primary'; readonly address: UdpAddress };

export interface TakeoverVerdict {
  readonly requestNumber: number;
  readonly accepted: boolean;
  /**
   * Why it was refused: 'number-used' (same or older than accepted), 'number-too-far' (more than
   * TAKEOVER_STEP ahead: see the takeover-number rule in transport.ts), 'not-authenticated'.
   */
  readonly reason?: string;
}

export type AsconfOutcome =
  | { readonly kind: 'drop'; readonly reason: 'not-authenticated' | 'stale-serial' | 'future-serial'; readonly takeover?: TakeoverVerdict }
  | {
      readonly kind: 'ack';
      readonly ack: AsconfAckChunk;
      /** RFC 5061 §5.2: the ACK goes to the source address of the ASCONF. */
      readonly destination: UdpAddress;
      /** True when this is the cached ACK sent again (nothing changed). */
      readonly retransmission: boolean;
      readonly changes: readonly AddressChange[];
      readonly takeover?: TakeoverVerdict;
    };

function identity(asconf: AsconfChunk, from: UdpAddress): string {
  return JSON.stringify([asconf.serial, from.address, from.port, ipOf(asconf.address), asconf.params], (_k, v: unknown) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
  );
}

function tlvCopy(p: Extract<AsconfParam, { kind: 'add-ip' | 'delete-ip' | 'set-primary' }>): Uint8Array {
  const addr = encodeAddressParam(p.address);
  const out = new Uint8Array(8 + addr.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, p.type);
  v.setUint16(2, out.length);
  v.setUint32(4, p.correlationId);
  out.set(addr, 8);
  return out;
}

export class AsconfReceiver {
  /** Serial number of the last ASCONF processed from the peer (initially peer's initial TSN - 1). */
  peerSerial: number;
  /** Last takeover request number accepted, in serial order (0: never taken over). */
  lastTakeover: number;
  private cached: { readonly identity: string; readonly serial: number; readonly ack: AsconfAckChunk } | undefined;

  constructor(peerSerial: number, lastTakeover = 0) {
    this.peerSerial = peerSerial >>> 0;
    this.lastTakeover = lastTakeover;
  }

  handle(asconf: AsconfChunk, from: UdpAddress, peers: PeerAddressTable, authenticated: boolean): AsconfOutcome {
    const takeoverParam = asconf.params.find((p) => p.kind === 'baton-takeover');
    const n = takeoverParam?.kind === 'baton-takeover' ? takeoverParam.requestNumber : undefined;
    if (!authenticated) {
      return { kind: 'drop', reason: 'not-authenticated', ...(n === undefined ? {} : { takeover: { requestNumber: n, accepted: false, reason: 'not-authenticated' } }) };
    }
    const id = identity(asconf, from);
    const resend = (): AsconfOutcome => ({ kind: 'ack', ack: this.cached!.ack, destination: from, retransmission: true, changes: [] });

    if (n !== undefined) {
      const fresh = n !== 0 && takeoverNumberAcceptable(n, this.lastTakeover);
      if (fresh && !namesItsSource(asconf, from)) {
        // AUTH covers the chunk, not the IP header: someone who relays a taker's ASCONF from
        // their own address would otherwise become the peer (and consume the number, so the real
        // taker is refused). A takeover is authentic only for the address it adds: an Add IP
        // Address equal to the packet's source (a wildcard, RFC 5061 §4.2.4, binds nothing and does
        // not count). Dropped silently — no answer to the relayer, nothing consumed, nothing cached.
        return { kind: 'drop', reason: 'not-authenticated', takeover: { requestNumber: n, accepted: false, reason: 'not-authenticated' } };
      }
      if (fresh) {
        const result = this.process(asconf, from, peers, id, true);
        this.lastTakeover = n;
        return { ...result, takeover: { requestNumber: n, accepted: true } };
      }
      if (this.cached?.identity === id) return resend();
      const causes = takeoverRefusedCauses(this.lastTakeover);
      const params: AsconfParam[] = asconf.params.flatMap((p): AsconfParam[] =>
        p.kind === 'add-ip' || p.kind === 'delete-ip' || p.kind === 'set-primary'
          ? [{ type: ParamType.ERROR_CAUSE_INDICATION, kind: 'error-cause', correlationId: p.correlationId, causes }]
          : [],
      );
      if (params.length === 0) params.push({ type: ParamType.ERROR_CAUSE_INDICATION, kind: 'error-cause', correlationId: 0, causes });
      return {
        kind: 'ack',
        ack: { type: 0x80, serial: asconf.serial, params },
        destination: from,
        retransmission: false,
        changes: [],
        takeover: { requestNumber: n, accepted: false, reason: takeoverDistance(n, this.lastTakeover) === 0 || takeoverDistance(this.lastTakeover, n) < 2 ** 31 ? 'number-used' : 'number-too-far' },
      };
    }

    const expected = (this.peerSerial + 1) >>> 0;
    if (asconf.serial === expected) return this.process(asconf, from, peers, id);
    if (asconf.serial === this.peerSerial && this.cached?.serial === asconf.serial) return resend();
    return { kind: 'drop', reason: serialLess(asconf.serial, expected) ? 'stale-serial' : 'future-serial' };
  }

  /**
   * `takeover`: the ASCONF is an accepted takeover, after which the association holds exactly the
   * taker (the packet's source). The taker's state names only the servers it knew of (the one it
   * replaces); a takeover from an older state (A → B, then C from A's state) would otherwise leave
   * B in the association, untold. So the client's acceptance rule deletes every other peer address
   * itself; such a server learns it at its next packet (out of the blue → ABORT "taken over").
   */
  private process(asconf: AsconfChunk, from: UdpAddress, peers: PeerAddressTable, id: string, takeover = false): AsconfOutcome & { kind: 'ack' } {
    const changes: AddressChange[] = [];
    const responses: AsconfParam[] = [];
    const error = (correlationId: number, code: number, info: Uint8Array = new Uint8Array(0)): void => {
      const causes: ErrorCause[] = [{ code, info }];
      responses.push({ type: ParamType.ERROR_CAUSE_INDICATION, kind: 'error-cause', correlationId, causes });
    };
    const success = (correlationId: number): void => {
      responses.push({ type: ParamType.SUCCESS_INDICATION, kind: 'success', correlationId });
    };
    for (const p of asconf.params) {
      if (p.kind === 'baton-takeover' || p.kind === 'success' || p.kind === 'error-cause') continue;
      if (p.kind === 'unknown') {
        // RFC 5061 §5.2 with RFC 9260 §3.2.1's action bits: 00 stop, 01 stop and report,
        // 10 skip, 11 skip and report. The report is an Error Cause Indication in the ASCONF-ACK
        // carrying Unrecognized Parameters (cause 8) with the whole parameter, under the
        // correlation id every ASCONF request parameter starts with (§4.2).
        if ((p.type & 0x4000) !== 0) error(correlationIdOf(p.value), CauseCode.UNRECOGNIZED_PARAMETERS, emitAsconfParam(p));
        if ((p.type & 0x8000) === 0) break;
        continue;
      }
      const ip = ipOf(p.address);
      if (ip === undefined) {
        error(p.correlationId, CauseCode.UNRESOLVABLE_ADDRESS, tlvCopy(p));
        continue;
      }
      const wildcard = isWildcard(ip);
      const target = wildcard ? from.address : ip;
      if (p.kind === 'add-ip') {
        if (!isUnicast(target)) {
          // A broadcast or multicast address is no transport address (RFC 9260 §3.3.2.1 lists
          // unicast addresses only); refused as Linux does (addr_valid → Unresolvable Address).
          error(p.correlationId, CauseCode.UNRESOLVABLE_ADDRESS, tlvCopy(p));
          continue;
        }
        // RFC 5061 §4.2.1: adding an address already in the association is a success.
        const address = { address: target, port: from.port };
        if (peers.add(address)) changes.push({ kind: 'added', address });
        success(p.correlationId);
      } else if (p.kind === 'delete-ip') {
        if (wildcard) {
          for (const a of [...peers.list()]) {
            if (a.address !== from.address && peers.remove(a.address)) changes.push({ kind: 'deleted', address: a });
          }
          success(p.correlationId);
        } else if (peers.size === 1 && peers.has(ip)) {
          // RFC 5061 §5.2.1 D7 before D8: the last remaining address is refused as such, also
          // when the packet came from it.
          error(p.correlationId, CauseCode.REQUEST_TO_DELETE_LAST_ADDRESS, tlvCopy(p));
        } else if (ip === from.address) {
          error(p.correlationId, CauseCode.REQUEST_TO_DELETE_SOURCE_ADDRESS, tlvCopy(p)); // D8
        } else if (!peers.has(ip)) {
          error(p.correlationId, CauseCode.UNRESOLVABLE_ADDRESS, tlvCopy(p));
        } else {
          const address = peers.find(ip)!;
          peers.remove(ip);
          changes.push({ kind: 'deleted', address });
          success(p.correlationId);
        }
      } else {
        if (peers.setPrimary(target)) {
          changes.push({ kind: 'primary', address: peers.primary });
          success(p.correlationId);
        } else {
          error(p.correlationId, CauseCode.UNRESOLVABLE_ADDRESS, tlvCopy(p));
        }
      }
    }
    if (takeover && peers.has(from.address)) {
      for (const a of [...peers.list()]) {
        if (a.address !== from.address && peers.remove(a.address)) changes.push({ kind: 'deleted', address: a });
      }
    }
    const ack: AsconfAckChunk = { type: 0x80, serial: asconf.serial, params: responses };
    this.peerSerial = asconf.serial;
    this.cached = { identity: id, serial: asconf.serial, ack };
    return { kind: 'ack', ack, destination: from, retransmission: false, changes };
  }
}

/** Whether the ASCONF adds the very address it came from (not as a wildcard). */
function namesItsSource(asconf: AsconfChunk, from: UdpAddress): boolean {
  return asconf.params.some((p) => p.kind === 'add-ip' && ipOf(p.address) === from.address);
}

/** The correlation id at the start of an unrecognized ASCONF parameter's value (0 if too short). */
function correlationIdOf(value: Uint8Array): number {
  return value.length >= 4 ? new DataView(value.buffer, value.byteOffset, 4).getUint32(0) : 0;
}

/** RFC 1982 serial comparison on 32 bits: a < b. */
export function serialLess(a: number, b: number): boolean {
  const d = (b - a) >>> 0;
  return d !== 0 && d < 0x80000000;
}
