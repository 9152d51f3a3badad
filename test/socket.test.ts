import test from 'ava';
import { once } from 'node:events';
import type { UdpAddress } from '../src/transport-abstraction/address.js';
import { createHash } from 'node:crypto';
import { SimNetwork } from '../src/sim/network.js';
import { createEndpoint } from '../src/transports.js';
import { UdpDriver } from '../src/node/driver.js';
import { LocalUsageError, TransportError } from '../src/transport-abstraction/errors.js';
import { SocketClosedError, TransportSocket } from '../src/node/socket.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import type {
  DatagramCore,
  Instant,
  MigratableTransport,
  ReceiverState,
  SendOptions,
  Transmit,
  TransportEvent,
  TransportKind,
} from '../src/transport-abstraction/transport.js';

/** Echoes every datagram back to its sender. */
class EchoCore implements DatagramCore {
  private readonly queue: Transmit[] = [];
  handleDatagram(_now: Instant, from: UdpAddress, bytes: Uint8Array, local?: UdpAddress): void {
    this.queue.push({ source: local, destination: { address: from.address, port: from.port }, payload: bytes });
  }
  handleTimeout(): void {}
  pollTransmit(): Transmit | undefined {
    return this.queue.shift();
  }
  pollTimeout(): Instant | undefined {
    return undefined;
  }
}

/**
 * A trivial transport: send() accepts up to `capacity` unacknowledged bytes and sends each accepted
 * piece as one datagram to `remote`; every received datagram becomes a 'data' event. Tests inject
 * other events with `events.push` and free room with `ack()`.
 */
class FakeTransport implements MigratableTransport {
  readonly kind = 'tcp' as const;
  stateName = 'ESTABLISHED';
  readonly events: TransportEvent[] = [];
  readonly sent: Uint8Array[] = [];
  readonly sendOptions: Array<SendOptions | undefined> = [];
  readonly closeCalls: Instant[] = [];
  readonly abortCalls: Array<{ now: Instant; reason?: string }> = [];
  bufferedAmount = 0;
  streamOffset = 0;
  receivedOffset = 0;
  setAcknowledgeLimit(): void {}
  exportGeneration = 0;
  setExportBarrier(): void {}
  confirmExport(): void {}
  private readonly transmits: Transmit[] = [];
  private closed = false;

  constructor(
    public remote: UdpAddress,
    private readonly capacity = Infinity,
  ) {}

  handleDatagram(_now: Instant, _from: UdpAddress, bytes: Uint8Array): void {
    this.events.push({ type: 'data', stream: 0, bytes: new Uint8Array(bytes) });
  }
  handleTimeout(): void {}
  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }
  pollTimeout(): Instant | undefined {
    return undefined;
  }
  pollEvent(): TransportEvent | undefined {
    return this.events.shift();
  }
  send(bytes: Uint8Array, options?: SendOptions): number {
    if (this.closed) throw new LocalUsageError('send on a closed connection');
    const n = Math.min(bytes.length, this.capacity - this.bufferedAmount);
    if (n <= 0) return 0;
    const piece = bytes.slice(0, n);
    this.sent.push(piece);
    this.sendOptions.push(options);
    this.bufferedAmount += n;
    this.streamOffset += n;
    this.transmits.push({ destination: this.remote, payload: piece });
    return n;
  }
  /** The peer acknowledged n bytes: room frees up and a 'writable' event follows. */
  ack(n: number): void {
    this.bufferedAmount -= n;
    this.events.push({ type: 'writable' });
  }
  close(now: Instant): void {
    this.closeCalls.push(now);
    this.closed = true;
  }
  abort(now: Instant, reason?: string): void {
    this.abortCalls.push({ now, reason });
    this.closed = true;
  }
  exportState(): TransportState {
    throw new LocalUsageError('not in the fake');
  }
  takeover(): void {
    throw new LocalUsageError('not in the fake');
  }
  receiverState(): ReceiverState | undefined {
    return undefined;
  }
  sentText(): string {
    return Buffer.concat(this.sent).toString();
  }
}

const nowhere: UdpAddress = { address: '127.0.0.1', port: 9 };

