// A private etcd (Debian's etcd-server) for tests of `--registry`: a single-member cluster on free
// loopback ports with a temporary data directory, stopped and removed when the test ends, failed
// or not (the process is tied to the test's teardown; the directory too).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProcess, type ManagedProcess } from './process.js';

export const ETCD = '/usr/bin/etcd';

async function freeTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestEtcd {
  readonly process: ManagedProcess;
  /** host:port of its client URL. */
  readonly endpoint: string;
}

/** TLS for etcd's client port (PEM file names): its certificate and key, and the CA its clients' certificates must chain to. */
export interface EtcdTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  /** A client certificate and key the readiness check presents. */
  readonly clientCert: string;
  readonly clientKey: string;
}

async function plainReady(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: 'AA==' }), signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false; // not yet
  }
}

/** Readiness probe over TLS with a client certificate: resolves true when etcd answers a range request. */
async function tlsReady(port: number, tls: EtcdTls): Promise<boolean> {
  const https = await import('node:https');
  return new Promise((resolve) => {
    const req = https.request(
      { host: '127.0.0.1', servername: '', port, path: '/v3/kv/range', method: 'POST', ca: readFileSync(tls.ca), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey), timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode !== undefined);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end(JSON.stringify({ key: 'AA==' }));
  });
}

/** Starts etcd and resolves once it serves clients (with `tls`: on https, client certificates required). */
export async function startEtcd(t: { teardown(fn: () => void | Promise<void>): void }, tls?: EtcdTls): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-etcd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const client = await freeTcpPort('127.0.0.1');
  const peer = await freeTcpPort('127.0.0.1');
  const p = spawnProcess(
    ETCD,
    [
      '--name', 'baton-test',
      '--data-dir', join(dir, 'data'),
      '--listen-client-urls', `${tls ? 'https' : 'http'}://127.0.0.1:${client}`,
      '--advertise-client-urls', `${tls ? 'https' : 'http'}://127.0.0.1:${client}`,
      ...(tls ? ['--cert-file', tls.cert, '--key-file', tls.key, '--trusted-ca-file', tls.ca, '--client-cert-auth'] : []),
      '--listen-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `baton-test=http://127.0.0.1:${peer}`,
      '--log-level', 'warn',
    ],
    { t, timeoutMs: 240_000, stderr: 'pipe', stdout: 'pipe', name: 'etcd' },
  );
  // Ready when a TCP connection to the client port succeeds and a range request answers.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await (tls ? tlsReady(client, tls) : plainReady(client))) break;
    if (Date.now() > deadline) throw new Error(`etcd did not start: ${p.stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { process: p, endpoint: `127.0.0.1:${client}` };
}
