// What the simulated network reports: trace events, drop reasons, counters and the errors that
// cores (or hooks) threw during a run.
import type { UdpAddress } from '../transport-abstraction/address.js';
import { BatonError } from '../transport-abstraction/errors.js';
import type { DatagramCore } from '../transport-abstraction/transport.js';

export type DropReason =
  | 'queue' // the bottleneck queue was full
  | 'loss' // random loss on the link
  | 'too-big' // larger than the link's MTU (DF set, no ICMP: a black hole)
  | 'partition' // the two hosts are partitioned (at send or while in flight)
  | 'unreachable' // no host owns the destination IP, or nothing is attached to the address
  | 'killed' // sent by or to a killed host
  | 'bad-source'; // Transmit.source is not an address the core is attached to

export interface TraceEvent {
  /** Virtual time in ms. */
  readonly time: number;
  readonly kind: 'send' | 'deliver' | 'drop';
  readonly reason?: DropReason;
  readonly from: UdpAddress;
  readonly to: UdpAddress;
  readonly payload: Uint8Array;
  /** On deliver/drop: this is the link's extra copy of a duplicated packet. */
  readonly duplicate?: boolean;
  /** On deliver/drop: this copy was held back by the link's reorder delay. */
  readonly reordered?: boolean;
}

export type TraceListener = (event: TraceEvent) => void;

/** A core threw, or a hook/scheduled callback threw, during a run. */
export interface SimError {
  readonly time: number;
  readonly where: 'handleDatagram' | 'handleTimeout' | 'pollTransmit' | 'pollTimeout' | 'afterInput' | 'schedule' | 'trace';
  readonly error: unknown;
  /** The attached core it concerns (absent for scheduled callbacks and trace listeners). */
  readonly core?: DatagramCore;
}

/**
 * Thrown by run()/runUntil() when something new was recorded in SimNetwork.errors during the run,
 * and by attach()/wake()/revive() when called outside a run and the core threw.
 */
export class SimCoreError extends BatonError {
  readonly errors: readonly SimError[];
  constructor(errors: readonly SimError[]) {
    const first = errors[0]!;
    const text = first.error instanceof Error ? first.error.message : String(first.error);
    super(
      'BATON_ERR_SIM_CORE_THREW',
      `${errors.length} error(s) during the simulated run; first at t=${first.time} ms in ${first.where}: ${text}`,
      { cause: first.error },
    );
    this.errors = errors;
  }
}

export interface SimStats {
  sent: number;
  delivered: number;
  dropped: Record<DropReason, number>;
  /** Events processed (deliveries, timers, scheduled callbacks, including stale timers). */
  events: number;
}
