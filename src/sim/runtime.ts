// The runtime seam (transport-abstraction/runtime.ts) in virtual time: attachments are SimNetwork
// bindings, timers are scheduled callbacks, errors are the network's recorded errors. Everything
// happens synchronously: attach() has finished when it returns.
import type { UdpAddress } from '../transport-abstraction/address.js';
import { BatonError } from '../transport-abstraction/errors.js';
import type { AfterInput, Attachment, Runtime, RuntimeTimer } from '../transport-abstraction/runtime.js';
import type { DatagramCore, Instant } from '../transport-abstraction/transport.js';
import type { SimNetwork, SimError } from './network.js';
import type { SimBinding } from './binding.js';

/** A recorded simulator error as the seam reports it. */
export class SimRuntimeError extends BatonError {
  readonly where: SimError['where'];
  readonly time: number;
  constructor(entry: SimError) {
    const text = entry.error instanceof Error ? entry.error.message : String(entry.error);
    const code = entry.where === 'afterInput' || entry.where === 'schedule' ? 'BATON_ERR_RUNTIME_HOOK' : 'BATON_ERR_RUNTIME_CORE';
    super(code, `${entry.where} threw at t=${entry.time} ms: ${text}`, { cause: entry.error });
    this.where = entry.where;
    this.time = entry.time;
  }
}

class SimAttachment<C extends DatagramCore> implements Attachment<C> {
  constructor(
    private readonly net: SimNetwork,
    private readonly binding: SimBinding,
    readonly core: C,
  ) {}

  get addresses(): readonly UdpAddress[] {
    return this.binding.addresses;
  }

  wake(): void {
    if (this.binding.attached) this.net.wake(this.core);
  }

  close(): Promise<void> {
    this.binding.detach();
    return Promise.resolve();
  }
}

export class SimRuntime implements Runtime {
  readonly world = 'sim' as const;

  constructor(readonly net: SimNetwork) {}

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
    return new SimAttachment(this.net, binding, core);
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

  onError(listener: (error: BatonError) => void): () => void {
    return this.net.onError((entry) => listener(new SimRuntimeError(entry)));
  }
}
