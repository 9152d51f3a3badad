// batonFetch (src/client/fetch.ts) on the simulated network, in virtual time: a complete download,
// a failover it reports (server, takeover number, stall), the server list's refusals, and every
// coded failure (refused, aborted, non-2xx, truncated, malformed, cancelled), on both transports.
import test from 'ava';
import { createHash } from 'node:crypto';
import { listen } from '../src/api.js';
import { batonFetch, FetchError, type Failover, type FetchProgress } from '../src/client/fetch.js';
import { generatedBytes } from '../src/node/content-server.js';
import type { TransportSocket } from '../src/node/socket.js';
import { SimNetwork } from '../src/sim/network.js';
import { SimRuntime } from '../src/sim/runtime.js';
import { memorySource } from '../src/stream/index.js';
import type { TransportState } from '../src/transport-abstraction/state-types.js';
import { TRANSPORT_KINDS } from '../src/transports.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function world(seed: number): { net: SimNetwork; sim: SimRuntime } {
  const net = new SimNetwork({ seed });
  net.addHost('client', ['10.0.0.1']);
  for (const [name, ip] of [['a', '10.0.0.2'], ['b', '10.0.0.3'], ['c', '10.0.0.4']] as const) {
    net.addHost(name, [ip]);
    net.link('client', name, { delayMs: 10, rateBps: 8_000_000, queueBytes: 200_000 });
  }
  return { net, sim: new SimRuntime(net) };
}

const response = (body: Uint8Array, status = '200 OK') => Buffer.concat([Buffer.from(`HTTP/1.1 ${status}\r\nContent-Length: ${body.length}\r\n\r\n`), body]);

/** A server that answers the first complete request head with `answer(socket)`. */
function onRequest(socket: TransportSocket, answer: (socket: TransportSocket, request: string) => void): void {
  let input = '';
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    if (input.includes('\r\n\r\n')) return;
    input += chunk.toString('latin1');
    if (input.includes('\r\n\r\n')) answer(socket, input);
  });
}

