import test from 'ava';
import dgram from 'node:dgram';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import { DriverError, UdpDriver } from '../src/node/driver.js';
import type { DatagramCore, Instant, Transmit } from '../src/transport-abstraction/transport.js';

/** Echoes every datagram back to its sender from the address it arrived on. */
class EchoCore implements DatagramCore {
  readonly queue: Transmit[] = [];
  readonly received: Array<{ from: UdpAddress; local?: UdpAddress; bytes: Uint8Array }> = [];
  deadline: Instant | undefined;
  timeouts: Instant[] = [];
  timeoutCalls = 0;
  onTimeout: ((now: Instant) => void) | undefined;
  throwOn = new Set<string>();

  handleDatagram(now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    if (this.throwOn.has('handleDatagram')) throw new Error('boom in handleDatagram');
    this.received.push({ from: { address: from.address, port: from.port }, local, bytes });
    this.queue.push({ source: local, destination: { address: from.address, port: from.port }, payload: bytes });
  }
  handleTimeout(now: Instant): void {
    this.timeoutCalls++;
    if (this.throwOn.has('handleTimeout')) throw new Error('boom in handleTimeout');
    if (this.deadline !== undefined && this.deadline <= now) {
      this.deadline = undefined;
      this.timeouts.push(now);
      this.onTimeout?.(now);
    }
  }
  pollTransmit(): Transmit | undefined {
    if (this.throwOn.has('pollTransmit')) throw new Error('boom in pollTransmit');
    return this.queue.shift();
  }
  pollTimeout(): Instant | undefined {
    return this.deadline;
  }
}

/** A raw dgram client bound to 127.0.0.1:0 that collects what it receives. */
async function client(): Promise<{ socket: dgram.Socket; port: number; inbox: Array<{ msg: Buffer; from: dgram.RemoteInfo }>; waitFor: (n: number) => Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  const inbox: Array<{ msg: Buffer; from: dgram.RemoteInfo }> = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  socket.on('message', (msg, from) => {
    inbox.push({ msg, from });
    if (waiter && inbox.length >= waiter.n) waiter.resolve();
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const waitFor = (n: number): Promise<void> =>
    inbox.length >= n
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`timed out waiting for ${n} datagrams, got ${inbox.length}`)), 5000);
          waiter = {
            n,
            resolve: () => {
              clearTimeout(t);
              resolve();
            },
          };
        });
  return { socket, port: socket.address().port, inbox, waitFor };
}

function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const check = (): void => {
      if (cond()) return resolve();
      if (Date.now() - start > ms) return reject(new Error(`timed out: ${what}`));
      setTimeout(check, 2);
    };
    check();
  });
}

test('driver: binds every address on a real port and echoes from the socket it arrived on', async (t) => {
  const core = new EchoCore();
  const d = await UdpDriver.bind(core, [
    { address: '127.0.0.1', port: 0 },
    { address: '127.0.0.2', port: 0 },
  ]);
  const c = await client();
  try {
    t.is(d.addresses.length, 2);
    t.is(d.addresses[0]!.address, '127.0.0.1');
    t.is(d.addresses[1]!.address, '127.0.0.2');
    for (const a of d.addresses) t.true(a.port > 0);
    c.socket.send(Buffer.from('one'), d.addresses[0]!.port, '127.0.0.1');
    await c.waitFor(1);
    c.socket.send(Buffer.from('two'), d.addresses[1]!.port, '127.0.0.2');
    await c.waitFor(2);
    t.is(c.inbox[0]!.msg.toString(), 'one');
    t.is(c.inbox[0]!.from.address, '127.0.0.1');
    t.is(c.inbox[0]!.from.port, d.addresses[0]!.port);
    t.is(c.inbox[1]!.msg.toString(), 'two');
    t.is(c.inbox[1]!.from.address, '127.0.0.2');
    t.is(c.inbox[1]!.from.port, d.addresses[1]!.port);
    t.deepEqual(core.received[0]!.from, { address: '127.0.0.1', port: c.port });
    t.deepEqual(core.received[1]!.local, d.addresses[1]);
  } finally {
    await d.close();
    await closeSocket(c.socket);
  }
});

