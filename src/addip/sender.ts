// The sending side of RFC 5061: build ASCONFs (serial numbers continuing from a counter, one
// correlation id per request, baton's takeover parameter), keep at most one outstanding (§5.1 A2),
// retransmit it on T-4 RTO expiry with back-off, match the ASCONF-ACK and report per-request
// results. Sans-IO: the association owns the timer table and asks `deadline` / calls
// `handleTimeout(now)`.
import type { UdpAddress } from '../transport-abstraction/address.js';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import { CauseCode, ParamType, type AsconfAckChunk, type AsconfChunk, type AsconfParam, type ErrorCause } from '../sctp/wire/types.js';
import { addressParam } from './addresses.js';
import { acceptedNumberIn } from './causes.js';

export interface AsconfRequest {
  readonly kind: 'add-ip' | 'delete-ip' | 'set-primary';
  /** IP in text form; '0.0.0.0' / '::' for the wildcard meaning "the packet's source". */
  readonly ip: string;
}

export interface RequestResult {
  readonly request: AsconfRequest;
  readonly correlationId: number;
  readonly ok: boolean;
  readonly causes: readonly ErrorCause[];
}

export type AsconfAckOutcome =
  | { readonly kind: 'ignored'; readonly reason: 'no-outstanding' | 'serial-mismatch' }
  | {
      readonly kind: 'done';
      readonly serial: number;
      readonly results: readonly RequestResult[];
      /** Present when the ASCONF carried a takeover number. */
      readonly takeover?: { readonly requestNumber: number; readonly accepted: boolean; readonly acceptedByPeer?: number };
    };

export interface OutstandingAsconf {
  readonly chunk: AsconfChunk;
  destination: UdpAddress;
  readonly requests: ReadonlyArray<{ readonly correlationId: number; readonly request: AsconfRequest }>;
  readonly takeover?: number;
  rto: number;
  deadline: number;
  retransmissions: number;
}

export interface AsconfSenderOptions {
  /** Association.Max.Retrans (RFC 9260 §16): give up after this many retransmissions. */
  readonly maxRetransmissions?: number;
  readonly rtoMax?: number;
  readonly firstCorrelationId?: number;
}

/**
 * RFC 5061 §5.3: an ASCONF-ACK whose serial is the next one we would send, or larger, while no
 * ASCONF is outstanding acknowledges something never sent: the association is aborted with
 * "Association Aborted due to Illegal ASCONF-ACK". Older serials (a late duplicate) are ignored.
 */
export function isIllegalAsconfAck(ackSerial: number, nextSerial: number, outstanding: boolean): boolean {
  return !outstanding && ((ackSerial - nextSerial) >>> 0) < 0x80000000;
}

export class AsconfSender {
  /** Serial number the next ASCONF gets (initially our initial TSN; continued from state on import). */
  nextSerial: number;
  private nextCorrelationId: number;
  private readonly maxRetransmissions: number;
  private readonly rtoMax: number;
  outstanding: OutstandingAsconf | undefined;

  constructor(nextSerial: number, options: AsconfSenderOptions = {}) {
    this.nextSerial = nextSerial >>> 0;
    this.nextCorrelationId = options.firstCorrelationId ?? 1;
    this.maxRetransmissions = options.maxRetransmissions ?? 10;
    this.rtoMax = options.rtoMax ?? 60_000;
  }

