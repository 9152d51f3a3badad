// A careless operator gets one line and exit status 2, at once, before anything is bound (issue 14,
// items 11, 13, 15): real `baton` processes, each bounded in time; a process that binds and waits
// fails its test by timing out.
import test from 'ava';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runToExit } from './helpers/process.js';
import { BATON, oneLine } from './helpers/cli.js';
import { freeUdpPort } from './helpers/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'baton-hardening-'));
const file = join(dir, 'small.bin');
writeFileSync(file, Buffer.alloc(1000, 1));

/** Run baton; it must exit 2 within a few seconds with exactly one stderr line matching `message`. */
async function refused(t: import('ava').ExecutionContext, args: string[], message: RegExp): Promise<void> {
  await oneLine(t, args, 2, message, 8_000);
}

test('item 13: every numeric option of cat is checked as the line is read, before a socket is bound', async (t) => {
  const port = String(await freeUdpPort('127.0.0.2'));
  // A server line that, were the bad value accepted, would listen and wait for a client.
  const listen = ['cat', '--listen', '127.0.0.2', '--udp-encap-port', port];
  const cases: Array<[string[], RegExp]> = [
    [[...listen, '--takeover-number', 'abc'], /--takeover-number.*"abc"/],
    [[...listen, '--takeover-number', '0'], /--takeover-number.*not an integer in 1\.\.4294967295/],
    [[...listen, '--takeover-number', '200', '--rto-min', 'x'], /--rto-min/],
    [[...listen, '--takeover-number', '1.5'], /--takeover-number/],
    [[...listen, '--takeover-number', '4294967296'], /--takeover-number/],
    [[...listen, '--takeover-number', '1e300'], /--takeover-number/],
    [[...listen, '--mtu', '1e9'], /--mtu.*576 to 65535/],
    [[...listen, '--mtu', '1500.5'], /--mtu/],
    [[...listen, '--rto-min', '1e300'], /--rto-min/],
    [[...listen, '--rto-min', '0'], /--rto-min/],
    [[...listen, '--send-file', file, '--rate', '1e300'], /--rate/],
    [['cat', '--listen', '127.0.0.2', '--udp-encap-port', '70000'], /--udp-encap-port/],
    [['cat', '--listen', '127.0.0.2', '--udp-encap-port', '1.5'], /--udp-encap-port/],
    [['cat', '127.0.0.2', '--peer-encap-port', '0'], /--peer-encap-port/],
    [['cat', '127.0.0.2:0', '--peer-encap-port', port], /port 0 is no SCTP or TCP port/],
    [['cat', '--listen', '127.0.0.2:0', '--udp-encap-port', port], /port 0 is no SCTP or TCP port/],
  ];
  for (const [args, message] of cases) await refused(t, args, message);
});

test('item 13: the numeric options of connect, bench and experiment are checked too', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['connect', '--listen', '127.0.0.1:0', '--servers', '127.0.0.2', '--mtu', '1e9'], /--mtu/],
    [['connect', '--listen', '127.0.0.1:0', '--servers', '127.0.0.2', '--rto-min', '1.5'], /--rto-min/],
    [['connect', '--listen', '127.0.0.1:0', '--servers', '127.0.0.2', '--connect-timeout', '1e300'], /--connect-timeout/],
    [['connect', '--listen', '127.0.0.1:0', '--servers', '127.0.0.2:0'], /port cannot be 0/],
    [['bench', 'throughput', '--seconds', '1e300'], /--seconds/],
    [['bench', 'throughput', '--seconds', '0'], /--seconds/],
    [['bench', 'throughput', '--message-size', '1.5'], /--message-size/],
    [['experiment', 'table1', '--seeds', '1.5'], /--seeds/],
    [['experiment', 'table1', '--seeds', '0'], /--seeds/],
    [['experiment', 'table1', '--clients', 'abc'], /--clients/],
    [['experiment', 'table1', '--servers', '1e300'], /--servers/],
  ];
  for (const [args, message] of cases) await refused(t, args, message);
});

test("item 15: commander's own errors exit 2, as the help promises, on every command", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['cat', '--no-such-option'], /unknown option '--no-such-option'/],
    [['cat', '--listen'], /--listen.*argument missing/],
    [['cat', '--transport', 'udp', '127.0.0.1'], /Allowed choices are sctp, tcp/],
    [['cat', '--resume', 'all', '127.0.0.1'], /Allowed choices are gap-fill, go-back-n/],
    [['no-such-command'], /unknown command/],
    [['bench', 'throughput', '--transport', 'udp'], /Allowed choices/],
    [['bench', 'no-such-bench'], /unknown command/],
    [['experiment', 'table1', '--no-such-option'], /unknown option/],
    [['connect', '--listen', '127.0.0.1:0'], /required option '-s, --servers <LIST>' not specified/],
  ];
  for (const [args, message] of cases) await refused(t, args, message);
  const help = await runToExit(process.execPath, [BATON, 'cat', '--help'], { t, timeoutMs: 8_000 });
  t.is(help.status.code, 0, 'help is no error');
});

test('item 15: a missing --send-file is named as such, and on --listen it is refused before listening', async (t) => {
  const port = String(await freeUdpPort('127.0.0.2'));
  const missing = join(dir, 'no-such-file.bin');
  await refused(t, ['cat', '--listen', '127.0.0.2', '--udp-encap-port', port, '--send-file', missing], /--send-file .*no-such-file\.bin: cannot read it: ENOENT/);
  await refused(t, ['cat', '127.0.0.2', '--peer-encap-port', port, '--send-file', missing], /--send-file .*no-such-file\.bin: cannot read it/);
  // --take-over reads the state first; give it a missing file with a state that does not matter.
  await refused(t, ['cat', '--take-over', join(dir, 'no.state'), '--listen', '127.0.0.3', '--send-file', missing], /cannot read the state file/);
  await refused(t, ['cat', '--take-over', join(dir, 'no.state'), '--listen', '127.0.0.3'], /--take-over needs --send-file/);
});

test('item 11: --state-out that cannot be written is refused before listening, and leaves no file anywhere', async (t) => {
  const port = String(await freeUdpPort('127.0.0.2'));
  const listen = ['cat', '--listen', '127.0.0.2', '--udp-encap-port', port, '--send-file', file];
  const holder = mkdtempSync(join(tmpdir(), 'baton-state-dir-'));
  const stateDir = join(holder, 'states');
  mkdirSync(stateDir);
  await refused(t, [...listen, '--state-out', stateDir], /--state-out .* is a directory/);
  // The old code wrote its temporary file beside the path (`/tmp` → `/tmp.PID.tmp`, in `/`).
  t.deepEqual(readdirSync(holder), ['states'], 'a temporary file was left beside the directory');
  t.deepEqual(readdirSync(stateDir), []);
  await refused(t, [...listen, '--state-out', join(dir, 'no-such-dir', 'a.state')], /--state-out .*a\.state: cannot write there/);
  await refused(t, [...listen, '--state-out', `${holder}/`], /--state-out .* (is a directory|names a directory)/);
});
