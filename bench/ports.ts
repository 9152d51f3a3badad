// Free UDP ports and usable loopback addresses for benchmarks and tests on real sockets. They only ever
// bind and send to 127.0.0.0/8.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

function bindUdp(type: 'udp4' | 'udp6', address: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    socket.once('error', (e) => {
      try {
        socket.close();
      } catch {
        // not open
      }
      reject(e);
    });
    socket.bind({ address, port, exclusive: true }, () => resolve(socket));
  });
}

function close(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

function assertLoopback(address: string): void {
  if (!/^127\.\d+\.\d+\.\d+$/.test(address)) throw new Error(`tests bind only 127.0.0.0/8, not ${address}`);
}

/** A UDP port free on `address` right now (bind port 0, read it, close). */
export async function freeUdpPort(address = '127.0.0.1'): Promise<number> {
  assertLoopback(address);
  const s = await bindUdp('udp4', address, 0);
  const port = s.address().port;
  await close(s);
  return port;
}

/** `count` distinct free UDP ports on `address`. */
export async function freeUdpPorts(count: number, address = '127.0.0.1'): Promise<number[]> {
  assertLoopback(address);
  const sockets: dgram.Socket[] = [];
  try {
    for (let i = 0; i < count; i++) sockets.push(await bindUdp('udp4', address, 0));
    return sockets.map((s) => s.address().port);
  } finally {
    await Promise.all(sockets.map(close));
  }
}

/**
 * A UDP port free on the wildcard addresses 0.0.0.0 and [::]. usrsctp's programs bind their UDP
 * encapsulation socket to both wildcards (usrsctp_init(port)), which fails if anyone holds the
 * port on any address, so their ports must come from here.
 */
export async function freeWildcardUdpPort(attempts = 20): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const v4 = await bindUdp('udp4', '0.0.0.0', 0);
    const port = v4.address().port;
    try {
      const v6 = await bindUdp('udp6', '::', port).catch(() => undefined);
      if (v6) {
        await close(v6);
        return port;
      }
    } finally {
      await close(v4);
    }
  }
  throw new Error('no UDP port free on both 0.0.0.0 and [::]');
}

/** `count` distinct wildcard-free UDP ports (see freeWildcardUdpPort). */
export async function freeWildcardUdpPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freeWildcardUdpPort());
  return [...ports];
}

/**
 * The addresses among 127.0.0.`from`..127.0.0.`to` a UDP socket can bind (on Linux the whole
 * 127.0.0.0/8 is on lo by default; elsewhere only 127.0.0.1 may be).
 */
export async function usableLoopbackAddresses(from = 2, to = 9): Promise<string[]> {
  const usable: string[] = [];
  for (let i = from; i <= to; i++) {
    const address = `127.0.0.${i}`;
    try {
      await close(await bindUdp('udp4', address, 0));
      usable.push(address);
    } catch {
      // not configured here
    }
  }
  return usable;
}

function boundUdpPorts(): Set<number> {
  const ports = new Set<number>();
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local) ports.add(parseInt(local.split(':').pop()!, 16));
    }
  }
  return ports;
}

/**
 * Resolves once some socket on this host has UDP `port` bound (read from /proc/net/udp{,6}), then
 * waits `settleMs` more: a program that prints nothing when ready (usrsctp's echo_server binds its
 * UDP socket in usrsctp_init, then listens microseconds later) is ready after that.
 */
export async function waitForUdpPortBound(port: number, timeoutMs = 10_000, settleMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!boundUdpPorts().has(port)) {
    if (Date.now() > deadline) throw new Error(`UDP port ${port} was not bound within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, settleMs));
}
