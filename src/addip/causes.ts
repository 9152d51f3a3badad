// Error causes baton uses for takeover, and how each side recognises them.
//
// Refusing a takeover (client side, the loser's ASCONF): an ASCONF-ACK with the loser's serial in
// which every request parameter gets an Error Cause Indication carrying
//   REQUEST_REFUSED_NO_AUTHORIZATION (0xa4, RFC 5061 — a standard code, so even a non-baton sender
//   sees its request failed), followed by
//   BATON_TAKEOVER_NUMBER_USED (0xbaf4) whose 4-byte info is the request number already accepted.
// The loser recognises 0xa4 on the ASCONF-ACK for its takeover serial (BATON_ERR_TAKEOVER_REJECTED).
//
// Refusing an ASCONF that fails authentication (wrong key): RFC 4895 says discard silently, and a
// standard peer does. A baton client, for an ASCONF carrying the baton takeover parameter only, also
// sends an ERROR chunk (which needs no AUTH) with REQUEST_REFUSED_NO_AUTHORIZATION whose 4-byte info
// is the ASCONF's serial, so a misconfigured taker stops at once instead of timing out. Only someone
// who knows the verification tag can send that, i.e. an on-path attacker, who can drop packets anyway.
//
// Refusing the old server after takeover: its packets come from an address no longer in the
// association and are treated as out of the blue (RFC 9260 §8.4): ABORT with the T bit and the
// reflected tag. A baton client adds cause BATON_TAKEN_OVER (0xbaf3, info: the accepted request
// number) so the old server's 'closed' says BATON_ERR_TAKEN_OVER rather than a plain abort.
import { CauseCode, type ErrorCause } from '../sctp/wire/types.js';

export const BATON_CAUSE_TAKEN_OVER = 0xbaf3;
export const BATON_CAUSE_TAKEOVER_NUMBER_USED = 0xbaf4;

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
}

function readU32(b: Uint8Array): number | undefined {
  return b.length >= 4 ? new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0) : undefined;
}

/** The causes in each refusal Error Cause Indication. */
export function takeoverRefusedCauses(acceptedRequestNumber: number): ErrorCause[] {
  return [
    { code: CauseCode.REQUEST_REFUSED_NO_AUTHORIZATION, info: new Uint8Array(0) },
    { code: BATON_CAUSE_TAKEOVER_NUMBER_USED, info: u32(acceptedRequestNumber) },
  ];
}

/** The cause in the ABORT that stops the old server. */
export function takenOverCause(requestNumber: number): ErrorCause {
  return { code: BATON_CAUSE_TAKEN_OVER, info: u32(requestNumber) };
}

/** Whether an ABORT's causes say "another server took this association over" (and which number). */
export function takenOverBy(causes: readonly ErrorCause[]): number | undefined {
  const c = causes.find((x) => x.code === BATON_CAUSE_TAKEN_OVER);
  return c === undefined ? undefined : (readU32(c.info) ?? 0);
}

/** The request number a refusal reports as already accepted, if it carries one. */
export function acceptedNumberIn(causes: readonly ErrorCause[]): number | undefined {
  const c = causes.find((x) => x.code === BATON_CAUSE_TAKEOVER_NUMBER_USED);
  return c === undefined ? undefined : readU32(c.info);
}

/** The ERROR cause a baton client sends for a takeover ASCONF it could not authenticate. */
export function notAuthenticatedCause(serial: number): ErrorCause {
  return { code: CauseCode.REQUEST_REFUSED_NO_AUTHORIZATION, info: u32(serial) };
}

/** Whether an ERROR cause refuses our ASCONF with this serial as unauthenticated. */
export function isNotAuthenticatedFor(cause: ErrorCause, serial: number): boolean {
  return cause.code === CauseCode.REQUEST_REFUSED_NO_AUTHORIZATION && readU32(cause.info) === serial >>> 0;
}
