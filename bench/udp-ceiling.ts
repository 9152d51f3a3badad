// The UDP ceiling: how many bytes per second one Node process can push through node:dgram to
// another Node process on loopback. No userspace transport written in Node (baton included) can
// beat it, so it is the yardstick for baton's goodput.
//
// Two child processes. The sender keeps at most `window` datagrams of `messageSize` bytes unacked
// (the receiver acks its running count every `ackEvery` datagrams), so the figure is what arrives,
// not what the kernel drops at a full receive buffer. If an ack is late (loss) the sender times the
// window out and carries on. The receiver measures from its first to its last datagram.
//
//   node --import=tsx bench/udp-ceiling.ts [--seconds 5] [--message-size 1400] [--json]
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { benchScript, isMain, mbps, parseFlags, PROJECT_ROOT } from './child.js';
import { spawnProcess } from './process.js';
import { CPU_LINE, cpuLine } from './cpu.js';

export interface UdpCeilingOptions {
  readonly seconds?: number;
  readonly messageSize?: number;
  /** Datagrams in flight; default 2048 (2.8 MB of 1400-byte datagrams, under the 4 MB rmem_max here). */
  readonly window?: number;
  readonly address?: string;
}

export interface UdpCeilingResult {
  readonly mbps: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly datagramsSent: number;
  readonly datagramsReceived: number;
  /** User + system CPU seconds of both processes. */
  readonly cpuSeconds: number;
}

const ACK_EVERY = 32;
const FIN = 0xff; // first byte of the end-of-run datagram (data datagrams start with 0x00)

/** Run sender and receiver as two child processes and return the receiver's figure. */
export async function runUdpCeiling(options: UdpCeilingOptions = {}): Promise<UdpCeilingResult> {
  const seconds = options.seconds ?? 5;
  const size = options.messageSize ?? 1400;
  const address = options.address ?? '127.0.0.1';
  const receiver = spawnProcess(process.execPath, [...benchScript('udp-ceiling'), '--role', 'receiver', '--address', address], {
    cwd: PROJECT_ROOT,
    timeoutMs: (seconds + 30) * 1000,
    name: 'udp-ceiling receiver',
  });
  try {
    const port = Number((await receiver.waitForLine(/^LISTENING (\d+)$/, 20_000))[1]);
    const sender = spawnProcess(
      process.execPath,
      [
        ...benchScript('udp-ceiling'),
        '--role',
        'sender',
        '--address',
        address,
        '--port',
        String(port),
        '--seconds',
        String(seconds),
        '--message-size',
        String(size),
        '--window',
        String(options.window ?? 2048),
      ],
      { cwd: PROJECT_ROOT, timeoutMs: (seconds + 30) * 1000, name: 'udp-ceiling sender' },
    );
    const sent = await sender.waitForLine(/^SENT (\d+)$/, (seconds + 20) * 1000);
    const m = await receiver.waitForLine(/^RESULT (\d+) (\d+) ([\d.]+)$/, 10_000);
    const senderCpu = Number((await sender.waitForLine(CPU_LINE, 5000))[1]);
    const receiverCpu = Number((await receiver.waitForLine(CPU_LINE, 5000))[1]);
    await sender.waitForExit(5000);
    const bytes = Number(m[1]);
    const secs = Number(m[3]);
    return { mbps: mbps(bytes, secs), bytes, seconds: secs, datagramsSent: Number(sent[1]), datagramsReceived: Number(m[2]), cpuSeconds: senderCpu + receiverCpu };
  } finally {
    await receiver.kill();
  }
}

