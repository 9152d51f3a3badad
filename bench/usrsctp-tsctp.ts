// usrsctp's own goodput here: Debian's `tsctp` server and client over UDP encapsulation on
// 127.0.0.1, fixed-size messages for a fixed time. The figure is the receiver's (bytes it got /
// seconds from its first to its last read), which tsctp's server prints when the client shuts down.
//
// Debian builds usrsctp with SCTP_DEBUG and tsctp switches it all on: both processes would write
// about 2 million debug lines in 5 s, and formatting them halves usrsctp's goodput even when they
// go to /dev/null. usrsctp gets its best case: both processes run with the LD_PRELOAD shim of
// bench/usrsctp-quiet.c, which makes tsctp's usrsctp_sysctl_set_sctp_debug_on() call a no-op, so
// nothing is formatted (`quiet: false` measures Debian's build as it comes, for comparison). The
// server's stdout still goes to a file in /dev/shm (or the temp dir), read after the run.
//
// CPU: the server's from /proc/PID/stat once it has printed its summary (it is idle then), the
// client's from bash's `times` after it exits.
//
//   node --import=tsx bench/usrsctp-tsctp.ts [--seconds 5] [--message-size 1400] [--debug-on] [--json]
import { existsSync, mkdtempSync, rmSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMain, mbps, parseFlags } from './child.js';
import { spawnProcess } from './process.js';
import { freeWildcardUdpPorts, waitForUdpPortBound } from './ports.js';
import { USRSCTP, TSCTP_SERVER_SUMMARY, parseTsctpServer, quietLibrary } from './usrsctp.js';
import { parseBashTimes, processCpuSeconds } from './cpu.js';

export interface TsctpOptions {
  readonly seconds?: number;
  readonly messageSize?: number;
  /** Debug tracing off through the LD_PRELOAD shim (default true: usrsctp's best case). */
  readonly quiet?: boolean;
}

export interface TsctpResult {
  readonly mbps: number;
  readonly bytes: number;
  readonly messages: number;
  readonly seconds: number;
  /** User + system CPU seconds of the server and the client processes together. */
  readonly cpuSeconds: number;
  readonly quiet: boolean;
}

/** Tail of a (possibly huge) file. */
function tail(file: string, bytes: number): string {
  const size = statSync(file).size;
  const start = Math.max(0, size - bytes);
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString('latin1');
  } finally {
    closeSync(fd);
  }
}

export async function runUsrsctpTsctp(options: TsctpOptions = {}): Promise<TsctpResult> {
  const seconds = options.seconds ?? 5;
  const size = options.messageSize ?? 1400;
  if (!existsSync(USRSCTP.tsctp)) throw new Error(`${USRSCTP.tsctp} is missing: run .ci/install-deps (libusrsctp-examples)`);
  const quiet = options.quiet ?? true;
  const env: Record<string, string> = quiet ? { LD_PRELOAD: quietLibrary() } : {};
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'baton-tsctp-'));
  const serverOut = join(dir, 'server.out');
  const [serverEncap, clientEncap] = await freeWildcardUdpPorts(2);
  const sctpPort = 20000 + Math.floor(Math.random() * 20000);
  const server = spawnProcess(USRSCTP.tsctp, ['-E', String(serverEncap), '-L', '127.0.0.1', '-p', String(sctpPort)], {
    stdout: { file: serverOut },
    stderr: 'pipe',
    env,
    timeoutMs: (seconds + 60) * 1000,
    name: 'tsctp server',
  });
  try {
    await waitForUdpPortBound(serverEncap!);
    // A server that has bound its UDP port may not listen yet: a refused client exits 1, so retry.
    let clientCpu: number | undefined;
    for (let attempt = 0; ; attempt++) {
      // Under bash, whose `times` prints the client's CPU time once it has exited.
      const client = spawnProcess(
        'bash',
        ['-c', '"$@"; rc=$?; times >&2; exit $rc', 'tsctp-client', USRSCTP.tsctp, '-E', String(clientEncap), '-U', String(serverEncap), '-L', '127.0.0.1', '-p', String(sctpPort), '-l', String(size), '-T', String(seconds), '127.0.0.1'],
        { stdout: 'ignore', stderr: 'pipe', env, timeoutMs: (seconds + 60) * 1000, name: 'tsctp client' },
      );
      const status = await client.waitForExit((seconds + 50) * 1000);
      clientCpu = parseBashTimes(client.stderr);
      if (status.code === 0) break;
      if (attempt >= 2 || !/Connection refused/.test(client.stderr)) throw new Error(`tsctp client failed: ${client.describe()}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    // The server prints its summary once the association is shut down.
    const deadline = Date.now() + 20_000;
    let summary = parseTsctpServer(tail(serverOut, 64 << 10).replace(/\[S\]\[[\d.]+\] /g, '\n'));
    while (summary === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      summary = parseTsctpServer(tail(serverOut, 64 << 10).replace(/\[S\]\[[\d.]+\] /g, '\n'));
    }
    if (summary === undefined) throw new Error(`tsctp server printed no summary (${TSCTP_SERVER_SUMMARY})\n${tail(serverOut, 2000)}`);
    if (clientCpu === undefined) throw new Error('tsctp client: bash printed no `times` line');
    const serverCpu = processCpuSeconds(server.pid!);
    return {
      cpuSeconds: serverCpu + clientCpu,
      quiet,
      mbps: mbps(summary.bytes, summary.seconds),
      bytes: summary.bytes,
      messages: summary.messages,
      seconds: summary.seconds,
    };
  } finally {
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const flags = parseFlags(process.argv.slice(2));
  const r = await runUsrsctpTsctp({ seconds: Number(flags.get('seconds') ?? 5), messageSize: Number(flags.get('message-size') ?? 1400), quiet: !flags.has('debug-on') });
  if (flags.has('json')) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(`usrsctp tsctp: ${r.mbps.toFixed(1)} MB/s (${r.messages} messages, ${r.bytes} bytes in ${r.seconds.toFixed(2)} s, ${r.cpuSeconds.toFixed(2)} CPU s, debug ${r.quiet ? 'off' : 'on'})\n`);
}
