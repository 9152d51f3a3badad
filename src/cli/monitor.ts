// `baton monitor declare-dead SERVER_ID` and `baton monitor move CLIENT_ADDR:UDPPORT --to SERVER_ID`:
// the external monitor (paper §3). The command is sealed with the group key (MonitorCommander)
// and sent once to every member's soft-state channel; the wedges refuse forgeries and replays.
import dgram from 'node:dgram';
import { Command, type CommanderError } from 'commander';
import { parseAddress } from '../transport-abstraction/address.js';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import { cryptoRandom } from '../transport-abstraction/random.js';
import { MonitorCommander } from '../wedge/monitor.js';
import { loadPeers, readGroupKey } from '../node/peers-file.js';
import type { Peer } from '../wedge/wedge.js';

interface CommonOptions {
  peers: string;
  groupKey: string;
  softStatePort: string;
}

function common(c: Command): Command {
  return c
    .requiredOption('--peers <FILE|LIST>', 'the pool: ID@ADDR,... or a file with one ID@ADDR a line')
    .requiredOption('--group-key <FILE>', '64 hex characters (baton keygen)')
    .option('--soft-state-port <n>', "UDP port of every member's soft-state channel", '9897')
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : 2));
}

function setup(o: CommonOptions): { peers: Peer[]; key: Uint8Array; port: number } {
  const port = Number(o.softStatePort);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new LocalUsageError(`--soft-state-port must be an integer from 1 to 65535, not "${o.softStatePort}"`);
  return { peers: loadPeers(o.peers).peers, key: readGroupKey(o.groupKey), port };
}

async function sendAll(bytes: Uint8Array, peers: readonly Peer[], port: number): Promise<void> {
  const v6 = dgram.createSocket('udp6');
  const v4 = dgram.createSocket('udp4');
  try {
    for (const p of peers) {
      const socket = p.address.includes(':') ? v6 : v4;
      await new Promise<void>((resolve, reject) => socket.send(bytes, port, p.address, (e) => (e ? reject(e) : resolve())));
    }
  } finally {
    v4.close();
    v6.close();
  }
}

async function run(name: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    process.stderr.write(`baton monitor ${name}: ${(error as Error).message}\n`);
    process.exitCode = error instanceof LocalUsageError || (error as { code?: string }).code === 'BATON_ERR_BAD_ADDRESS' ? 2 : 1;
  }
}

export function monitorCommand(): Command {
  const monitor = new Command('monitor').summary('the external monitor: declare a server dead, move a connection').exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : 2));
  monitor.addCommand(
    common(new Command('declare-dead').argument('<SERVER_ID>', 'the server the pool must treat as dead').description('Tells every member that SERVER_ID is dead: its support group takes its connections over (an erroneous report of a live server included: it stops serving them when it hears the higher takeover number).')).action(
      (serverId: string, o: CommonOptions) =>
        run('declare-dead', async () => {
          const { peers, key, port } = setup(o);
          await sendAll(new MonitorCommander(key, cryptoRandom).declareDead(serverId), peers, port);
        }),
    ),
  );
  monitor.addCommand(
    common(new Command('move').argument('<CLIENT>', "the connection: the client's ADDR:UDPPORT").requiredOption('--to <SERVER_ID>', 'the server that takes it over').description('Makes SERVER_ID take the connection of CLIENT over (a load-balancing move).')).action(
      (client: string, o: CommonOptions & { to: string }) =>
        run('move', async () => {
          const { peers, key, port } = setup(o);
          if (!/:\d+$/.test(client)) throw new LocalUsageError(`the connection is the client's ADDR:UDPPORT, not "${client}"`);
          const a = parseAddress(client, 0);
          await sendAll(new MonitorCommander(key, cryptoRandom).move({ address: a.address, port: 0, udpPort: a.port }, o.to), peers, port);
        }),
    ),
  );
  return monitor;
}
