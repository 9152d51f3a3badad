// `baton cat` (the CLI, bin/baton.js) against usrsctp's programs, each run inside a network
// namespace of its own that holds only lo (`unshare -n`, root as in CI). There the wildcard-bound
// usrsctp programs can only list and reach 127.0.0.1 and ::1, so nothing leaves loopback however
// either side treats the peer's address list, and fixed ports cannot collide with other tests.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnProcess } from './helpers/process.js';
import { USRSCTP } from './helpers/peers.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
/** Lines usrsctp's client prints about its association among the data it writes to stdout. */
const NOTIFICATION = /(handle_notification : [A-Z_]+\n|Association change [^\n]*\.\n|Peer address [^\n]*\)\.\n|Local addresses: [^\n]*\.\n|Peer addresses: [^\n]*\.\n|Number of packets [^\n]*\.\n)/g;

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'baton-cat-netns-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Shell: wait until UDP port `port` is bound in this namespace (from /proc/net/udp). */
function waitBound(port: number): string {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return `i=0; while ! grep -q ':${hex} ' /proc/net/udp; do sleep 0.02; i=$((i+1)); [ $i -gt 500 ] && { echo "NOT BOUND ${port}"; exit 3; }; done`;
}

function runInNetns(t: ExecutionContext, lines: string[]) {
  return spawnProcess('unshare', ['-n', 'sh', '-c', ['set -u', 'ip link set lo up', ...lines].join('\n')], {
    t,
    name: 'netns',
    timeoutMs: 60_000,
  });
}

test('usrsctp tsctp → baton cat --listen (netns, lo only): 2000 × 1400 bytes on stdout, both exit 0', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'received');
  const p = runInNetns(t, [
    `${process.execPath} ${BATON} cat --listen 127.0.0.1:5001 --udp-encap-port 9899 --rto-min 200 < /dev/null > ${out} 2> ${dir}/baton.err & B=$!`,
    waitBound(9899),
    `${USRSCTP.tsctp} -E 9900 -U 9899 -L 127.0.0.1 -p 5001 -l 1400 -n 2000 127.0.0.1 > /dev/null 2>&1; echo "TSCTP $?"`,
    'wait $B; echo "BATON $?"',
  ]);
  const status = await p.waitForExit(50_000);
  t.is(status.code, 0, p.describe());
  t.true(p.lines.includes('TSCTP 0'), p.describe());
  t.true(p.lines.includes('BATON 0'), `${p.describe()}\nbaton stderr: ${readFileSync(join(dir, 'baton.err'), 'utf8')}`);
  t.is(statSync(out).size, 2000 * 1400);
  t.true(readFileSync(out).every((b) => b === 0x62), "tsctp sends the byte 'b' only");
});

test('usrsctp client downloads a file from baton cat --listen --send-file (netns, lo only)', async (t) => {
  const dir = tempDir(t);
  let text = '';
  for (let i = 0; i < 3000; i++) text += `row ${String(i).padStart(5, '0')}: a text file served by baton cat to usrsctp\n`;
  const file = join(dir, 'file.txt');
  writeFileSync(file, text);
  const out = join(dir, 'client.out');
  const p = runInNetns(t, [
    `${process.execPath} ${BATON} cat --listen 127.0.0.1:7000 --udp-encap-port 9899 --rto-min 200 --send-file ${file} > /dev/null 2> ${dir}/baton.err & B=$!`,
    waitBound(9899),
    // client reads stdin until EOF even after the association ended: feed it from a FIFO we close
    // once baton cat has exited.
    `mkfifo ${dir}/stdin`,
    `stdbuf -oL ${USRSCTP.client} 127.0.0.1 7000 0 9900 9899 < ${dir}/stdin > ${out} 2>&1 & C=$!`,
    `exec 3> ${dir}/stdin`,
    'wait $B; echo "BATON $?"',
    'exec 3>&-',
    'wait $C; echo "CLIENT $?"',
  ]);
  const status = await p.waitForExit(50_000);
  t.is(status.code, 0, p.describe());
  t.true(p.lines.includes('BATON 0'), `${p.describe()}\nbaton stderr: ${readFileSync(join(dir, 'baton.err'), 'utf8')}`);
  t.true(p.lines.includes('CLIENT 0'), p.describe());
  const output = readFileSync(out, 'latin1');
  t.regex(output, /Peer addresses: 127\.0\.0\.1\./, 'baton offered only its loopback address');
  t.is(output.replace(NOTIFICATION, ''), text, 'the client wrote the file, byte-exact');
});

