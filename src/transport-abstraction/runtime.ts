// The runtime seam: one small interface through which application code built on the transport
// contract (the library's sessions, `baton cat`, the wedge) reaches the world it runs in. Two
// worlds implement it: real UDP sockets and timers (src/node/udp-runtime.ts) and the simulated
// network in virtual time (src/sim/runtime.ts). Code written against `Runtime` runs unchanged in
// both; this file is pure (no sockets, no timers, no clock of its own).
//
// The cycle is the drivers' own: after any input to an attached core (datagrams or its timer) the
// core's transmits are drained and its timer re-armed, then `afterInput(now)` runs so the app can
// poll events, then transmits are drained again. After calling into a core from anywhere else (a
// timer of the app's, a stream write), call `attachment.wake()`.
//
// Receive batches: a driver feeds a core every datagram it has at hand before it drains it, and a
// batch ends at the core's next pollTransmit. The UDP driver's batch is what one event-loop turn
// read (node:dgram delivers 10-30 datagrams per turn under load; the drain runs from setImmediate);
// the simulator's, with SimNetwork#receiveBatches, what reaches a core at one virtual instant. A core
// may hold an acknowledgement until its batch ends (SCTP's and TCP-Migrate's batch ACK between baton
// ends), so a driver must drain after every batch, as both do.
import type { UdpAddress } from './address.js';
import { BatonError } from './errors.js';
import type { DatagramCore, Instant } from './transport.js';

export type AfterInput = (now: Instant) => void;

/**
 * What the runtime reports, the same codes in both worlds:
 *   BATON_ERR_RUNTIME_CORE   a core method (handleDatagram, handleTimeout, pollTransmit, pollTimeout) threw
 *   BATON_ERR_RUNTIME_HOOK   the afterInput hook threw (the app's event handling)
 *   BATON_ERR_RUNTIME_TIMER  an application timer's callback threw
 *   BATON_ERR_RUNTIME_IO     a socket error or a failed send (real UDP only; the datagram is lost)
 * CORE and HOOK are faults: the core may be left half-way through a change, so the connections
 * on that attachment cannot be trusted any more. IO errors are the network's and transient.
 */
export type RuntimeErrorCode = 'BATON_ERR_RUNTIME_CORE' | 'BATON_ERR_RUNTIME_HOOK' | 'BATON_ERR_RUNTIME_TIMER' | 'BATON_ERR_RUNTIME_IO';

export class RuntimeError extends BatonError {
  declare readonly code: RuntimeErrorCode;
  /** Where it happened: the core method, 'afterInput', 'timer', 'socket', 'send', ... */
  readonly where: string;
  constructor(code: RuntimeErrorCode, where: string, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
    this.where = where;
  }

  /** True for CORE and HOOK: the attachment's connections are in an unknown state. */
  get fault(): boolean {
    return this.code === 'BATON_ERR_RUNTIME_CORE' || this.code === 'BATON_ERR_RUNTIME_HOOK';
  }
}

/** A core bound to local UDP addresses of one runtime. */
export interface Attachment<C extends DatagramCore = DatagramCore> {
  readonly core: C;
  /** The bound addresses, with the real ports when port 0 was asked for. */
  readonly addresses: readonly UdpAddress[];
  /** Drain the core's transmits and re-arm its timer now, after the app called into the core. */
  wake(): void;
  /** Stop delivering input, stop the timer and release the addresses. Safe to call twice. */
  close(): Promise<void>;
  /**
   * The errors of this attachment only (its core threw, its hook threw, its sockets failed), as
   * they happen; they also reach the runtime's own listeners. Returns a function that removes it.
   */
  onError(listener: (error: RuntimeError) => void): () => void;
}

/** A cancellable one-shot timer of the application's own (not a core's). */
export interface RuntimeTimer {
  cancel(): void;
}

export interface Runtime {
  /** Which world this is, for logs: 'udp' or 'sim'. */
  readonly world: 'udp' | 'sim';
  /** The world's clock in ms: monotonic real time, or virtual time. */
  now(): Instant;
  /**
   * Bind `addresses` (port 0 picks a free port where the world has such a thing), build the core
   * on the bound addresses with `make`, and start driving it. In the simulator the attachment is
   * complete when attach() returns (the promise is already settled), so setup code may also run
   * inside a simulated callback. Rejects with a BatonError when an address cannot be bound.
   */
  attach<C extends DatagramCore>(addresses: readonly UdpAddress[], make: (bound: readonly UdpAddress[]) => C, afterInput?: AfterInput): Promise<Attachment<C>>;
  /** Run `fn` once at time `at` (at once if that has passed). Exceptions go to the error listeners. */
  setTimer(at: Instant, fn: () => void): RuntimeTimer;
  /**
   * Every error of every attachment, and every error a timer callback threw, as a coded
   * RuntimeError. Returns a function that removes the listener. Errors with no listener are kept
   * in the world's own counters (UdpDriver#stats, SimNetwork#errors).
   */
  onError(listener: (error: RuntimeError) => void): () => void;
}

/** A set of error listeners, each shielded from the others' faults (both worlds use it). */
export class ErrorListeners {
  private readonly listeners = new Set<(error: RuntimeError) => void>();

  add(listener: (error: RuntimeError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  report(error: RuntimeError): void {
    for (const listener of this.listeners) {
      try {
        listener(error);
      } catch {
        // a listener's fault must not take the runtime down or hide the error from the others
      }
    }
  }
}