function receiverMain(address: string): void {
  const socket = dgram.createSocket({ type: 'udp4' });
  let bytes = 0;
  let datagrams = 0;
  let first = 0;
  let last = 0;
  let cpuAtFirst: NodeJS.CpuUsage | undefined;
  const ack = Buffer.alloc(4);
  socket.on('message', (msg, rinfo) => {
    if (msg[0] === FIN) {
      // "fin" may be repeated: answer each, report once.
      socket.send(Buffer.from([FIN]), rinfo.port, rinfo.address);
      if (first !== 0) {
        process.stdout.write(`RESULT ${bytes} ${datagrams} ${((last - first) / 1000).toFixed(6)}\n${cpuLine(cpuAtFirst)}`);
        first = 0;
        setTimeout(() => process.exit(0), 100);
      }
      return;
    }
    const now = performance.now();
    if (datagrams === 0) {
      first = now;
      cpuAtFirst = process.cpuUsage();
    }
    last = now;
    datagrams++;
    bytes += msg.length;
    if (datagrams % ACK_EVERY === 0) {
      ack.writeUInt32BE(datagrams >>> 0);
      socket.send(ack, rinfo.port, rinfo.address);
    }
  });
  socket.bind(0, address, () => {
    try {
      socket.setRecvBufferSize(8 << 20);
    } catch {
      // capped
    }
    process.stdout.write(`LISTENING ${socket.address().port}\n`);
  });
}

function senderMain(address: string, port: number, seconds: number, size: number, window: number): void {
  const socket = dgram.createSocket({ type: 'udp4' });
  const payload = Buffer.alloc(size, 0x61);
  payload[0] = 0;
  let sent = 0;
  let received = 0; // the receiver's count, from its acks
  let lost = 0; // datagrams written off after an ack stall
  let lastAckAt = performance.now();
  let running = true;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  const inFlight = (): number => sent - lost - received;
  // One pump chain at a time: `scheduled` says a pump is queued (immediate or 1 ms timer);
  // `stall` is armed while the window is full and only an ack (or its absence) can restart it.
  let scheduled = false;
  let stall: NodeJS.Timeout | undefined;
  const pump = (): void => {
    scheduled = false;
    if (!running) return;
    let n = 0;
    while (inFlight() < window && n < 256) {
      socket.send(payload);
      sent++;
      n++;
    }
    if (inFlight() >= window) {
      // No ack for 20 ms with a full window: what is in flight was lost; write it off.
      stall = setTimeout(() => {
        stall = undefined;
        if (performance.now() - lastAckAt > 20) lost += inFlight();
        pump();
      }, 21);
      stall.unref();
    } else {
      scheduled = true;
      if (socket.getSendQueueCount() > 64) setTimeout(pump, 1).unref();
      else setImmediate(pump);
    }
  };
  const kick = (): void => {
    if (stall !== undefined) {
      clearTimeout(stall);
      stall = undefined;
      pump();
    }
  };
  socket.on('message', (msg) => {
    if (msg.length === 4) {
      const count = msg.readUInt32BE(0);
      if (count > received) {
        received = count;
        lastAckAt = performance.now();
        kick();
      }
    } else if (msg[0] === FIN) {
      process.stdout.write(`SENT ${sent}\n${cpuLine(cpuAtStart)}`);
      process.exit(0);
    }
  });
  socket.bind(0, address, () => {
    socket.connect(port, address, () => {
      try {
        socket.setSendBufferSize(8 << 20);
      } catch {
        // capped
      }
      cpuAtStart = process.cpuUsage();
      setTimeout(() => {
        running = false;
        const fin = (): void => {
          socket.send(Buffer.from([FIN]));
          setTimeout(fin, 200).unref();
        };
        // Let what is queued drain, then say "fin" until the receiver answers.
        setTimeout(fin, 50);
      }, seconds * 1000);
      pump();
    });
  });
}

if (isMain(import.meta.url)) {
  const flags = parseFlags(process.argv.slice(2));
  const role = flags.get('role');
  const address = flags.get('address') ?? '127.0.0.1';
  if (!/^127\./.test(address)) throw new Error('the UDP ceiling bench runs on 127.0.0.0/8 only');
  if (role === 'receiver') receiverMain(address);
  else if (role === 'sender') {
    senderMain(address, Number(flags.get('port')), Number(flags.get('seconds') ?? 5), Number(flags.get('message-size') ?? 1400), Number(flags.get('window') ?? 2048));
  } else {
    const r = await runUdpCeiling({ seconds: Number(flags.get('seconds') ?? 5), messageSize: Number(flags.get('message-size') ?? 1400) });
    if (flags.has('json')) process.stdout.write(JSON.stringify(r) + '\n');
    else process.stdout.write(`UDP ceiling: ${r.mbps.toFixed(1)} MB/s (${r.datagramsReceived}/${r.datagramsSent} datagrams in ${r.seconds.toFixed(2)} s)\n`);
  }
}