// Issue 4 by hand, with a client nobody here wrote: usrsctp's client downloads a text file from
// `baton cat` A (127.0.0.1), A is SIGKILLed mid-file, `baton cat --take-over` B (127.0.0.2, same
// UDP port) imports A's state file, takes the association over with an authenticated ASCONF and
// sends the rest; the client's output is the file byte-exact, on one association.
test('usrsctp client survives SIGKILL of baton cat A: B takes over from the state file (netns, lo only)', async (t) => {
  const dir = tempDir(t);
  let text = '';
  for (let i = 0; i < 12000; i++) text += `row ${String(i).padStart(6, '0')}: streamed by A, finished by B after A was killed\n`;
  const file = join(dir, 'file.txt');
  writeFileSync(file, text);
  const out = join(dir, 'client.out');
  const state = join(dir, 'a.state');
  const common = `--udp-encap-port 9899 --rto-min 200 --send-file ${file}`;
  const p = runInNetns(t, [
    `${process.execPath} ${BATON} cat --listen 127.0.0.1:7000 ${common} --state-out ${state} --rate 400000 > /dev/null 2> ${dir}/a.err & A=$!`,
    waitBound(9899),
    `mkfifo ${dir}/stdin`,
    `stdbuf -oL ${USRSCTP.client} 127.0.0.1 7000 0 9900 9899 < ${dir}/stdin > ${out} 2>&1 & C=$!`,
    `exec 3> ${dir}/stdin`,
    // let a good part of the file (about 900 kB) arrive, then kill A without a word
    `i=0; while [ "$(stat -c %s ${out} 2>/dev/null || echo 0)" -lt 250000 ]; do sleep 0.02; i=$((i+1)); [ $i -gt 1000 ] && { echo "NO PROGRESS"; exit 4; }; done`,
    'kill -9 $A; wait $A 2>/dev/null',
    `echo "KILLED_AT $(stat -c %s ${out})"`,
    `${process.execPath} ${BATON} cat --take-over ${state} --listen 127.0.0.2 ${common} -v > /dev/null 2> ${dir}/b.err 3>&-; echo "B $?"`,
    'exec 3>&-',
    'wait $C; echo "CLIENT $?"',
  ]);
  const status = await p.waitForExit(55_000);
  const bErr = (): string => {
    try {
      return readFileSync(join(dir, 'b.err'), 'utf8');
    } catch {
      return '(no b.err)';
    }
  };
  t.is(status.code, 0, p.describe());
  t.true(p.lines.includes('B 0'), `${p.describe()}\nB stderr: ${bErr()}`);
  t.true(p.lines.includes('CLIENT 0'), p.describe());
  const killedAt = Number(p.lines.find((l) => l.startsWith('KILLED_AT '))?.split(' ')[1]);
  t.true(killedAt < text.length, 'A was killed before it finished: the test proves something');
  const output = readFileSync(out, 'latin1');
  t.is(output.match(/SCTP_COMM_UP/g)?.length, 1, 'one association, no restart');
  t.regex(output, /Peer address 127\.0\.0\.2 is now /, 'usrsctp saw the new server address');
  t.is(output.replace(NOTIFICATION, ''), text, 'the client wrote the file, byte-exact');
});

// usrsctp's http_client (HTTP/1.0 over SCTP, PPID 63) against `baton cat` playing a web server by
// hand: the request arrives at baton byte-exact; the response baton sends (one DATA chunk, so one
// write() in the client's debug-flooded stdout) comes out whole; both ends finish cleanly.
test('usrsctp http_client ↔ baton cat --listen: request and response intact (netns, lo only)', async (t) => {
  const dir = tempDir(t);
  const body = 'hello from baton over SCTP over UDP\n'.repeat(10);
  const response = `HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  writeFileSync(join(dir, 'response'), response);
  const p = runInNetns(t, [
    `mkfifo ${dir}/stdin`,
    `${process.execPath} ${BATON} cat --listen 127.0.0.1:8080 --udp-encap-port 9899 --rto-min 200 -N < ${dir}/stdin > ${dir}/request 2> ${dir}/baton.err & B=$!`,
    `exec 3> ${dir}/stdin`,
    waitBound(9899),
    // 3>&-: the client must not inherit the FIFO's write end, or baton's stdin never ends
    `${USRSCTP.httpClient} 127.0.0.1 8080 0 9900 9899 /index.html > ${dir}/http.out 2>&1 3>&- & H=$!`,
    `i=0; while ! grep -q 'Connection: close' ${dir}/request 2>/dev/null; do sleep 0.02; i=$((i+1)); [ $i -gt 500 ] && { echo "NO REQUEST"; exit 4; }; done`,
    `cat ${dir}/response >&3`,
    'exec 3>&-',
    'wait $B; echo "BATON $?"',
    'wait $H; echo "HTTP $?"',
  ]);
  const status = await p.waitForExit(50_000);
  t.is(status.code, 0, p.describe());
  t.true(p.lines.includes('BATON 0'), `${p.describe()}\nbaton stderr: ${readFileSync(join(dir, 'baton.err'), 'utf8')}`);
  t.true(p.lines.includes('HTTP 0'), p.describe());
  t.is(readFileSync(join(dir, 'request'), 'latin1'), 'GET /index.html HTTP/1.0\r\nUser-agent: libusrsctp\r\nConnection: close\r\n\r\n');
  const out = readFileSync(join(dir, 'http.out'), 'latin1');
  t.true(out.includes(response), 'the response is in http_client output, whole');
  t.regex(out, /Finished, returning with 0/);
});
