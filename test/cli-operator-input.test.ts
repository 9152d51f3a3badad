// Bad operator input for every `baton` command (issue 15): missing or malformed arguments, missing,
// empty or malformed files, an address not on this host, a port in use. Each case is a real
// process that must end within seconds with exactly one line on stderr, no stack trace, and the
// documented exit status (main.ts EXIT_STATUSES: 2 usage, 1 at run time). A process that binds and
// waits fails its case by timing out. State files (empty, truncated, foreign, stale, used) are in
// test/cli-hardening-state.test.ts.
import test from 'ava';
import { InvalidArgumentError } from 'commander';
import dgram from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_INTERNAL, EXIT_STATUSES, main } from '../src/cli/main.js';
import { runToExit } from './helpers/process.js';
import { BATON, oneLine } from './helpers/cli.js';
import { freeUdpPort } from './helpers/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-operator-'));
const at = (name: string, content: string | Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
};
const key = at('group.key', `${'ab'.repeat(32)}\n`);
const emptyFile = at('empty', '');
const badKey = at('bad.key', 'not hex at all\n');
const peers = at('peers', 'w1@127.0.0.2\n');
const small = at('small.bin', Buffer.alloc(1000, 7));
const missing = join(dir, 'no-such-file');
/** TEST-NET-1 (RFC 5737): on no host. */
const NOT_HERE = '192.0.2.1';

interface Case {
  readonly title: string;
  readonly args: () => Promise<string[]> | string[];
  readonly status: 1 | 2;
  readonly message: RegExp;
  /** Something held for the case (a socket on the port it names), released afterwards. */
  readonly hold?: () => Promise<{ args: string[]; release: () => void }>;
}

const serve = (...more: string[]) => ['serve', '--listen', '127.0.0.2', '--id', 'w1', '--backend', 'http://127.0.0.1:1', '--peers', peers, '--group-key', key, ...more];

/** A UDP port held on 127.0.0.2 for the case. */
async function udpInUse(): Promise<{ port: number; release: () => void }> {
  const port = await freeUdpPort('127.0.0.2');
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: '127.0.0.2', port, exclusive: true }, () => resolve());
  });
  return { port, release: () => socket.close() };
}

/** A TCP port held on 127.0.0.1 for the case. */
async function tcpInUse(): Promise<{ port: number; release: () => void }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, release: () => server.close() };
}

