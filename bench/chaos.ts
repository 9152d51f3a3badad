// The real-process chaos run (not in the timed suite): 5 wedges (`baton serve`) on 127.0.0.2-6
// behind one nginx, `baton connect` as the clients' shim, 50 concurrent curl downloads (100 kB/s
// each, so that each spans several kills), and one
// wedge SIGKILLed every few seconds for a minute and restarted. Every file's SHA-256 must match.
//
//   npx tsx bench/chaos.ts [--transport sctp|tcp] [--seconds 60] [--clients 50] [--every 5]
//
// Prints one line per kill and per download, then `files N, intact K, wrong W, failed F` and exits
// 1 unless every download is intact.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startNginx } from './nginx.js';
import { freeUdpPort, usableLoopbackAddresses } from './ports.js';
import { spawnProcess, type ManagedProcess } from './process.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const { values } = parseArgs({ options: { transport: { type: 'string', default: 'sctp' }, seconds: { type: 'string', default: '60' }, clients: { type: 'string', default: '50' }, every: { type: 'string', default: '5' } } });
const kind = values.transport === 'tcp' ? 'tcp' : 'sctp';
const seconds = Number(values.seconds);
const clients = Number(values.clients);
const everyMs = Number(values.every) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const cleanups: Array<() => void | Promise<void>> = [];
const teardown = { teardown: (fn: () => void | Promise<void>) => void cleanups.push(fn) };
const home = mkdtempSync(join(tmpdir(), 'baton-chaos-'));
cleanups.push(() => rmSync(home, { recursive: true, force: true }));

async function main(): Promise<number> {
  const addresses = (await usableLoopbackAddresses(2, 9)).slice(0, 6);
  if (addresses.length < 6) throw new Error(`need 6 usable loopback addresses, found ${addresses.join(', ')}`);
  const [nginxAddress, ...wedgeAddresses] = addresses as [string, ...string[]];
  // Objects big enough that each download spans several kills: 2-20 MB.
  const objects = new Map<string, Uint8Array>();
  for (let i = 0; i < 10; i++) objects.set(`/o${i}.bin`, randomBytes(2_000_000 + i * 2_000_000));
  const nginx = await startNginx(teardown, { address: nginxAddress, files: Object.fromEntries([...objects].map(([p, b]) => [p.slice(1), b])) });
  const keyFile = join(home, 'group.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const peersFile = join(home, 'peers');
  writeFileSync(peersFile, wedgeAddresses.map((a, i) => `w${i + 1}@${a}\n`).join(''));
  const udpPort = await freeUdpPort(wedgeAddresses[0]);
  const softStatePort = await freeUdpPort(wedgeAddresses[0]);
  const wedges = new Map<string, ManagedProcess>();
  const start = async (i: number): Promise<void> => {
    const id = `w${i + 1}`;
    const p = spawnProcess(process.execPath, [BATON, 'serve', '--transport', kind, '--listen', `${wedgeAddresses[i]}:${udpPort}`, '--backend', nginx.url, '--id', id, '--peers', peersFile, '--soft-state-port', String(softStatePort), '--group-key', keyFile, '--rto-min', '100', '--update-sec', '1', '--dead-after', '3', '--cache-timeout', '6'], { timeoutMs: (seconds + 600) * 1000, stderr: 'pipe', name: `serve ${id}` });
    cleanups.push(() => p.killNow('SIGKILL'));
    wedges.set(id, p);
    await p.waitForLine(/"event":\s*"listening"/, 30_000, 'stderr');
  };
  for (let i = 0; i < wedgeAddresses.length; i++) await start(i);
  const shim = spawnProcess(process.execPath, [BATON, 'connect', '-t', kind, '--listen', '127.0.0.1:0', '--rto-min', '100', '--servers', wedgeAddresses.map((a) => `${a}:${udpPort}`).join(',')], { timeoutMs: (seconds + 600) * 1000, stderr: 'pipe', name: 'connect' });
  cleanups.push(() => shim.killNow('SIGKILL'));
  const [, port] = await shim.waitForLine(/listening on 127\.0\.0\.1:(\d+)/, 30_000, 'stderr');
  process.stderr.write(`chaos: ${kind}, 5 wedges, nginx on ${nginx.url}, shim on 127.0.0.1:${port}, ${clients} downloads, a kill every ${everyMs / 1000} s for ${seconds} s\n`);

  const paths = [...objects.keys()];
  const downloads = Array.from({ length: clients }, async (_, n) => {
    const path = paths[n % paths.length]!;
    const out = join(home, `d${n}`);
    const curl = spawnProcess('curl', ['-sS', '--fail', '--limit-rate', '100k', '--max-time', String(seconds + 300), '-o', out, `http://127.0.0.1:${port}${path}`], { timeoutMs: (seconds + 320) * 1000, stderr: 'pipe', name: `curl ${n}` });
    cleanups.push(() => curl.killNow('SIGKILL'));
    const status = await curl.waitForExit((seconds + 320) * 1000);
    if (status.code !== 0) return { n, path, outcome: 'failed' as const, detail: `curl exit ${status.code}: ${curl.stderr.trim()}` };
    const ok = sha(readFileSync(out)) === sha(objects.get(path)!);
    rmSync(out, { force: true });
    return { n, path, outcome: ok ? ('intact' as const) : ('wrong' as const), detail: ok ? '' : 'sha256 differs' };
  });

  const started = Date.now();
  let kills = 0;
  while (Date.now() - started < seconds * 1000) {
    await sleep(everyMs);
    const i = kills++ % wedgeAddresses.length;
    const id = `w${i + 1}`;
    wedges.get(id)!.killNow('SIGKILL');
    await wedges.get(id)!.waitForExit(10_000);
    process.stderr.write(`chaos: t=${((Date.now() - started) / 1000).toFixed(1)} s SIGKILL ${id}\n`);
    await sleep(Math.min(2000, everyMs / 2));
    await start(i);
  }
  const results = await Promise.all(downloads);
  for (const r of results) if (r.outcome !== 'intact') process.stdout.write(`download ${r.n} ${r.path}: ${r.outcome}: ${r.detail}\n`);
  const count = (o: string) => results.filter((r) => r.outcome === o).length;
  process.stdout.write(`${kills} kills in ${((Date.now() - started) / 1000).toFixed(0)} s\nfiles ${results.length}, intact ${count('intact')}, wrong ${count('wrong')}, failed ${count('failed')}\n`);
  return count('intact') === results.length ? 0 : 1;
}

let status = 1;
try {
  status = await main();
} catch (error) {
  process.stderr.write(`chaos: ${error instanceof Error ? error.message : String(error)}\n`);
} finally {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch {
      // already gone
    }
  }
}
process.exit(status);