function standalone(capacity = Infinity): { transport: FakeTransport; socket: TransportSocket; wakes: () => number } {
  const transport = new FakeTransport(nowhere, capacity);
  let wakes = 0;
  let clock = 1000;
  const socket = new TransportSocket({ transport, wake: () => wakes++, now: () => ++clock });
  return { transport, socket, wakes: () => wakes };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    }),
  ]);
}

test('socket: bytes written go through transport and real UDP to an echo core and come back as data', async (t) => {
  const echo = await UdpDriver.bind(new EchoCore(), [{ address: '127.0.0.1', port: 0 }]);
  const transport = new FakeTransport(echo.addresses[0]!);
  const driver = await UdpDriver.bind(transport, [{ address: '127.0.0.1', port: 0 }]);
  const socket = new TransportSocket({ transport, wake: () => driver.wake(), now: () => driver.now(), stream: 3 });
  driver.afterInput = () => socket.pump();
  try {
    const total = 100 * 1000;
    const payload = Buffer.alloc(total);
    for (let i = 0; i < total; i++) payload[i] = (i * 7 + (i >> 8)) & 0xff;
    const received: Buffer[] = [];
    let length = 0;
    const done = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        length += chunk.length;
        if (length >= total) resolve();
      });
    });
    for (let i = 0; i < total; i += 1000) socket.write(payload.subarray(i, i + 1000));
    await withTimeout(done, 5000, 'echoed bytes');
    t.true(Buffer.concat(received).equals(payload));
    t.is(transport.sendOptions[0]?.stream, 3);
    t.is(driver.stats.datagramsSent, driver.stats.datagramsReceived);
  } finally {
    socket.destroy();
    await driver.close();
    await echo.close();
  }
});

test('socket: a write the transport only partly accepts waits for writable events', (t) => {
  const { transport, socket, wakes } = standalone(10);
  let done = false;
  socket.write(Buffer.from('0123456789abcdefghijklmno'), () => {
    done = true;
  });
  t.is(transport.sentText(), '0123456789');
  t.false(done);
  t.is(wakes(), 1);
  transport.ack(10);
  socket.pump();
  t.is(transport.sentText(), '0123456789abcdefghij');
  t.false(done);
  socket.pump(); // no event: nothing moves
  t.is(transport.sentText(), '0123456789abcdefghij');
  transport.ack(10);
  socket.pump();
  t.is(transport.sentText(), '0123456789abcdefghijklmno');
  t.true(done);
  t.is(wakes(), 3);
});

test('socket: write() reports backpressure until the transport frees room', async (t) => {
  const transport = new FakeTransport(nowhere, 4);
  const socket = new TransportSocket({ transport, wake: () => {}, now: () => 0, writableHighWaterMark: 8 });
  t.true(socket.write(Buffer.from('abcd')));
  t.false(socket.write(Buffer.from('efghijkl')));
  let drained = false;
  socket.once('drain', () => (drained = true));
  for (let i = 0; i < 3; i++) {
    transport.ack(4);
    socket.pump();
    await new Promise((r) => setImmediate(r));
  }
  t.is(transport.sentText(), 'abcdefghijkl');
  t.true(drained);
});

test('socket: the transport end event ends the readable side, writing still works', async (t) => {
  const { transport, socket } = standalone();
  const chunks: string[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c.toString()));
  const ended = once(socket, 'end');
  transport.events.push({ type: 'data', stream: 0, bytes: Buffer.from('last ') }, { type: 'data', stream: 1, bytes: Buffer.from('words') }, { type: 'end' });
  socket.pump();
  await ended;
  t.deepEqual(chunks, ['last ', 'words']);
  await new Promise<void>((resolve, reject) => socket.write('reply', (e) => (e ? reject(e) : resolve())));
  t.is(transport.sentText(), 'reply');
});

test('socket: end() closes the transport gracefully at the driver clock', async (t) => {
  const { transport, socket, wakes } = standalone();
  socket.write('bye');
  socket.end();
  await once(socket, 'finish');
  t.is(transport.closeCalls.length, 1);
  t.true(transport.closeCalls[0]! > 1000);
  t.is(transport.abortCalls.length, 0);
  t.true(wakes() >= 2);
  t.is(transport.sentText(), 'bye');
});