async function collect(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

for (const kind of TRANSPORT_KINDS) {
  test(`${kind}: a complete download, the request as sent, progress up to Content-Length`, async (t) => {
    const { sim } = world(1);
    const body = generatedBytes(0, 300_000, 1);
    const out = await sim.run(
      (async () => {
        let request = '';
        const a = await listen({ runtime: sim, transport: kind, address: '10.0.0.2', rtoMin: 200 }, (s) =>
          onRequest(s, (socket, r) => {
            request = r;
            socket.sendFrom(memorySource(response(body)));
          }),
        );
        const progress: FetchProgress[] = [];
        const res = await batonFetch('http://example.test:8080/video.bin?x=1', { runtime: sim, localAddress: '10.0.0.1', transport: kind, servers: '10.0.0.2', rtoMin: 200, onProgress: (p) => progress.push(p) });
        const got = await collect(res.body);
        const summary = await res.finished;
        await a.close();
        return { request, progress, got, summary, status: res.status, total: res.total, timing: res.timing };
      })(),
      120_000,
    );
    t.regex(out.request, /^GET \/video\.bin\?x=1 HTTP\/1\.1\r\nHost: example\.test:8080\r\n/);
    t.is(out.status, 200);
    t.is(out.total, body.length);
    t.is(sha(out.got), sha(body));
    t.is(out.summary.received, body.length);
    t.deepEqual(out.summary.failovers, []);
    t.true(out.progress.length > 2);
    t.is(out.progress.at(-1)!.received, body.length);
    t.true(out.progress.every((p, i) => p.total === body.length && (i === 0 || p.received > out.progress[i - 1]!.received)));
    // Virtual time, 10 ms each way: the socket at once, the handshake in 2 round trips (SCTP) or 1
    // (TCP-Migrate), the head one round trip after it (the request left with the handshake's end).
    t.is(out.timing.socketMs, 0);
    t.true(Math.abs(out.timing.handshakeMs - (kind === 'sctp' ? 40 : 20)) < 2, `handshake ${out.timing.handshakeMs} ms`);
    t.true(out.timing.headMs >= 20 && out.timing.headMs < 25, `head ${out.timing.headMs} ms`);
  });

  test(`${kind}: the server dies mid-body, another takes over 700 ms later; the failover is reported with its stall`, async (t) => {
    const { net, sim } = world(2);
    const body = generatedBytes(0, 600_000, 2);
    const bytes = response(body);
    const out = await sim.run(
      (async () => {
        let state: TransportState | undefined;
        let killedAt = 0;
        const a = await listen({ runtime: sim, transport: kind, address: '10.0.0.2', rtoMin: 200 }, (s) => {
          s.on('state-changed', () => (state = s.transport.exportState(sim.now())));
          onRequest(s, (socket) => socket.sendFrom(memorySource(bytes)));
        });
        const b = await listen({ runtime: sim, transport: kind, address: '10.0.0.3', accept: false, rtoMin: 200 });
        const failovers: Failover[] = [];
        const res = await batonFetch('http://pool/object.bin', {
          runtime: sim,
          localAddress: '10.0.0.1',
          transport: kind,
          servers: '10.0.0.2',
          rtoMin: 200,
          onFailover: (f) => failovers.push(f),
          onProgress: (p) => {
            if (p.received < 200_000 || !net.isAlive('a')) return;
            net.kill('a');
            killedAt = sim.now();
            const taken = state!;
            sim.setTimer(sim.now() + 700, () => {
              const taker = b.takeOver(taken);
              taker.on('error', (e) => t.fail(`taker: ${e.message}`));
              taker.sendFrom(memorySource(bytes), { resume: true });
            });
          },
        });
        const got = await collect(res.body);
        const summary = await res.finished;
        await b.close();
        await a.close().catch(() => {});
        return { got, summary, failovers, killedAt };
      })(),
      300_000,
    );
    t.is(sha(out.got), sha(body), 'every byte, in order, across the takeover');
    t.is(out.failovers.length, 1);
    const f = out.failovers[0]!;
    t.deepEqual(f.server, { address: '10.0.0.3', port: f.server.port });
    t.is(f.takeover, 1);
    t.true(f.atByte >= 200_000 && f.atByte < body.length, `taken over at byte ${f.atByte}`);
    // 700 ms from the kill to the takeover, plus its handshake and the first resent data (a few 20
    // ms RTTs), less the bytes still on the link when A died: they arrive up to one queue later,
    // and with a window larger than the queue (TCP-Migrate's 16 MiB default) the queue is full:
    // 200 kB at 1 MB/s, 200 ms.
    t.true(f.stallMs !== undefined && f.stallMs >= 500 && f.stallMs < 1500, `stalled ${f.stallMs} ms`);
    t.log(`${kind}: taken over at byte ${f.atByte}, stalled ${f.stallMs!.toFixed(0)} ms (virtual)`);
    t.deepEqual(out.summary.failovers, out.failovers);
  });

  test(`${kind}: a refusing and a silent server are skipped; when all fail, BATON_ERR_FETCH_REFUSED`, async (t) => {
    const { sim } = world(3);
    const out = await sim.run(
      (async () => {
        const refuser = await listen({ runtime: sim, transport: kind, address: '10.0.0.3', accept: false });
        const a = await listen({ runtime: sim, transport: kind, address: '10.0.0.2', rtoMin: 200 }, (s) => onRequest(s, (socket) => socket.sendFrom(memorySource(response(Buffer.from('hello'))))));
        const failed: string[] = [];
        const res = await batonFetch('http://pool/x', { runtime: sim, localAddress: '10.0.0.1', transport: kind, servers: ['10.0.0.4', '10.0.0.3', '10.0.0.2'], connectTimeoutMs: 1000, onServerFailed: (s, e) => failed.push(`${s.address} ${(e as FetchError).code}`) });
        const got = String(await collect(res.body));
        const refused = await batonFetch('http://pool/x', { runtime: sim, localAddress: '10.0.0.1', transport: kind, servers: '10.0.0.3', connectTimeoutMs: 1000 }).then(
          () => undefined,
          (e: FetchError) => e,
        );
        await a.close();
        await refuser.close();
        return { got, failed, refused, server: res.server.address };
      })(),
      120_000,
    );
    t.is(out.got, 'hello');
    t.is(out.server, '10.0.0.2');
    t.deepEqual(out.failed, ['10.0.0.4 BATON_ERR_TIMEOUT', '10.0.0.3 BATON_ERR_REFUSED']);
    t.true(out.refused instanceof FetchError);
    t.is(out.refused?.code, 'BATON_ERR_FETCH_REFUSED');
    t.regex(out.refused!.message, /10\.0\.0\.3:\d+: .*BATON_ERR_REFUSED/);
  });

  test(`${kind}: aborted, non-2xx, truncated, malformed and cancelled downloads fail with their codes`, async (t) => {
    const { sim } = world(4);
    const outcome = await sim.run(
      (async () => {
        const body = generatedBytes(0, 100_000, 4);
        const a = await listen({ runtime: sim, transport: kind, address: '10.0.0.2', rtoMin: 200 }, (s) =>
          onRequest(s, (socket, request) => {
            const path = /^GET (\S+)/.exec(request)![1];
            if (path === '/abort') socket.write(response(body).subarray(0, 60_000), () => sim.setTimer(sim.now() + 100, () => socket.destroy()));
            else if (path === '/missing') socket.end(response(Buffer.from('no such object\n'), '404 Not Found'));
            else if (path === '/short') socket.end(response(body).subarray(0, 50_000));
            else if (path === '/garbage') socket.end('HTTP/1.1 200 OK\r\nContent-Length: 12, 13\r\n\r\nhello');
            else if (path === '/slow') socket.write(response(body).subarray(0, 20_000));
          }),
        );
        const codes: Record<string, [string, number, number | undefined]> = {};
        for (const path of ['/abort', '/missing', '/short', '/garbage', '/slow']) {
          const controller = new AbortController();
          try {
            const res = await batonFetch(`http://pool${path}`, {
              runtime: sim,
              localAddress: '10.0.0.1',
              transport: kind,
              servers: '10.0.0.2',
              rtoMin: 200,
              signal: controller.signal,
              onProgress: (p) => {
                if (path === '/slow' && p.received >= 10_000) sim.setTimer(sim.now() + 500, () => controller.abort());
              },
            });
            await collect(res.body);
            codes[path] = ['complete', 0, res.status];
          } catch (error) {
            const e = error as FetchError;
            codes[path] = [e.code, e.received, e.status];
          }
        }
        await a.close();
        return codes;
      })(),
      120_000,
    );
    const received = (path: string) => outcome[path]![1];
    t.is(outcome['/abort']![0], 'BATON_ERR_FETCH_ABORTED');
    t.true(received('/abort') > 0 && received('/abort') < 100_000);
    t.deepEqual(outcome['/missing'], ['BATON_ERR_FETCH_STATUS', 0, 404]);
    t.is(outcome['/short']![0], 'BATON_ERR_FETCH_TRUNCATED');
    t.true(received('/short') < 100_000);
    t.is(outcome['/garbage']![0], 'BATON_ERR_FETCH_PROTOCOL');
    t.is(outcome['/slow']![0], 'BATON_ERR_FETCH_CANCELLED');
  });
}

test('a URL that is not http: and an empty server list are local misuse', async (t) => {
  await t.throwsAsync(batonFetch('ftp://x/y', { transport: 'sctp', servers: '127.0.0.2' }), { code: 'BATON_ERR_USAGE' });
  await t.throwsAsync(batonFetch('not a url', { transport: 'sctp', servers: '127.0.0.2' }), { code: 'BATON_ERR_USAGE' });
  await t.throwsAsync(batonFetch('http://x/y', { transport: 'tcp', servers: [] }), { code: 'BATON_ERR_USAGE' });
  await t.throwsAsync(batonFetch('http://x/y', { transport: 'tcp', servers: '127.0.0.2,,127.0.0.3' }), { code: 'BATON_ERR_USAGE' });
});


