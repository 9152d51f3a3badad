// The runtime seam (transport-abstraction/runtime.ts) on real sockets: each attachment is a
// UdpDriver (node:dgram sockets and one setTimeout), the clock is performance.now(), application
// timers are setTimeout, and every error a driver counts reaches the attachment's and the
// runtime's listeners as a RuntimeError (the DriverError is its cause).
import { performance } from 'node:perf_hooks';
import type { UdpAddress } from '../transport-abstraction/address.js';
import { BatonError } from '../transport-abstraction/errors.js';
import { ErrorListeners, RuntimeError, type AfterInput, type Attachment, type Runtime, type RuntimeErrorCode, type RuntimeTimer } from '../transport-abstraction/runtime.js';
import type { DatagramCore, Instant } from '../transport-abstraction/transport.js';
import { DriverError, UdpDriver, type DriverErrorCode, type UdpDriverOptions } from './driver.js';

const TIMEOUT_MAX = 2 ** 31 - 1;

const RUNTIME_CODE: Record<DriverErrorCode, RuntimeErrorCode> = {
  BATON_ERR_DRIVER_CORE: 'BATON_ERR_RUNTIME_CORE',
  BATON_ERR_DRIVER_HOOK: 'BATON_ERR_RUNTIME_HOOK',
  BATON_ERR_DRIVER_SOCKET: 'BATON_ERR_RUNTIME_IO',
  BATON_ERR_DRIVER_SEND: 'BATON_ERR_RUNTIME_IO',
  BATON_ERR_DRIVER_NO_SOCKET: 'BATON_ERR_RUNTIME_IO',
  BATON_ERR_DRIVER_BIND: 'BATON_ERR_RUNTIME_IO',
};

/** A driver's error in the seam's words. */
export function runtimeErrorOf(error: DriverError): RuntimeError {
  return new RuntimeError(RUNTIME_CODE[error.code], error.where, error.message, error);
}

/** An attachment on real UDP; `driver` gives its counters (benchmarks read them). */
export class UdpAttachment<C extends DatagramCore> implements Attachment<C> {
  readonly errors = new ErrorListeners();

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

  onError(listener: (error: RuntimeError) => void): () => void {
    return this.errors.add(listener);
  }
}

export interface UdpRuntimeOptions {
  /** Passed to every driver (buffer sizes, send queue bound, drain batch). */
  readonly driver?: Omit<UdpDriverOptions, 'afterInput' | 'errors' | 'clock'>;
}

export class UdpRuntime implements Runtime {
  readonly world = 'udp' as const;
  private readonly errors = new ErrorListeners();
  private readonly clock = (): Instant => performance.now();

  constructor(private readonly options: UdpRuntimeOptions = {}) {}

  now(): Instant {
    return this.clock();
  }

  async attach<C extends DatagramCore>(addresses: readonly UdpAddress[], make: (bound: readonly UdpAddress[]) => C, afterInput?: AfterInput): Promise<UdpAttachment<C>> {
    // Bind first (so port 0 resolves), then build the core on the bound addresses.
    let core: C | undefined;
    let attachment: UdpAttachment<C> | undefined;
    const forward: DatagramCore = {
      handleDatagram: (now, from, bytes, local) => core?.handleDatagram(now, from, bytes, local),
      handleTimeout: (now) => core?.handleTimeout(now),
      pollTransmit: (now) => core?.pollTransmit(now),
      pollTimeout: () => core?.pollTimeout(),
    };
    const driver = await UdpDriver.bind(forward, addresses, {
      ...this.options.driver,
      clock: this.clock,
      errors: (error) => {
        const translated = runtimeErrorOf(error);
        attachment?.errors.report(translated);
        this.errors.report(translated);
      },
      ...(afterInput ? { afterInput } : {}),
    });
    try {
      core = make(driver.addresses);
    } catch (error) {
      await driver.close();
      throw error;
    }
    attachment = new UdpAttachment(driver, core);
    driver.wake();
    return attachment;
  }

  setTimer(at: Instant, fn: () => void): RuntimeTimer {
    const delay = Math.min(TIMEOUT_MAX, Math.max(0, Math.ceil(at - this.clock())));
    const handle = setTimeout(() => {
      try {
        fn();
      } catch (error) {
        this.errors.report(
          error instanceof RuntimeError ? error : new RuntimeError('BATON_ERR_RUNTIME_TIMER', 'timer', `timer callback threw: ${error instanceof BatonError ? `${error.code} ` : ''}${(error as Error)?.message ?? String(error)}`, error),
        );
      }
    }, delay);
    return { cancel: () => clearTimeout(handle) };
  }

  onError(listener: (error: RuntimeError) => void): () => void {
    return this.errors.add(listener);
  }
}