test('socket: a closed event with a TransportError destroys the socket with that code', async (t) => {
  const { transport, socket } = standalone(2);
  let writeError: Error | null | undefined;
  socket.write('abcdef', (e) => (writeError = e));
  const errored = once(socket, 'error');
  transport.events.push({ type: 'closed', error: new TransportError('BATON_ERR_TIMEOUT', 'peer unreachable') });
  socket.pump();
  const [error] = (await errored) as [TransportError];
  t.true(error instanceof TransportError);
  t.is(error.code, 'BATON_ERR_TIMEOUT');
  t.is((writeError as TransportError | undefined)?.code, 'BATON_ERR_TIMEOUT');
  t.true(socket.destroyed);
  t.is(transport.abortCalls.length, 0, 'a transport that closed itself is not aborted again');
});

test('socket: the SCTP wire cause survives to the user', async (t) => {
  const { transport, socket } = standalone();
  const errored = once(socket, 'error');
  transport.events.push({ type: 'closed', error: new TransportError('BATON_ERR_ABORTED', 'peer aborted', 12) });
  socket.pump();
  const [error] = (await errored) as [TransportError];
  t.is(error.code, 'BATON_ERR_ABORTED');
  t.is(error.wireCause, 12);
});

test('socket: takeover and connection events are re-emitted', (t) => {
  const { transport, socket } = standalone();
  const seen: Array<[string, unknown]> = [];
  for (const name of ['connect', 'state-changed', 'taken-over', 'takeover-refused', 'takeover-complete']) {
    socket.on(name, (arg?: unknown) => seen.push([name, arg]));
  }
  const peer = { address: '127.0.0.2', port: 9899 };
  const receiver = { nextOffset: 5000, heldRanges: [{ start: 6000, end: 7000 }], cumulativeAck: 17 };
  transport.events.push(
    { type: 'connected' },
    { type: 'taken-over', requestNumber: 2, peer },
    { type: 'takeover-refused', requestNumber: 2, peer, reason: 'duplicate' },
    { type: 'state-changed' },
    { type: 'takeover-complete', receiver },
  );
  socket.pump();
  t.deepEqual(seen, [
    ['connect', undefined],
    ['taken-over', { type: 'taken-over', requestNumber: 2, peer }],
    ['takeover-refused', { type: 'takeover-refused', requestNumber: 2, peer, reason: 'duplicate' }],
    ['state-changed', undefined],
    ['takeover-complete', { type: 'takeover-complete', receiver }],
  ]);
});

test('socket: a clean close ends both sides and closes the socket without aborting', async (t) => {
  const { transport, socket } = standalone();
  socket.resume();
  const closed = once(socket, 'close');
  transport.events.push({ type: 'data', stream: 0, bytes: Buffer.from('x') }, { type: 'end' }, { type: 'closed' });
  socket.pump();
  await withTimeout(closed, 1000, 'close');
  t.true(socket.readableEnded);
  t.true(socket.writableFinished);
  t.is(transport.abortCalls.length, 0);
  t.is(transport.closeCalls.length, 0, 'the transport closed itself; close() is not called again');
});

test('socket: a write after a clean close fails with BATON_ERR_SOCKET_CLOSED', async (t) => {
  const { transport, socket } = standalone(1);
  let writeError: Error | null | undefined;
  socket.write('ab', (e) => (writeError = e));
  socket.on('error', () => {});
  transport.events.push({ type: 'closed' });
  socket.pump();
  await new Promise((r) => setImmediate(r));
  t.true(writeError instanceof SocketClosedError);
  t.is((writeError as SocketClosedError).code, 'BATON_ERR_SOCKET_CLOSED');
});

test('socket: destroy() aborts the transport and wakes the driver', (t) => {
  const { transport, socket, wakes } = standalone();
  socket.on('error', () => {});
  socket.destroy(new Error('app gave up'));
  t.is(transport.abortCalls.length, 1);
  t.is(transport.abortCalls[0]!.reason, 'app gave up');
  t.is(wakes(), 1);
  // Events that still arrive are polled and dropped.
  transport.events.push({ type: 'data', stream: 0, bytes: Buffer.from('late') });
  socket.pump();
  t.is(transport.events.length, 0);
});