const cases: Case[] = [
  // baton itself
  { title: 'baton with no command', args: () => [], status: 2, message: /baton needs a command: demo, cat, .*`baton --help`/ },
  { title: 'baton with an unknown command', args: () => ['serv'], status: 2, message: /unknown command 'serv' for baton; its commands: .*serve/ },
  // serve
  { title: 'serve without --listen', args: () => ['serve', '--backend', 'http://127.0.0.1:1'], status: 2, message: /required option '-l, --listen/ },
  { title: 'serve with a --group-key file that does not exist', args: () => ['serve', '--listen', '127.0.0.2', '--backend', 'http://127.0.0.1:1', '--peers', peers, '--group-key', missing], status: 2, message: /--group-key: cannot read .*no-such-file: ENOENT/ },
  { title: 'serve with an empty --group-key file', args: () => ['serve', '--listen', '127.0.0.2', '--backend', 'http://127.0.0.1:1', '--peers', peers, '--group-key', emptyFile], status: 2, message: /--group-key: .*empty must hold 64 hex characters/ },
  { title: 'serve with a malformed --group-key file', args: () => ['serve', '--listen', '127.0.0.2', '--backend', 'http://127.0.0.1:1', '--peers', peers, '--group-key', badKey], status: 2, message: /--group-key: .*bad\.key must hold 64 hex characters/ },
  { title: 'serve with a malformed --peers list', args: () => serve('--peers', 'w1@nowhere'), status: 2, message: /--peers: .*not ID@ADDR/ },
  { title: 'serve with a malformed --backend', args: () => serve('--backend', 'ftp://x'), status: 2, message: /the backend must be plain http:\/\/, not ftp:\/\/ \(in "ftp:\/\/x"\)/ },
  { title: 'serve with a malformed --update-sec', args: () => serve('--update-sec', 'x'), status: 2, message: /--update-sec must be a number/ },
  { title: 'serve with a malformed --admin', args: () => serve('--admin', 'nonsense'), status: 2, message: /--admin needs ADDR:PORT/ },
  { title: 'serve with an unknown --log format', args: () => serve('--log', 'xml'), status: 2, message: /--log must be json or text/ },
  { title: 'serve on an address not on this host', args: () => ['serve', '--listen', NOT_HERE, '--id', 'w1', '--backend', 'http://127.0.0.1:1', '--peers', `w1@${NOT_HERE}`, '--group-key', key], status: 1, message: /cannot bind 192\.0\.2\.1:\d+: .*EADDRNOTAVAIL/ },
  {
    title: 'serve on a UDP port in use',
    args: () => [],
    status: 1,
    message: /cannot bind 127\.0\.0\.2:\d+: .*EADDRINUSE/,
    hold: async () => {
      const { port, release } = await udpInUse();
      return { args: serve('--soft-state-port', String(await freeUdpPort('127.0.0.2'))).map((a) => (a === '127.0.0.2' ? `127.0.0.2:${port}` : a)), release };
    },
  },
  // connect
  { title: 'connect with --servers that are no IP addresses', args: () => ['connect', '--listen', '127.0.0.1:0', '--servers', '127.0.0.2,nowhere'], status: 2, message: /not an IP address: "nowhere"/ },
  { title: 'connect with a malformed --listen', args: () => ['connect', '--listen', 'nonsense', '--servers', '127.0.0.2'], status: 2, message: /--listen needs ADDR:PORT/ },
  { title: 'connect on an address not on this host', args: () => ['connect', '--listen', `${NOT_HERE}:0`, '--servers', '127.0.0.2'], status: 1, message: /cannot listen on 192\.0\.2\.1:0: .*EADDRNOTAVAIL/ },
  {
    title: 'connect on a TCP port in use',
    args: () => [],
    status: 1,
    message: /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    hold: async () => {
      const { port, release } = await tcpInUse();
      return { args: ['connect', '--listen', `127.0.0.1:${port}`, '--servers', '127.0.0.2'], release };
    },
  },
  // fetch
  { title: 'fetch without --servers', args: () => ['fetch', 'http://x/a'], status: 2, message: /required option '-s, --servers/ },
  { title: 'fetch without a URL', args: () => ['fetch', '--servers', '127.0.0.2'], status: 2, message: /missing required argument 'URL'/ },
  { title: 'fetch with something that is no URL', args: () => ['fetch', '--servers', '127.0.0.2', '/a'], status: 2, message: /not a URL: "\/a"/ },
  { title: 'fetch -o into a directory that does not exist: refused before connecting', args: async () => ['fetch', '--servers', `127.0.0.2:${await freeUdpPort('127.0.0.2')}`, '--connect-timeout', '60000', '-o', join(missing, 'out.bin'), 'http://x/a'], status: 1, message: /failed: cannot write .*no-such-file\/out\.bin: ENOENT/ },
  { title: 'fetch from a pool where nobody answers', args: async () => ['fetch', '--servers', `127.0.0.2:${await freeUdpPort('127.0.0.2')}`, '--connect-timeout', '500', 'http://x/a'], status: 1, message: /no server accepted the connection .*BATON_ERR_TIMEOUT/ },
  // cat (its numeric options: cli-hardening.test.ts; its state files: cli-hardening-state.test.ts)
  { title: 'cat --listen on an address not on this host', args: () => ['cat', '--listen', NOT_HERE, '--send-file', small], status: 1, message: /cannot bind 192\.0\.2\.1:\d+: .*EADDRNOTAVAIL/ },
  {
    title: 'cat --listen on a UDP port in use',
    args: () => [],
    status: 1,
    message: /cannot bind 127\.0\.0\.2:\d+: .*EADDRINUSE/,
    hold: async () => {
      const { port, release } = await udpInUse();
      return { args: ['cat', '--listen', '127.0.0.2', '--udp-encap-port', String(port), '--send-file', small], release };
    },
  },
  { title: 'cat --take-over with a state file that does not exist', args: () => ['cat', '--take-over', missing, '--listen', '127.0.0.3', '--send-file', small], status: 2, message: /cannot read the state file .*no-such-file/ },
  { title: 'cat --take-over with an empty state file', args: () => ['cat', '--take-over', emptyFile, '--listen', '127.0.0.3', '--send-file', small], status: 2, message: /empty is not a baton connection state \(BATON_ERR_STATE_INVALID\)/ },
  { title: 'cat --take-over with a state file of random bytes', args: () => ['cat', '--take-over', at('random.state', Buffer.from('f1e2d3c4b5a69788796a5b4c3d2e1f00ffeeddccbbaa99887766554433221100', 'hex')), '--listen', '127.0.0.3', '--send-file', small], status: 2, message: /random\.state is not a baton connection state \(BATON_ERR_STATE_/ },
  // demo
  { title: 'demo with a malformed --size', args: () => ['demo', '--size', 'x'], status: 2, message: /--size must be an integer/ },
  { title: 'demo with an unknown transport', args: () => ['demo', '-t', 'udp'], status: 2, message: /unknown transport "udp"/ },
  // monitor
  { title: 'monitor with no command', args: () => ['monitor'], status: 2, message: /baton monitor needs a command: declare-dead, move/ },
  { title: 'monitor with an unknown command', args: () => ['monitor', 'kill'], status: 2, message: /unknown command 'kill' for baton monitor/ },
  { title: 'monitor declare-dead without --peers', args: () => ['monitor', 'declare-dead', 'w1', '--group-key', key], status: 2, message: /required option '--peers/ },
  { title: 'monitor declare-dead without the server', args: () => ['monitor', 'declare-dead', '--peers', peers, '--group-key', key], status: 2, message: /missing required argument 'SERVER_ID'/ },
  { title: 'monitor declare-dead with a --group-key file that does not exist', args: () => ['monitor', 'declare-dead', 'w1', '--peers', peers, '--group-key', missing], status: 2, message: /--group-key: cannot read/ },
  { title: 'monitor declare-dead with an empty --group-key file', args: () => ['monitor', 'declare-dead', 'w1', '--peers', peers, '--group-key', emptyFile], status: 2, message: /--group-key: .*must hold 64 hex characters/ },
  { title: 'monitor move with a malformed client', args: () => ['monitor', 'move', 'nonsense', '--to', 'w1', '--peers', peers, '--group-key', key], status: 2, message: /the connection is the client's ADDR:UDPPORT, not "nonsense"/ },
  // keygen
  { title: 'keygen with an argument it does not take', args: () => ['keygen', 'extra'], status: 2, message: /too many arguments for 'keygen'/ },
  { title: 'keygen -o onto an existing file: refused, the key kept', args: () => ['keygen', '-o', key], status: 1, message: /cannot write .*group\.key: it exists already \(a group key\?\); --force replaces it/ },
  { title: 'keygen -o into a directory that does not exist', args: () => ['keygen', '-o', join(missing, 'group.key')], status: 1, message: /cannot write .*no-such-file\/group\.key: ENOENT/ },
  // bench
  { title: 'bench with no command', args: () => ['bench'], status: 2, message: /baton bench needs a command: throughput, connections, chaos/ },
  { title: 'bench connections with a malformed --n', args: () => ['bench', 'connections', '--n', '10,x'], status: 2, message: /--n <list>' argument '10,x' is invalid/ },
  { title: 'bench chaos with --clients 0', args: () => ['bench', 'chaos', '--clients', '0'], status: 2, message: /--clients <n>' argument '0' is invalid/ },
  { title: 'bench chaos with an unknown transport', args: () => ['bench', 'chaos', '-t', 'udp'], status: 2, message: /Allowed choices are sctp, tcp/ },
  // experiment: options that are no counts have their own bounds, checked as the line is read
  { title: 'experiment with no command', args: () => ['experiment'], status: 2, message: /baton experiment needs a command: table1, .*failover/ },
  { title: 'experiment fig7 with an --mtu past 65535 (was taken as a count)', args: () => ['experiment', 'fig7', '--mtu', '70000'], status: 2, message: /--mtu <n>' argument '70000' is invalid. it must be a whole number from 576 to 65535/ },
  { title: 'experiment fig5 with an --rto-min past a minute (was taken as a count)', args: () => ['experiment', 'fig5', '--rto-min', '100000'], status: 2, message: /--rto-min <n>' argument '100000' is invalid/ },
  { title: 'experiment failover with a malformed --real-rounds (was read after the virtual half ran)', args: () => ['experiment', 'failover', '--real-rounds', 'x'], status: 2, message: /--real-rounds <count>' argument 'x' is invalid/ },
  { title: 'experiment failover with a malformed --rtts (was exit 1)', args: () => ['experiment', 'failover', '--rtts', '10,0'], status: 2, message: /--rtts <list>' argument '10,0' is invalid/ },
  // torture, fuzz
  { title: 'torture with a negative --seed', args: () => ['torture', '--seed', '-1'], status: 2, message: /--seed <s>' argument '-1' is invalid/ },
  { title: 'fuzz without a target', args: () => ['fuzz'], status: 2, message: /missing required argument 'target'/ },
  { title: 'fuzz with an unknown target', args: () => ['fuzz', 'dns'], status: 2, message: /'dns' is invalid for argument 'target'. Allowed choices are sctp-packet/ },
  { title: 'fuzz with --inputs 0', args: () => ['fuzz', 'state', '--inputs', '0'], status: 2, message: /--inputs <n>' argument '0' is invalid/ },
];

for (const c of cases) {
  test.serial(`${c.title}: one line, exit ${c.status}`, async (t) => {
    const held = c.hold ? await c.hold() : undefined;
    const args = held ? held.args : await c.args();
    try {
      await oneLine(t, args, c.status, c.message, 20_000);
    } finally {
      held?.release();
    }
  });
}

test.serial('baton help COMMAND still explains a command (a group with its own action keeps `help`)', async (t) => {
  for (const args of [['help', 'cat'], ['bench', 'help', 'chaos'], ['monitor', 'help', 'move']]) {
    const run = await runToExit(process.execPath, [BATON, ...args], { t, timeoutMs: 20_000 });
    t.is(run.status.code, 0, `${args.join(' ')}: ${run.stderr}`);
    t.regex(run.stdout, /^Usage: baton /, args.join(' '));
  }
});

test.serial('keygen -o keeps an existing file unless --force, which replaces it with mode 0600', async (t) => {
  const file = join(dir, 'old.key');
  writeFileSync(file, 'old\n', { mode: 0o644 });
  chmodSync(file, 0o644);
  const refused = await runToExit(process.execPath, [BATON, 'keygen', '-o', file], { t, timeoutMs: 20_000 });
  t.is(refused.status.code, 1, refused.stderr);
  t.is(readFileSync(file, 'utf8'), 'old\n');
  const forced = await runToExit(process.execPath, [BATON, 'keygen', '-o', file, '--force'], { t, timeoutMs: 20_000 });
  t.is(forced.status.code, 0, forced.stderr);
  t.regex(readFileSync(file, 'utf8'), /^[0-9a-f]{64}\n$/);
  t.is(statSync(file).mode & 0o777, 0o600);
});

test.serial('baton --help lists the exit statuses', async (t) => {
  const run = await runToExit(process.execPath, [BATON, '--help'], { t, timeoutMs: 20_000 });
  t.is(run.status.code, 0);
  for (const [code] of EXIT_STATUSES) t.regex(run.stdout, new RegExp(`^  ${code} +\\S`, 'm'), `exit status ${code} is not listed`);
});

test.serial('a command tree that cannot be built is reported in one line with exit 70, not a silent 2', async (t) => {
  // The old main() took any commander error as a usage error already printed: an argParser that
  // threw while the tree was built (a bad default) exited 2 without a word.
  const written: string[] = [];
  const write = process.stderr.write;
  const exitCode = process.exitCode;
  process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as typeof process.stderr.write;
  let status: typeof process.exitCode;
  try {
    await main(['node', 'baton', 'experiment', 'fig7'], () => {
      throw new InvalidArgumentError("option '--mtu <n>' default '0': it must be a whole number from 576 to 65535.");
    });
    status = process.exitCode;
  } finally {
    process.stderr.write = write;
    process.exitCode = exitCode;
  }
  t.is(status, EXIT_INTERNAL);
  t.is(written.length, 1, written.join(''));
  t.regex(written[0]!, /^baton: internal error: the command line could not be built: option '--mtu <n>' default '0'/);
});
