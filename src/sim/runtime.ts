// The runtime seam (transport-abstraction/runtime.ts) in virtual time: attachments are SimNetwork
// bindings, timers are scheduled callbacks, errors are the network's recorded errors (which the
// network also keeps and rethrows at the end of a run, so a test never loses one). Attaching
// happens synchronously: attach() has finished when it returns.
//
// Code written with promises and Node streams (the library's sockets) needs Node's own queues to
// settle between simulated events: run(work) advances virtual time one event at a time and yields
// to Node in between. Only virtual time passes; nothing depends on the wall clock.
import type { UdpAddress } from '../transport-abstraction/address.js';
import { BatonError } from '../transport-abstraction/errors.js';
import { ErrorListeners, RuntimeError, type AfterInput, type Attachment, type Runtime, type RuntimeErrorCode, type RuntimeTimer } from '../transport-abstraction/runtime.js';
import type { DatagramCore, Instant, Transmit } from '../transport-abstraction/transport.js';
import type { SimNetwork, SimError } from './network.js';
import type { SimBinding } from './binding.js';

const CODE: Record<SimError['where'], RuntimeErrorCode> = {
  handleDatagram: 'BATON_ERR_RUNTIME_CORE',
  handleTimeout: 'BATON_ERR_RUNTIME_CORE',
  pollTransmit: 'BATON_ERR_RUNTIME_CORE',
  pollTimeout: 'BATON_ERR_RUNTIME_CORE',
  afterInput: 'BATON_ERR_RUNTIME_HOOK',
  schedule: 'BATON_ERR_RUNTIME_TIMER',
  trace: 'BATON_ERR_RUNTIME_HOOK',
};

/** A recorded simulator error as the seam reports it. */
export class SimRuntimeError extends RuntimeError {
  readonly time: number;
  constructor(entry: SimError) {
    const text = entry.error instanceof Error ? entry.error.message : String(entry.error);
    super(CODE[entry.where], entry.where, `${entry.where} threw at t=${entry.time} ms: ${text}`, entry.error);
    this.time = entry.time;
  }
}

/** The simulation did not finish the work within its virtual time limit. */
export class SimRunLimitError extends BatonError {
  constructor(limitMs: number) {
    super('BATON_ERR_SIM_LIMIT', `the work did not settle by t=${limitMs} ms of virtual time`);
  }
}

class SimAttachment<C extends DatagramCore> implements Attachment<C> {
  readonly errors = new ErrorListeners();

  constructor(
    private readonly net: SimNetwork,
    private readonly binding: SimBinding,
    readonly core: C,
    private readonly closed: () => void,
  ) {}

  get addresses(): readonly UdpAddress[] {
    return this.binding.addresses;
  }

  wake(): void {
    if (this.binding.attached) this.net.wake(this.core);
  }

  close(): Promise<void> {
    this.binding.detach();
    this.closed();
    return Promise.resolve();
  }

  onError(listener: (error: RuntimeError) => void): () => void {
    return this.errors.add(listener);
  }
}

/** Hand control to Node until its microtasks, nextTicks and immediates queued so far have run. */
const yieldToNode = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class SimRuntime implements Runtime {
  readonly world = 'sim' as const;
  private readonly attachments = new Map<DatagramCore, SimAttachment<DatagramCore>>();
  private readonly errors = new ErrorListeners();

  constructor(readonly net: SimNetwork) {
    net.onError((entry) => {
      const error = new SimRuntimeError(entry);
      if (entry.core !== undefined) this.attachments.get(entry.core)?.errors.report(error);
      this.errors.report(error);
    });
  }

  now(): Instant {
    return this.net.now;
  }

  attach<C extends DatagramCore>(addresses: readonly UdpAddress[], make: (bound: readonly UdpAddress[]) => C, afterInput?: AfterInput): Promise<Attachment<C>> {
    try {
      return Promise.resolve(this.attachNow(addresses, make, afterInput));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** attach() without the promise, for setup code that runs inside a simulated callback. */
  attachNow<C extends DatagramCore>(addresses: readonly UdpAddress[], make: (bound: readonly UdpAddress[]) => C, afterInput?: AfterInput): Attachment<C> {
    const bound = addresses.map((a) => (a.port === 0 ? { address: a.address, port: this.net.freePort(a.address) } : a));
    const core = make(bound);
    const binding = this.net.attach(core, bound, afterInput);
    const attachment = new SimAttachment(this.net, binding, core, () => this.attachments.delete(core));
    this.attachments.set(core, attachment);
    return attachment;
  }

  /** Send `transmits` from a fresh port of `address` at once (a one-shot sender that ignores answers, e.g. a monitor command). */
  sendOnce(address: string, transmits: readonly Transmit[]): Attachment<DatagramCore> {
    const outbox = [...transmits];
    const core: DatagramCore = {
      handleDatagram: () => {},
      handleTimeout: () => {},
      pollTransmit: () => outbox.shift(),
      pollTimeout: () => undefined,
    };
    const attachment = this.attachNow([{ address, port: 0 }], () => core);
    attachment.wake();
    return attachment;
  }

  setTimer(at: Instant, fn: () => void): RuntimeTimer {
    let cancelled = false;
    this.net.schedule(at, () => {
      if (!cancelled) fn();
    });
    return {
      cancel: () => {
        cancelled = true;
      },
    };
  }

  onError(listener: (error: RuntimeError) => void): () => void {
    return this.errors.add(listener);
  }

  /**
   * Advance virtual time until `work` settles, one simulated event at a time with Node's queues
   * settled in between (so awaits, stream callbacks and pipes in the application run as they
   * would on real sockets), and return its result. Rejects with SimRunLimitError when virtual
   * time passes `limitMs`, or when the network goes idle with `work` still pending; and with
   * SimCoreError when a core or hook threw (the error has reached the listeners first).
   */
  async run<T>(work: Promise<T>, limitMs = Infinity): Promise<T> {
    let settled = false;
    const watched = work.finally(() => {
      settled = true;
    });
    watched.catch(() => {}); // observed below; keep Node from calling it unhandled meanwhile
    let idle = 0;
    while (!settled) {
      await yieldToNode();
      if (settled) break;
      if (this.net.step(limitMs)) {
        idle = 0;
        continue;
      }
      // Nothing due: the application may still be about to call in (a stream write queued on a
      // nextTick); give it a few turns before calling the network idle.
      if (++idle > 3) {
        if (limitMs !== Infinity) this.net.run(limitMs);
        throw new SimRunLimitError(limitMs);
      }
    }
    return watched;
  }
}
