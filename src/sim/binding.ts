// A core attached to the simulated network.
import type { UdpAddress } from '../transport-abstraction/address.js';
import type { DatagramCore } from '../transport-abstraction/transport.js';
import type { SimNetwork } from './network.js';

export type AfterInput = (now: number) => void;

/** A core attached to one or more UDP addresses of one host. */
export class SimBinding {
  /** Addresses the core receives on; the first is the default source of its transmits. */
  readonly addresses: UdpAddress[] = [];
  /** Time of the pending timer event in the queue (valid while its generation matches). */
  timerAt: number | undefined = undefined;
  /** The core's current deadline (clamped to now); may be later than timerAt, see rearm(). */
  deadline: number | undefined = undefined;
  generation = 0;
  attached = true;
  /** Timer firings in a row at the same virtual time (guards against a core that never advances). */
  sameTimeFires = 0;
  lastFire = -1;

  constructor(
    private readonly net: SimNetwork,
    readonly core: DatagramCore,
    readonly host: string,
    readonly afterInput: AfterInput | undefined,
  ) {}

  /** Also receive on `address` (an IP of the same host). */
  addAddress(address: UdpAddress): void {
    this.net.bindAddress(this, address);
  }

  detach(): void {
    this.net.detach(this);
  }
}