test('driver: a burst is fed, echoed in full and the hook runs per batch, not per datagram', async (t) => {
  const core = new EchoCore();
  const hookTimes: number[] = [];
  const d = await UdpDriver.bind(core, [{ address: '127.0.0.1', port: 0 }], { afterInput: (now) => hookTimes.push(now) });
  const c = await client();
  try {
    const n = 300;
    for (let i = 0; i < n; i++) c.socket.send(Buffer.from(`m${i}`), d.addresses[0]!.port, '127.0.0.1');
    await c.waitFor(n);
    const got = new Set(c.inbox.map((m) => m.msg.toString()));
    t.is(got.size, n);
    t.is(d.stats.datagramsReceived, n);
    t.is(d.stats.datagramsSent, n);
    t.true(hookTimes.length >= 1);
    t.true(hookTimes.length < n, `hook ran ${hookTimes.length} times for ${n} datagrams`);
    t.is(d.stats.coreErrors + d.stats.sendErrors + d.stats.sendDropped, 0);
  } finally {
    await d.close();
    await closeSocket(c.socket);
  }
});

test('driver: the timer fires at the core deadline and its transmits go out', async (t) => {
  const core = new EchoCore();
  const c = await client();
  const d = await UdpDriver.bind(core, [{ address: '127.0.0.1', port: 0 }]);
  try {
    const armedAt = d.now();
    core.deadline = armedAt + 15;
    core.onTimeout = () => core.queue.push({ destination: { address: '127.0.0.1', port: c.port }, payload: Buffer.from('tick') });
    d.wake();
    await c.waitFor(1);
    t.is(core.timeouts.length, 1);
    t.true(core.timeouts[0]! >= armedAt + 15, 'handleTimeout ran before the deadline');
    t.is(c.inbox[0]!.msg.toString(), 'tick');
    t.is(c.inbox[0]!.from.port, d.addresses[0]!.port);
  } finally {
    await d.close();
    await closeSocket(c.socket);
  }
});

test('driver: a deadline pushed later keeps the early timer, which re-arms instead of firing the core', async (t) => {
  const core = new EchoCore();
  const d = await UdpDriver.bind(core, [{ address: '127.0.0.1', port: 0 }]);
  try {
    const start = d.now();
    core.deadline = start + 5;
    d.wake();
    const early = d.timerDeadline!;
    t.true(early < start + 40);
    core.deadline = start + 40; // e.g. an ack pushed the RTO later
    d.wake();
    t.is(d.timerDeadline, early, 'the earlier timer was kept, not replaced');
    await until(() => core.timeouts.length === 1, 'timeout');
    t.true(core.timeouts[0]! >= start + 40);
    t.is(core.timeoutCalls, 1, 'the early fire re-armed without calling handleTimeout');
    // An infinite deadline means no timer (setTimeout would turn it into 1 ms and spin).
    core.deadline = Infinity;
    d.wake();
    t.is(d.timerDeadline, undefined);
    // Moving the deadline earlier replaces the armed timer.
    const again = d.now();
    core.deadline = again + 1000;
    d.wake();
    core.deadline = again + 5;
    d.wake();
    t.true(d.timerDeadline! < again + 1000, 'an earlier deadline replaces the armed timer');
    await until(() => core.timeouts.length === 2, 'second timeout', 500);
    t.true(core.timeouts[1]! < again + 500);
  } finally {
    await d.close();
  }
});

test('driver: wake() drains what the app queued outside any input', async (t) => {
  const core = new EchoCore();
  const c = await client();
  const d = await UdpDriver.bind(core, [{ address: '127.0.0.1', port: 0 }]);
  try {
    core.queue.push({ destination: { address: '127.0.0.1', port: c.port }, payload: Buffer.from('a') });
    core.queue.push({ source: d.addresses[0], destination: { address: '127.0.0.1', port: c.port }, payload: Buffer.from('b') });
    // A source given with the pre-bind port 0 still picks that IP's socket.
    core.queue.push({ source: { address: '127.0.0.1', port: 0 }, destination: { address: '127.0.0.1', port: c.port }, payload: Buffer.from('c') });
    d.wake();
    await c.waitFor(3);
    t.deepEqual(c.inbox.map((m) => m.msg.toString()), ['a', 'b', 'c']);
  } finally {
    await d.close();
    await closeSocket(c.socket);
  }
});

