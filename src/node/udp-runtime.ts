// The runtime seam (transport-abstraction/runtime.ts) on real sockets: each attachment is a
// UdpDriver (node:dgram sockets and one setTimeout), the clock is performance.now(), application
// timers are setTimeout, and every error the drivers count reaches the listeners as a DriverError.
import { performance } from 'node:perf_hooks';
import type { UdpAddress } from '../transport-abstraction/address.js';
import { BatonError } from '../transport-abstraction/errors.js';
import type { AfterInput, Attachment, Runtime, RuntimeTimer } from '../transport-abstraction/runtime.js';
import type { DatagramCore, Instant } from '../transport-abstraction/transport.js';
import { UdpDriver, type UdpDriverOptions } from './driver.js';

const TIMEOUT_MAX = 2 ** 31 - 1;

class UdpAttachment<C extends DatagramCore> implements Attachment<C> {
  constructor(
    readonly driver: UdpDriver,
    readonly core: C,
  ) {}

  get addresses(): readonly UdpAddress[] {
    return this.driver.addresses;
  }

  wake(): void {
    this.driver.wake();
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}

export interface UdpRuntimeOptions {
  /** Passed to every driver (buffer sizes, send queue bound, drain batch). */
  readonly driver?: Omit<UdpDriverOptions, 'afterInput' | 'errors' | 'clock'>;
}

export class UdpRuntime implements Runtime {
  readonly world = 'udp' as const;
  private readonly listeners = new Set<(error: BatonError) => void>();
  private readonly clock = (): Instant => performance.now();

  constructor(private readonly options: UdpRuntimeOptions = {}) {}

  now(): Instant {
    return this.clock();
  }

  async attach<C extends DatagramCore>(addresses: readonly UdpAddress[], make: (bound: readonly UdpAddress[]) => C, afterInput?: AfterInput): Promise<Attachment<C>> {
    // Bind first (so port 0 resolves), then build the core on the bound addresses.
    let core: C | undefined;
    const forward: DatagramCore = {
      handleDatagram: (now, from, bytes, local) => core?.handleDatagram(now, from, bytes, local),
      handleTimeout: (now) => core?.handleTimeout(now),
      pollTransmit: (now) => core?.pollTransmit(now),
      pollTimeout: () => core?.pollTimeout(),
    };
    const driver = await UdpDriver.bind(forward, addresses, {
      ...this.options.driver,
      clock: this.clock,
      errors: (error) => this.report(error),
      ...(afterInput ? { afterInput } : {}),
    });
    try {
      core = make(driver.addresses);
    } catch (error) {
      await driver.close();
      throw error;
    }
    driver.wake();
    return new UdpAttachment(driver, core);
  }

  setTimer(at: Instant, fn: () => void): RuntimeTimer {
    const delay = Math.min(TIMEOUT_MAX, Math.max(0, Math.ceil(at - this.clock())));
    const handle = setTimeout(() => {
      try {
        fn();
      } catch (error) {
        this.report(error instanceof BatonError ? error : new BatonError('BATON_ERR_RUNTIME_TIMER', `timer callback threw: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
      }
    }, delay);
    return { cancel: () => clearTimeout(handle) };
  }

  onError(listener: (error: BatonError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private report(error: BatonError): void {
    for (const listener of this.listeners) {
      try {
        listener(error);
      } catch {
        // a listener's fault must not take the runtime down
      }
    }
  }
}