test('socket: a LocalUsageError from send reaches the write callback', async (t) => {
  const { transport, socket } = standalone();
  transport.close(0);
  socket.on('error', () => {});
  const error = await new Promise<Error | null | undefined>((resolve) => socket.write('x', resolve));
  t.true(error instanceof LocalUsageError);
  t.is((error as LocalUsageError).code, 'BATON_ERR_USAGE');
});

// ---- Receive-side backpressure ----

/** A fake transport whose pollEvent calls are counted. */
function counted(capacity = Infinity, readableHighWaterMark = 16 * 1024): { transport: FakeTransport; socket: TransportSocket; wakes: () => number; polls: () => number } {
  const transport = new FakeTransport(nowhere, capacity);
  let polls = 0;
  const poll = transport.pollEvent.bind(transport);
  transport.pollEvent = () => {
    polls++;
    return poll();
  };
  let wakes = 0;
  let clock = 1000;
  const socket = new TransportSocket({ transport, wake: () => wakes++, now: () => ++clock, readableHighWaterMark });
  return { transport, socket, wakes: () => wakes, polls: () => polls };
}

const pattern = (i: number, n: number): Uint8Array => Uint8Array.from({ length: n }, (_, k) => (i * 7 + k) & 0xff);

test('socket: a consumer that does not read stops the pump at highWaterMark; events wait in the transport, in order, and all arrive when it reads', async (t) => {
  const hwm = 16 * 1024;
  const chunk = 4096;
  const { transport, socket, wakes, polls } = counted(Infinity, hwm);
  const expected: Uint8Array[] = [];
  for (let i = 0; i < 64; i++) {
    expected.push(pattern(i, chunk));
    transport.events.push({ type: 'data', stream: 0, bytes: expected[i]! });
  }
  transport.events.push({ type: 'end' }, { type: 'closed' });
  let ended = false;
  let closed = false;
  socket.on('end', () => (ended = true));
  socket.on('close', () => (closed = true));
  socket.pump();
  t.true(socket.readingPaused);
  t.true(socket.readableLength >= hwm && socket.readableLength <= hwm + chunk, `readableLength ${socket.readableLength}`);
  t.is(transport.events.length, 64 + 2 - socket.readableLength / chunk, 'the rest stays in the transport');
  // The driver keeps calling pump(): while paused it polls nothing.
  const before = polls();
  for (let i = 0; i < 1000; i++) socket.pump();
  t.is(polls(), before, 'pump() polled the transport while paused');
  await new Promise((r) => setImmediate(r));
  t.false(ended, "the 'end' behind unread data was handled early");
  t.false(closed, "the 'closed' behind unread data was handled early");
  t.false(socket.destroyed);

  // Now read: every byte, in order; the socket never holds more than hwm + one chunk.
  const wakesBefore = wakes();
  const got: Buffer[] = [];
  let maxHeld = 0;
  for await (const c of socket) {
    got.push(c as Buffer);
    maxHeld = Math.max(maxHeld, socket.readableLength);
  }
  t.deepEqual(Buffer.concat(got), Buffer.concat(expected));
  t.true(maxHeld <= hwm + chunk, `held ${maxHeld}`);
  t.true(wakes() > wakesBefore, 'resuming did not wake the driver (the window update would wait)');
  t.true(ended);
  t.is(transport.events.length, 0);
});

test('socket: a paused reader does not hold up a write waiting for send-buffer room', (t) => {
  const { transport, socket } = counted(10, 4);
  for (let i = 0; i < 4; i++) transport.events.push({ type: 'data', stream: 0, bytes: pattern(i, 8) });
  socket.pump();
  t.true(socket.readingPaused);
  let done = false;
  socket.write(Buffer.from('0123456789abcdefghij'), () => (done = true));
  t.is(transport.sentText(), '0123456789');
  // The peer acknowledges; the 'writable' event sits behind unread data, but the write goes on.
  transport.ack(10);
  socket.pump();
  t.is(transport.sentText(), '0123456789abcdefghij');
  t.true(done);
});

