// The external health monitor's side of the soft-state channel (`baton monitor declare-dead`,
// `baton monitor move`): commands sealed with the monitor key, sequence-numbered by a Sealer, so
// the wedges refuse forgeries and replays exactly as they do for announcements.
import type { RandomSource } from '../transport-abstraction/random.js';
import { encodeMonitorCommand } from '../transport-abstraction/state.js';
import type { EndpointState } from '../transport-abstraction/state-types.js';
import { Sealer } from './seal.js';

/** Seals monitor commands; send the same bytes to every wedge concerned. */
export class MonitorCommander {
  private readonly sealer: Sealer;

  /** `id` must be one of the wedges' monitorIds (default "monitor"). */
  constructor(monitorKey: Uint8Array, random: RandomSource, readonly id = 'monitor') {
    this.sealer = new Sealer(monitorKey, id, random);
  }

  /** `declare-dead SERVER`: the wedges treat `serverId` as dead and take its connections over. */
  declareDead(serverId: string): Uint8Array {
    return this.sealer.seal('command', encodeMonitorCommand({ senderId: this.id, declareDead: { serverId } })).bytes;
  }

  /** `move CONNECTION --to SERVER`: `toServerId` takes the connection of `client` over. */
  move(client: EndpointState, toServerId: string): Uint8Array {
    return this.sealer.seal('command', encodeMonitorCommand({ senderId: this.id, move: { client, toServerId } })).bytes;
  }
}
