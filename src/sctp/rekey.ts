// SCTP's re-keying at each takeover (src/transport-abstraction/rekey.ts has the key schedule).
//
// The taker puts its fresh x25519 public key E in the takeover ASCONF as parameter 0xbaf4 (its two
// high bits 10: a receiver that does not know it skips it silently, RFC 9260 §3.2.1); AUTH covers
// it with the ASCONF. The client, on accepting the takeover, answers with the ASCONF-ACK signed
// under the old endpoint-pair key K, then switches its AUTH context to K' (from E and its own
// INIT/INIT-ACK x25519 key). The taker accepts ASCONF-ACKs under K or K' while its request is
// outstanding and switches to K' once the takeover is accepted; it exports K'.
//
// Retransmissions: if the ASCONF-ACK is lost, the taker resends the same ASCONF (same serial and
// takeover number, signed under K). The client then accepts K for exactly that request — the
// guard answers it with its cached ASCONF-ACK, signed under K again, and changes nothing; a loser
// of the race with the same number gets its refusal under K too — and never for a new number, so
// a state from before the takeover (holding K) cannot take the connection afterwards.
import type { AuthContext } from './auth.js';
import type { AsconfChunk, AsconfParam, Packet } from './wire/types.js';
import { canRekeyWith, takeoverKey, takeoverKeyPair } from '../transport-abstraction/rekey.js';
import type { RandomSource } from '../transport-abstraction/random.js';

export const REKEY_PARAM_TYPE = 0xbaf4;

/** Taker: the re-keying half of an outstanding takeover request. */
export interface PendingRekey {
  readonly publicKey: Uint8Array;
  readonly key: Uint8Array;
}

/** Client: the key it left at the last re-keying takeover, good only for that very request again. */
export interface PreviousKey {
  readonly context: AuthContext;
  readonly serial: number;
  readonly requestNumber: number;
}

/** E and K' for takeover `n`, when the state names the client's x25519 public key. */
export function pendingRekey(random: RandomSource, oldKey: Uint8Array, requestNumber: number, clientPublic: Uint8Array | undefined): PendingRekey | undefined {
  if (!canRekeyWith(clientPublic) || oldKey.length === 0) return undefined;
  const e = takeoverKeyPair(random);
  const key = takeoverKey(oldKey, requestNumber, e.privateKey, clientPublic, e.publicKey);
  return key === undefined ? undefined : { publicKey: e.publicKey, key };
}

export function rekeyParam(publicKey: Uint8Array): AsconfParam {
  return { type: REKEY_PARAM_TYPE, kind: 'unknown', value: publicKey };
}

/** The taker's E in an ASCONF, if it carries one. */
export function takerPublicKeyOf(asconf: AsconfChunk): Uint8Array | undefined {
  const p = asconf.params.find((x) => x.kind === 'unknown' && x.type === REKEY_PARAM_TYPE);
  return p?.kind === 'unknown' && canRekeyWith(p.value) ? p.value.slice() : undefined;
}

/** The client's K' for an accepted takeover `n` with E = `takerPublic`. */
export function clientKey(oldKey: Uint8Array, requestNumber: number, ownPrivate: Uint8Array, takerPublic: Uint8Array): Uint8Array | undefined {
  return takeoverKey(oldKey, requestNumber, ownPrivate, takerPublic, takerPublic);
}

/**
 * True when the packet carries the re-keying request again: an ASCONF with its serial and its
 * takeover number (never a fresh number: that would let a holder of the old key take over).
 */
export function resendsRequest(packet: Packet, previous: PreviousKey): boolean {
  return packet.chunks.some(
    (c) =>
      c.type === 0xc1 &&
      'params' in c &&
      (c as AsconfChunk).serial >>> 0 === previous.serial >>> 0 &&
      (c as AsconfChunk).params.some((p) => p.kind === 'baton-takeover' && p.requestNumber >>> 0 === previous.requestNumber >>> 0),
  );
}
