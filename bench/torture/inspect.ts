// Looking into one torture run: `npx tsx bench/torture/inspect.ts sctp 17 [SERVER]` prints the
// wedges' log (SERVER's only, when given), each live wedge's sessions at the end, the verdicts and
// the story, and writes the client's packets to /tmp/torture-KIND-SEED.pcap
// (`tshark -r FILE -d udp.port==9000,sctp` decodes SCTP; TCP-Migrate is written as TCP).
import { writeFileSync } from 'node:fs';
import { PcapWriter, pcapTrace } from '../../src/sim/pcap.js';
import type { TransportKind } from '../../src/transport-abstraction/transport.js';
import { runSeed } from './campaign.js';

const kind = process.argv[2] as TransportKind;
const seed = Number(process.argv[3]);
const only = process.argv[4];
const quiet = new Set(['member-alive', 'listening', 'member-dead']);
const pcap = new PcapWriter(kind === 'tcp' ? { encapsulation: 'ip-payload' } : {});
const result = await runSeed(kind, seed, {
  start: (world) => {
    world.net.onTrace(pcapTrace(pcap, { at: ['10.0.0.1'] }));
  },
  end: (world) => {
    for (const l of world.log) {
      if (!quiet.has(l.event) && (only === undefined || l.server === only)) console.log(l.time.toFixed(1), l.server, l.event, JSON.stringify(l.fields));
    }
    for (const [id, wedge] of world.wedges) console.log(id, world.net.isAlive(id) ? 'alive' : 'dead', JSON.stringify(wedge.status()));
  },
});
const file = `/tmp/torture-${kind}-${seed}.pcap`;
writeFileSync(file, pcap.toBuffer());
console.log(result.hung ?? 'finished', result.downloads);
console.log(result.story.join('\n'));
console.log(`client packets: ${file}`);