  /**
   * Build a new ASCONF. `senderIp` fills the chunk's address parameter: an address of ours the
   * peer already knows (RFC 5061 §4.1.1), so the peer can find the association when the packet
   * comes from an address it does not know yet. Throws LocalUsageError while one is outstanding.
   */
  send(now: number, rto: number, destination: UdpAddress, senderIp: string, requests: readonly AsconfRequest[], takeoverNumber?: number, extraParams: readonly AsconfParam[] = []): AsconfChunk {
    if (this.outstanding !== undefined) throw new LocalUsageError('an ASCONF is already outstanding (RFC 5061 §5.1 A2)');
    const numbered = requests.map((request) => ({ correlationId: this.nextCorrelationId++ >>> 0, request }));
    const params: AsconfParam[] = [];
    if (takeoverNumber !== undefined) params.push({ type: ParamType.BATON_TAKEOVER, kind: 'baton-takeover', requestNumber: takeoverNumber >>> 0 });
    for (const { correlationId, request } of numbered) {
      const type = request.kind === 'add-ip' ? ParamType.ADD_IP_ADDRESS : request.kind === 'delete-ip' ? ParamType.DELETE_IP_ADDRESS : ParamType.SET_PRIMARY_ADDRESS;
      params.push({ type, kind: request.kind, correlationId, address: addressParam(request.ip) });
    }
    params.push(...extraParams); // e.g. the taker's re-keying key (src/sctp/rekey.ts)
    const chunk: AsconfChunk = { type: 0xc1, serial: this.nextSerial, address: addressParam(senderIp), params };
    this.nextSerial = (this.nextSerial + 1) >>> 0;
    this.outstanding = {
      chunk,
      destination,
      requests: numbered,
      ...(takeoverNumber === undefined ? {} : { takeover: takeoverNumber }),
      rto,
      deadline: now + rto,
      retransmissions: 0,
    };
    return chunk;
  }

  /** The T-4 RTO deadline, or undefined when nothing is outstanding. */
  get deadline(): number | undefined {
    return this.outstanding?.deadline;
  }

  /**
   * On T-4 expiry: back off and retransmit the same chunk (same serial), optionally to another
   * destination; or give up after maxRetransmissions (the association then aborts, §5.1 B4).
   */
  handleTimeout(now: number, destination?: UdpAddress): { kind: 'retransmit'; chunk: AsconfChunk; destination: UdpAddress } | { kind: 'give-up' } | undefined {
    const o = this.outstanding;
    if (o === undefined || now < o.deadline) return undefined;
    o.retransmissions++;
    if (o.retransmissions > this.maxRetransmissions) {
      this.outstanding = undefined;
      return { kind: 'give-up' };
    }
    o.rto = Math.min(o.rto * 2, this.rtoMax);
    o.deadline = now + o.rto;
    if (destination !== undefined) o.destination = destination;
    return { kind: 'retransmit', chunk: o.chunk, destination: o.destination };
  }

  /** Match an ASCONF-ACK to the outstanding ASCONF (§5.3) and stop T-4. */
  handleAck(ack: AsconfAckChunk): AsconfAckOutcome {
    const o = this.outstanding;
    if (o === undefined) return { kind: 'ignored', reason: 'no-outstanding' };
    if (ack.serial !== o.chunk.serial) return { kind: 'ignored', reason: 'serial-mismatch' };
    this.outstanding = undefined;
    const byId = new Map<number, AsconfParam>();
    for (const p of ack.params) if (p.kind === 'success' || p.kind === 'error-cause') byId.set(p.correlationId, p);
    let stopped = false;
    let refused = false;
    let acceptedByPeer: number | undefined;
    const results = o.requests.map(({ correlationId, request }): RequestResult => {
      const r = byId.get(correlationId);
      if (r?.kind === 'error-cause') {
        if (r.causes.some((c) => c.code === CauseCode.OPERATION_REFUSED_RESOURCE_SHORTAGE)) stopped = true;
        if (r.causes.some((c) => c.code === CauseCode.REQUEST_REFUSED_NO_AUTHORIZATION)) refused = true;
        acceptedByPeer ??= acceptedNumberIn(r.causes);
        return { request, correlationId, ok: false, causes: r.causes };
      }
      // No response: success, unless an earlier request hit a resource shortage (not processed).
      return { request, correlationId, ok: r !== undefined || !stopped, causes: [] };
    });
    for (const p of ack.params) {
      if (p.kind !== 'error-cause' || !p.causes.some((c) => c.code === CauseCode.REQUEST_REFUSED_NO_AUTHORIZATION)) continue;
      refused = true; // also when it answers no request of ours (correlation id 0)
      acceptedByPeer ??= acceptedNumberIn(p.causes);
    }
    const base = { kind: 'done' as const, serial: ack.serial, results };
    if (o.takeover === undefined) return base;
    // The client consumed the number unless it refused; a failed delete (say, the old address
    // already gone) does not undo an accepted takeover.
    const accepted = !refused;
    return { ...base, takeover: { requestNumber: o.takeover, accepted, ...(acceptedByPeer === undefined ? {} : { acceptedByPeer }) } };
  }
}