for (const kind of ['tcp', 'sctp'] as const satisfies readonly TransportKind[]) {
  test(`socket over ${kind} on the sim: a paused consumer keeps memory bounded, the sender stalls, and every byte arrives in order when it reads`, async (t) => {
    const hwm = 16 * 1024;
    const window = 64 * 1024;
    const file = Uint8Array.from({ length: 1_500_000 }, (_, i) => (i * 131 + (i >>> 9)) & 0xff);
    const net = new SimNetwork({ seed: 11 });
    const C: UdpAddress = { address: '10.0.0.1', port: 9000 };
    const S: UdpAddress = { address: '10.0.0.2', port: 9000 };
    net.addHost('client', [C.address]);
    net.addHost('server', [S.address]);
    net.link('client', 'server', { delayMs: 5, rateBps: 40_000_000, queueBytes: 256_000 });
    const server = createEndpoint(kind, { addresses: [S], listen: true, random: net.random, rtoMin: 200 });
    let serverConn: MigratableTransport | undefined;
    let sent = 0;
    net.attach(server, [S], (now) => {
      serverConn ??= server.pollAccept();
      if (serverConn === undefined) return;
      while (serverConn.pollEvent() !== undefined) {
        // the server only writes
      }
      while (sent < file.length && serverConn.stateName === 'ESTABLISHED') {
        const n = serverConn.send(file.subarray(sent, Math.min(file.length, sent + 65536)));
        if (n === 0) break;
        sent += n;
        if (sent === file.length) serverConn.close(now);
      }
    });
    const client = createEndpoint(kind, { addresses: [C], random: net.random, rtoMin: 200 });
    const conn = client.connect(0, S, { receiveWindow: window });
    const socket = new TransportSocket({ transport: conn, wake: () => net.wake(client), now: () => net.now, readableHighWaterMark: hwm });
    net.attach(client, [C], () => socket.pump());
    net.wake(client);
    const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
    const acked = (): number => (serverConn === undefined ? 0 : serverConn.streamOffset - serverConn.bufferedAmount);

    // Nobody reads for 3 s of virtual time.
    let maxHeld = 0;
    let ackedAt2s = -1;
    for (let step = 0; step < 60; step++) {
      net.run(net.now + 50);
      await tick();
      maxHeld = Math.max(maxHeld, socket.readableLength);
      if (step === 40) ackedAt2s = acked();
    }
    t.log(`${kind}: paused socket held at most ${maxHeld} bytes; the server saw ${acked()} of ${file.length} acknowledged`);
    t.true(socket.readingPaused);
    t.true(maxHeld >= hwm && maxHeld <= hwm + 16 * 1024, `the socket held ${maxHeld} bytes`);
    t.is(acked(), ackedAt2s, 'the sender did not stall');
    t.true(acked() <= hwm + 16 * 1024 + window + 4096, `acknowledged ${acked()}: more than the socket and the window hold`);
    t.false(socket.readableEnded);

    // The consumer reads: everything arrives, in order.
    const got: Buffer[] = [];
    let ended = false;
    socket.on('data', (c: Buffer) => {
      got.push(c);
      maxHeld = Math.max(maxHeld, socket.readableLength);
    });
    socket.on('end', () => (ended = true));
    socket.on('error', () => {});
    const resumedAt = net.now;
    const limit = net.now + 120_000;
    while (!ended && net.now < limit) {
      net.run(net.now + 20);
      await tick();
    }
    t.true(ended, 'the stream never ended');
    // 1.4 MB at 40 Mbit/s is ~0.3 s: the window update reopened the flow, not a backed-off probe.
    t.log(`${kind}: the rest took ${Math.round(net.now - resumedAt)} ms after the consumer started reading`);
    t.true(net.now - resumedAt < 1500, `resumed transfer took ${net.now - resumedAt} ms`);
    const whole = Buffer.concat(got);
    t.is(whole.length, file.length);
    t.is(createHash('sha256').update(whole).digest('hex'), createHash('sha256').update(file).digest('hex'));
    t.true(maxHeld <= hwm + 16 * 1024);
    socket.destroy();
  });
}
