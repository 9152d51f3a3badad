// A private etcd (Debian's etcd-server) for tests of `--registry`: a single-member cluster on free
// loopback ports with a temporary data directory, stopped and removed when the test ends, failed
// or not (the process is tied to the test's teardown; the directory too).
import { mkdtempSync, rmSync } from 'node:fs';
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

/** Starts etcd and resolves once it serves clients. */
export async function startEtcd(t: { teardown(fn: () => void | Promise<void>): void }): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-etcd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const client = await freeTcpPort('127.0.0.1');
  const peer = await freeTcpPort('127.0.0.1');
  const p = spawnProcess(
    ETCD,
    [
      '--name', 'baton-test',
      '--data-dir', join(dir, 'data'),
      '--listen-client-urls', `http://127.0.0.1:${client}`,
      '--advertise-client-urls', `http://127.0.0.1:${client}`,
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
    try {
      const res = await fetch(`http://127.0.0.1:${client}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: 'AA==' }), signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`etcd did not start: ${p.stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { process: p, endpoint: `127.0.0.1:${client}` };
}