test('driver: core and hook exceptions are counted and reported, and the driver keeps working', async (t) => {
  const core = new EchoCore();
  const errors: DriverError[] = [];
  let hookThrows = true;
  const d = await UdpDriver.bind(core, [{ address: '127.0.0.1', port: 0 }], {
    errors: (e) => {
      errors.push(e);
      throw new Error('the error callback throws too');
    },
    afterInput: () => {
      if (hookThrows) throw new Error('hook boom');
    },
  });
  const c = await client();
  try {
    core.throwOn.add('handleDatagram');
    c.socket.send(Buffer.from('x'), d.addresses[0]!.port, '127.0.0.1');
    await until(() => errors.some((e) => e.where === 'handleDatagram'), 'handleDatagram error');
    await until(() => errors.some((e) => e.where === 'afterInput'), 'hook error');
    core.throwOn.clear();
    core.throwOn.add('pollTransmit');
    d.wake();
    core.throwOn.clear();
    core.throwOn.add('handleTimeout');
    core.deadline = d.now() + 2;
    d.wake();
    await until(() => errors.some((e) => e.where === 'handleTimeout'), 'handleTimeout error');
    core.throwOn.clear();
    core.deadline = undefined;
    hookThrows = false;
    c.socket.send(Buffer.from('still alive'), d.addresses[0]!.port, '127.0.0.1');
    await c.waitFor(1);
    t.is(c.inbox[0]!.msg.toString(), 'still alive');
    const core_ = errors.filter((e) => e.code === 'BATON_ERR_DRIVER_CORE');
    t.deepEqual(new Set(core_.map((e) => e.where)), new Set(['handleDatagram', 'pollTransmit', 'handleTimeout']));
    t.true(errors.every((e) => e instanceof DriverError));
    t.true(errors.some((e) => e.code === 'BATON_ERR_DRIVER_HOOK'));
    t.is(d.stats.coreErrors, core_.length);
    t.true(d.stats.hookErrors >= 1);
    t.true(core_.every((e) => e.cause instanceof Error && /boom/.test(e.cause.message)));
  } finally {
    await d.close();
    await closeSocket(c.socket);
  }
});

test('driver: unroutable source and failing sends are counted, not thrown', async (t) => {
  const core = new EchoCore();
  const errors: DriverError[] = [];
  const d = await UdpDriver.bind(core, [{ address: '127.0.0.1', port: 0 }], { errors: (e) => errors.push(e) });
  try {
    core.queue.push({ source: { address: '127.0.0.9', port: 1 }, destination: { address: '127.0.0.1', port: 9 }, payload: Buffer.from('x') });
    core.queue.push({ destination: { address: 'not-an-ip', port: 9 }, payload: Buffer.from('x') });
    core.queue.push({ destination: { address: '127.0.0.1', port: 0 }, payload: Buffer.from('x') });
    core.queue.push({ destination: { address: '::1', port: 9 }, payload: Buffer.from('x') }); // v6 from a v4 socket
    d.wake();
    await until(() => d.stats.sendErrors >= 3, 'send errors');
    t.is(d.stats.noSocket, 1);
    t.is(errors.filter((e) => e.code === 'BATON_ERR_DRIVER_NO_SOCKET').length, 1);
    t.is(errors.filter((e) => e.code === 'BATON_ERR_DRIVER_SEND').length, 3);
    t.is(d.stats.datagramsSent, 0);
  } finally {
    await d.close();
  }
});

test('driver: bind failure rejects with BATON_ERR_DRIVER_BIND and leaves nothing open', async (t) => {
  const first = await UdpDriver.bind(new EchoCore(), [{ address: '127.0.0.1', port: 0 }]);
  try {
    const taken = first.addresses[0]!;
    const e = await t.throwsAsync(UdpDriver.bind(new EchoCore(), [{ address: '127.0.0.3', port: 0 }, taken]), { instanceOf: DriverError });
    t.is(e!.code, 'BATON_ERR_DRIVER_BIND');
    const e2 = await t.throwsAsync(UdpDriver.bind(new EchoCore(), [{ address: 'localhost', port: 0 }]), { instanceOf: DriverError });
    t.is(e2!.code, 'BATON_ERR_DRIVER_BIND');
  } finally {
    await first.close();
  }
});

test('driver: close() stops input, the timer and wake()', async (t) => {
  const core = new EchoCore();
  const d = await UdpDriver.bind(core, [{ address: '127.0.0.1', port: 0 }]);
  const port = d.addresses[0]!.port;
  core.deadline = d.now() + 5;
  d.wake();
  t.not(d.timerDeadline, undefined);
  await d.close();
  await d.close(); // idempotent
  t.true(d.isClosed);
  core.queue.push({ destination: { address: '127.0.0.1', port: 9 }, payload: Buffer.from('x') });
  d.wake();
  t.is(d.timerDeadline, undefined);
  t.is(core.queue.length, 1, 'wake() after close() drained the core');
  // The port is free again.
  const again = await UdpDriver.bind(new EchoCore(), [{ address: '127.0.0.1', port }]);
  t.is(again.addresses[0]!.port, port);
  await again.close();
});
