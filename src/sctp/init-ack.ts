// The INIT ACK an endpoint answers an INIT with (RFC 9260 §5.1): our values and a signed state
// cookie, so no state is kept until the COOKIE ECHO. A small object of its own, holding only what
// it needs (the cookie secret, the port, the local addresses), so that an association answering an
// INIT for itself (§5.2.1, §5.2.2) uses it without calling back into its endpoint.
import type { UdpAddress } from '../transport-abstraction/address.js';
import type { DropReason, Instant } from '../transport-abstraction/transport.js';
import { initAckParams } from './takeover-hooks.js';
import { makeCookie } from './cookie.js';
import { offerParams, readPeerInit } from './handshake.js';
import type { ResolvedOptions } from './options.js';
import { PacketWriter } from './packet-writer.js';
import { concat } from './wire/bytes.js';
import { emitParam } from './wire/params.js';
import { CauseCode, ParamType, type InitChunk, type Param } from './wire/types.js';

/** Our side of the association the INIT ACK offers. */
export interface OurInitValues {
  readonly tag: number;
  readonly tsn: number;
  readonly tieLocal: number;
  readonly tiePeer: number;
  readonly random?: Uint8Array;
}

/** The answer: an INIT ACK, an ABORT (zero streams), or nothing; `drop` is counted by the endpoint. */
export type InitAnswer =
  | { readonly kind: 'init-ack'; readonly payload: Uint8Array; readonly drop?: undefined }
  | { readonly kind: 'abort'; readonly payload: Uint8Array; readonly drop: DropReason }
  | { readonly kind: 'drop'; readonly payload?: undefined; readonly drop: DropReason };

export class InitAckIssuer {
  private readonly writer = new PacketWriter(1500);

  constructor(
    private readonly secret: Uint8Array,
    private readonly sctpPort: number,
    private readonly addresses: readonly UdpAddress[],
  ) {}

  answer(now: Instant, initPacket: Uint8Array, init: InitChunk, ours: OurInitValues, options: ResolvedOptions): InitAnswer {
    const sourcePort = (initPacket[0]! << 8) | initPacket[1]!;
    const check = readPeerInit(init);
    if (!check.ok) {
      if (check.problem !== 'zero-streams') return { kind: 'drop', drop: 'bad-handshake' };
      const w = this.writer;
      w.auth = undefined;
      w.begin(this.sctpPort, sourcePort, init.initiateTag, 1 << 16);
      w.addChunk({ type: 6, reflectedTag: false, causes: [{ code: CauseCode.INVALID_MANDATORY_PARAMETER, info: new Uint8Array(0) }] }, true);
      return { kind: 'abort', drop: 'bad-handshake', payload: w.finish() };
    }
    const peer = check.init;
    const random = ours.random ?? options.random.bytes(32);
    const extra = [...(options.extraInitParams?.('init-ack') ?? []), ...(options.advertiseAuth ? initAckParams(this.secret) : [])];
    const extraBytes = concat(extra.map(emitParam));
    const preservative = Math.min(peer.cookiePreservative, options.cookieLifetime);
    const cookie = makeCookie(this.secret, {
      createdAt: now,
      lifetime: options.cookieLifetime + preservative,
      localTag: ours.tag,
      localInitialTsn: ours.tsn,
      tieLocal: ours.tieLocal,
      tiePeer: ours.tiePeer,
      outboundStreams: options.outboundStreams,
      inboundStreams: options.inboundStreams,
      localRandom: random,
      localExtraParams: extraBytes,
      initPacket: initPacket.slice(),
    });
    const params: Param[] = offerParams(random, this.addresses.length > 1 ? this.addresses.map((a) => a.address) : [], extra, options.advertiseAuth, options.authChunks);
    params.push({ type: ParamType.STATE_COOKIE, kind: 'state-cookie', cookie });
    for (const u of peer.unrecognized) params.push({ type: ParamType.UNRECOGNIZED_PARAMETER, kind: 'unrecognized-parameter', parameter: u });
    const ack: InitChunk = {
      type: 2,
      initiateTag: ours.tag,
      advertisedReceiverWindow: options.receiveWindow,
      outboundStreams: options.outboundStreams,
      inboundStreams: options.inboundStreams,
      initialTsn: ours.tsn,
      params,
    };
    const w = this.writer;
    w.auth = undefined;
    w.begin(this.sctpPort, sourcePort, init.initiateTag, 1 << 16);
    w.addChunk(ack, true);
    return { kind: 'init-ack', payload: w.finish() };
  }
}
