// `baton demo`: its arguments, the `baton serve` command lines it builds (to SERVE-SPEC.md), and
// its cleanup when a wedge fails to start or the user presses Ctrl-C — with stub wedges given
// through BATON_DEMO_BATON (a variable only tests use) — and the real demo end to end, which needs
// `baton serve`.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runToExit, spawnProcess } from './helpers/process.js';

const BATON = fileURLToPath(new URL('../bin/baton.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'baton-demo-test-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for `baton serve`: records its pid and arguments, then acts as STUB_MODE says. */
const STUB = `
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const args = process.argv.slice(2);
const id = args[args.indexOf('--id') + 1];
writeFileSync(join(process.env.STUB_DIR, id + '.args'), JSON.stringify(args));
writeFileSync(join(process.env.STUB_DIR, id + '.pid'), String(process.pid));
const mode = process.env.STUB_MODE;
if (mode === 'fail' && id === 'w4') {
  // Fail once the other two run, so the test can see that the demo stops them.
  const others = ['w2', 'w3'].map((w) => join(process.env.STUB_DIR, w + '.pid'));
  const fail = () => {
    if (!others.every((f) => existsSync(f))) return setTimeout(fail, 20);
    process.stderr.write('baton serve: cannot bind 127.0.0.4: EADDRINUSE\\n');
    process.exit(1);
  };
  fail();
} else {
  if (mode !== 'silent') process.stderr.write(JSON.stringify({ time: new Date().toISOString(), server: id, event: 'listening' }) + '\\n');
  setInterval(() => {}, 1000);
}
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function stubRun(mode: string): { stubDir: string; env: Record<string, string> } {
  const stubDir = mkdtempSync(join(dir, `${mode}-`));
  const script = join(stubDir, 'stub.mjs');
  writeFileSync(script, STUB);
  return { stubDir, env: { BATON_DEMO_BATON: script, STUB_DIR: stubDir, STUB_MODE: mode } };
}

const pids = (stubDir: string, ids: string[]) => ids.map((id) => Number(readFileSync(join(stubDir, `${id}.pid`), 'utf8')));

test('baton demo --help; bad arguments exit 2 with one line', async (t) => {
  const help = await runToExit(process.execPath, [BATON, 'demo', '--help'], { t, timeoutMs: 20_000 });
  t.is(help.status.code, 0);
  for (const text of ['--transport', '--size', '--keep', 'SIGKILL', 'sha256', 'Exit status']) t.true(help.stdout.includes(text), `--help lacks ${text}`);
  for (const [args, message] of [
    [['--size', 'big'], /--size must be an integer/],
    [['--size', '10'], /--size must be an integer from 1000000/],
    [['-t', 'udp'], /unknown transport "udp"/],
    [['--bogus'], /unknown option '--bogus'/],
  ] as Array<[string[], RegExp]>) {
    const run = await runToExit(process.execPath, [BATON, 'demo', ...args], { t, timeoutMs: 20_000 });
    t.is(run.status.code, 2, run.stderr);
    t.regex(run.stderr, message);
    t.is(run.stderr.trim().split('\n').length, 1, run.stderr);
  }
});

test('a wedge that fails to start: exit 1 naming it, the other wedges stopped, the directory removed; the serve flags follow the spec', async (t) => {
  const { stubDir, env } = stubRun('fail');
  const run = await runToExit(process.execPath, [BATON, 'demo', '-t', 'tcp'], { t, timeoutMs: 40_000, env });
  t.is(run.status.code, 1, run.stderr);
  t.regex(run.stderr, /failed: w4 \(baton serve on 127\.0\.0\.4\) exited \(code 1\) before it listened: .*EADDRINUSE/);
  const work = /working in (\S+)/.exec(run.stderr)![1]!;
  t.false(existsSync(work), 'the temporary directory is removed');
  for (const pid of pids(stubDir, ['w2', 'w3', 'w4'])) t.false(alive(pid), `wedge ${pid} still runs`);

  // The command lines, as SERVE-SPEC.md has them.
  const args = JSON.parse(readFileSync(join(stubDir, 'w3.args'), 'utf8')) as string[];
  const flag = (name: string) => args[args.indexOf(name) + 1];
  t.is(args[0], 'serve');
  t.is(flag('--transport'), 'tcp');
  t.regex(flag('--listen')!, /^127\.0\.0\.3:\d+$/);
  t.regex(flag('--backend')!, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.is(flag('--id'), 'w3');
  t.is(flag('--log'), 'json');
  t.regex(flag('--soft-state-port')!, /^\d+$/);
  for (const f of ['--peers', '--group-key', '--update-sec', '--dead-after', '--cache-timeout']) t.true(args.includes(f), `no ${f}`);
  const w2 = JSON.parse(readFileSync(join(stubDir, 'w2.args'), 'utf8')) as string[];
  t.is(w2[w2.indexOf('--listen') + 1]!.split(':')[1], flag('--listen')!.split(':')[1], 'every wedge on the same UDP port');
});

test('Ctrl-C while the wedges start: exit 130, every wedge stopped, the directory removed', async (t) => {
  const { stubDir, env } = stubRun('silent');
  const demo = spawnProcess(process.execPath, [BATON, 'demo'], { t, timeoutMs: 40_000, env, stderr: 'pipe' });
  const [, work] = await demo.waitForLine(/working in (\S+)/, 20_000, 'stderr');
  const started = () => ['w2', 'w3', 'w4'].every((id) => existsSync(join(stubDir, `${id}.pid`)));
  for (let i = 0; i < 200 && !started(); i++) await new Promise((r) => setTimeout(r, 50));
  t.true(started(), demo.describe());
  process.kill(demo.pid!, 'SIGINT');
  const status = await demo.waitForExit(20_000);
  t.is(status.code, 130, demo.describe());
  t.regex(demo.stderr, /interrupted; cleaning up/);
  t.false(existsSync(work!));
  for (const pid of pids(stubDir, ['w2', 'w3', 'w4'])) t.false(alive(pid), `wedge ${pid} still runs`);
});

for (const kind of ['sctp', 'tcp'] as const) {
  test.serial(`${kind}: the real demo (needs baton serve): the serving wedge killed, a takeover won, the hash matches`, async (t) => {
    const commands = await runToExit(process.execPath, [BATON, '--help'], { t, timeoutMs: 20_000 });
    if (!/^\s+serve\b/m.test(commands.stdout)) {
      t.fail('`baton serve` is not in this build (`baton --help` does not list it); the demo cannot run');
      return;
    }
    const run = await runToExit(process.execPath, [BATON, 'demo', '-t', kind, '--size', '4000000'], { t, timeoutMs: 60_000 });
    t.is(run.status.code, 0, run.stderr);
    t.regex(run.stderr, /SIGKILL w2 \(127\.0\.0\.2/);
    t.regex(run.stderr, /won: {6}w[34], takeover \d+/);
    t.regex(run.stderr, /client: {3}taken over by 127\.0\.0\.[34] \(takeover \d+\), stalled \d+\.\d s/);
    t.regex(run.stderr, /sha256: {3}[0-9a-f]{64} matches the object/);
    t.log(run.stderr);
  });
}
