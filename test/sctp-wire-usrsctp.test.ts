// Real bytes from a real peer: usrsctp's example client (Debian libusrsctp-examples) sends its INIT
// to a UDP socket of ours (RFC 6951 encapsulation). We parse it, answer with an INIT ACK we emit,
// and parse the COOKIE ECHO it sends back — so both directions of the codec meet usrsctp.
import test from 'ava';
import dgram from 'node:dgram';
import { emitPacket, parsePacket, type Chunk, type InitChunk, type Packet } from '../src/sctp/wire/index.js';
import { freeWildcardUdpPort } from './helpers/ports.js';
import { spawnProcess } from './helpers/process.js';

const CLIENT = '/usr/lib/usrsctp/client';

interface Datagram {
  bytes: Uint8Array;
  port: number;
  address: string;
}

/** The next datagram on `socket` whose parse passes `accept`, or a rejection after `ms`. */
function nextPacket(socket: dgram.Socket, ms: number, accept: (p: Packet) => boolean): Promise<{ d: Datagram; packet: Packet }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error(`no matching SCTP packet within ${ms} ms`));
    }, ms);
    function onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
      const r = parsePacket(msg);
      if (!r.ok) {
        clearTimeout(timer);
        socket.off('message', onMessage);
        reject(new Error(`usrsctp sent bytes we reject: ${r.error.code} ${r.error.message} ${msg.toString('hex')}`));
        return;
      }
      if (!accept(r.packet)) return;
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve({ d: { bytes: new Uint8Array(msg), port: rinfo.port, address: rinfo.address }, packet: r.packet });
    }
    socket.on('message', onMessage);
  });
}

const firstType = (p: Packet): number => p.chunks[0]!.type;

test('usrsctp client: its INIT parses, our INIT ACK is accepted, its COOKIE ECHO parses', async (t) => {
  const socket = dgram.createSocket('udp4');
  t.teardown(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const ourPort = socket.address().port;
  const theirEncapsPort = await freeWildcardUdpPort();
  const sctpPort = 5001;

  const init = nextPacket(socket, 15_000, (p) => firstType(p) === 1);
  // client remote_addr remote_port local_port local_encaps_port remote_encaps_port
  const client = spawnProcess(CLIENT, ['127.0.0.1', String(sctpPort), '0', String(theirEncapsPort), String(ourPort)], {
    t,
    stdin: 'pipe',
    timeoutMs: 30_000,
    lineBuffered: true,
  });
  const { d, packet } = await init;
  t.is(packet.verificationTag, 0);
  t.is(packet.destinationPort, sctpPort);
  t.is(packet.chunks.length, 1);
  const initChunk = packet.chunks[0] as InitChunk;
  t.is(initChunk.outboundStreams, 10);
  t.is(initChunk.inboundStreams, 2048);
  const kinds = initChunk.params.map((p) => p.kind);
  for (const k of ['ecn-capable', 'forward-tsn-supported', 'supported-extensions', 'random', 'hmac-algo', 'chunks', 'supported-address-types', 'ipv4'] as const) {
    t.true(kinds.includes(k), `usrsctp INIT has ${k}: ${kinds.join(',')}`);
  }
  const find = <K extends string>(kind: K) => initChunk.params.find((p) => p.kind === kind);
  const random = find('random');
  t.is(random?.kind === 'random' ? random.random.length : -1, 32);
  const hmacs = find('hmac-algo');
  t.deepEqual(hmacs?.kind === 'hmac-algo' ? hmacs.hmacIds : undefined, [1]);
  const chunks = find('chunks');
  t.deepEqual(chunks?.kind === 'chunks' ? [...chunks.chunkTypes].sort() : undefined, [0x80, 0xc1]);
  const ext = find('supported-extensions');
  t.true(ext?.kind === 'supported-extensions' && [0xc0, 0x0f, 0xc1, 0x80].every((c) => ext.chunkTypes.includes(c)));
  t.true(initChunk.params.some((p) => p.kind === 'ipv4' && p.address === '127.0.0.1'));
  // Re-emitting what we parsed gives back the exact bytes on the wire.
  t.is(Buffer.from(emitPacket(packet)).toString('hex'), Buffer.from(d.bytes).toString('hex'));

  // Answer with an INIT ACK; usrsctp must echo our cookie in a COOKIE ECHO to our tag.
  const ourTag = 0x5eed1234;
  const cookie = new TextEncoder().encode('baton wire-layer test cookie, echoed verbatim');
  const initAck: Chunk = {
    type: 2,
    initiateTag: ourTag,
    advertisedReceiverWindow: 1 << 17,
    outboundStreams: 10,
    inboundStreams: 10,
    initialTsn: 1000,
    params: [
      { type: 7, kind: 'state-cookie', cookie },
      { type: 0x8000, kind: 'ecn-capable' },
    ],
  };
  const echo = nextPacket(socket, 15_000, (p) => firstType(p) === 10);
  socket.send(
    emitPacket({ sourcePort: sctpPort, destinationPort: packet.sourcePort, verificationTag: initChunk.initiateTag, chunks: [initAck] }),
    d.port,
    d.address,
  );
  const cookieEcho = await echo;
  t.is(cookieEcho.packet.verificationTag, ourTag);
  const ce = cookieEcho.packet.chunks[0]!;
  t.true(ce.type === 10 && Buffer.from((ce as { cookie: Uint8Array }).cookie).equals(Buffer.from(cookie)));
  t.is(Buffer.from(emitPacket(cookieEcho.packet)).toString('hex'), Buffer.from(cookieEcho.d.bytes).toString('hex'));

  // End it: ABORT to their tag, then stop the process.
  socket.send(
    emitPacket({ sourcePort: sctpPort, destinationPort: packet.sourcePort, verificationTag: initChunk.initiateTag, chunks: [{ type: 6, reflectedTag: false, causes: [] }] }),
    d.port,
    d.address,
  );
  await client.kill();
});
