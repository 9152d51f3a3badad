// Deregistration from a static pool (no registry): a wedge that stops cleanly tells its support
// group at once, so nobody waits k update periods for its heartbeat to expire (its connections
// are taken over now, and no held short chunk waits for its confirmation). The message is the
// monitor's `declare-dead ID` (MonitorCommander), sealed with the monitor key — the group key,
// which every member holds — and sent once to each group member's soft-state channel; the
// receivers authenticate it and refuse replays as for the monitor's own commands. With a
// registry, revoking the lease does the same (registry-etcd.ts). Lost datagrams: the heartbeat
// monitor still notices the silence.
import dgram from 'node:dgram';
import { cryptoRandom } from '../transport-abstraction/random.js';
import { groupPeers } from '../wedge/groups.js';
import { MonitorCommander } from '../wedge/monitor.js';
import type { Wedge } from '../wedge/wedge.js';
import type { WedgeDaemonConfig } from './wedge-daemon.js';

/** Sends `declare-dead <this wedge>` to the members of its support group. */
export async function leavePool(config: WedgeDaemonConfig, wedge: Wedge): Promise<void> {
  const members = groupPeers({ address: config.listen.address, id: config.id }, wedge.pool().map((m) => ({ id: m.id, address: m.address })), config.groups);
  if (members.length === 0) return;
  const bytes = new MonitorCommander(config.groupKey, cryptoRandom).declareDead(config.id);
  const socket = dgram.createSocket(config.listen.address.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, config.listen.address, () => resolve());
    });
    for (const m of members) await new Promise<void>((resolve) => socket.send(bytes, config.softStatePort, m.address, () => resolve()));
  } finally {
    socket.close();
  }
}
