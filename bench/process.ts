// Child processes for benchmarks and interop tests: spawn in a new process group, collect output,
// wait for a line, and kill the whole group on timeout, on teardown and when this process exits,
// so no test leaves a peer behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

/** Where a stream goes: collected in memory ('pipe'), dropped ('ignore'), or written to a file. */
export type OutputTarget = 'pipe' | 'ignore' | { readonly file: string };

export interface SpawnOptions {
  /** Hard limit on the process's life; the group is SIGKILLed after it. Default 30 s. */
  readonly timeoutMs?: number;
  readonly cwd?: string;
  /** Added to process.env. */
  readonly env?: Readonly<Record<string, string>>;
  /** 'pipe' lets the test write to stdin (see `write`/`endInput`); default 'ignore'. */
  readonly stdin?: 'pipe' | 'ignore';
  readonly stdout?: OutputTarget;
  readonly stderr?: OutputTarget;
  /**
   * Run the command under `stdbuf -oL -eL` so a C program's printf lines arrive as they are
   * printed (stdio is fully buffered into a pipe). usrsctp's programs need this.
   */
  readonly lineBuffered?: boolean;
  /** Bytes of each collected stream kept in memory (older text is dropped); default 4 MiB. */
  readonly keepBytes?: number;
  /** Ava's `t` (anything with teardown): the process is killed when the test ends. */
  readonly t?: { teardown(fn: () => void | Promise<void>): void };
  /** Name in error messages; default the command's base name. */
  readonly name?: string;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class ProcessError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ProcessError';
    this.code = code;
  }
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort: when the test worker exits, take every group we started with it.
  process.on('exit', () => {
    for (const p of live) p.killNow('SIGKILL');
  });
}

interface LineWaiter {
  readonly pattern: RegExp;
  readonly stream: 'stdout' | 'stderr' | 'both';
  readonly resolve: (m: RegExpExecArray) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class ManagedProcess {
  readonly child: ChildProcess;
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;

  private out = '';
  private err = '';
  private outLines: string[] = [];
  private errLines: string[] = [];
  private outPartial = '';
  private errPartial = '';
  private readonly keepBytes: number;
  private waiters: LineWaiter[] = [];
  private status: ExitStatus | undefined;
  private readonly lifeTimer: NodeJS.Timeout;
  private timedOut = false;

  constructor(command: string, args: readonly string[], options: SpawnOptions = {}) {
    installExitHook();
    this.command = command;
    this.args = args;
    this.name = options.name ?? command.split('/').pop()!;
    this.keepBytes = options.keepBytes ?? 4 << 20;
    const fds: number[] = [];
    const target = (o: OutputTarget | undefined): 'pipe' | 'ignore' | number => {
      if (o === undefined || o === 'pipe') return 'pipe';
      if (o === 'ignore') return 'ignore';
      const fd = openSync(o.file, 'w');
      fds.push(fd);
      return fd;
    };
    const [cmd, argv] = options.lineBuffered ? ['stdbuf', ['-oL', '-eL', command, ...args]] : [command, [...args]];
    this.child = spawn(cmd, argv, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: [options.stdin ?? 'ignore', target(options.stdout), target(options.stderr)],
      detached: true, // its own process group: kill(-pid) takes its children too
    });
    for (const fd of fds) closeSync(fd); // the child holds its own copy
    live.add(this);
    this.child.stdout?.setEncoding('utf8');
    this.child.stderr?.setEncoding('utf8');
    this.child.stdout?.on('data', (s: string) => this.take('stdout', s));
    this.child.stderr?.on('data', (s: string) => this.take('stderr', s));
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.child.once('error', (e) => {
        this.err += `\n[spawn error] ${e.message}\n`;
        this.finish({ code: null, signal: null });
        resolve(this.status!);
      });
      this.child.once('close', (code, signal) => {
        this.finish({ code, signal });
        resolve(this.status!);
      });
    });
    this.lifeTimer = setTimeout(() => {
      this.timedOut = true;
      this.killNow('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    this.lifeTimer.unref();
    options.t?.teardown(async () => {
      await this.kill();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Everything collected on stdout so far (the last keepBytes). */
  get stdout(): string {
    return this.out + this.outPartial;
  }

  get stderr(): string {
    return this.err + this.errPartial;
  }

  /** Complete stdout lines so far (the last keepBytes' worth). */
  get lines(): readonly string[] {
    return this.outLines;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /** True when the life timeout killed it. */
  get wasTimedOut(): boolean {
    return this.timedOut;
  }

  /** Write to stdin (spawned with stdin: 'pipe'). */
  write(data: string | Uint8Array): void {
    this.child.stdin?.write(data);
  }

  endInput(): void {
    this.child.stdin?.end();
  }

  /**
   * The first line (already seen or still to come) that matches. Rejects when the process exits
   * first or after timeoutMs, with the collected output in the message.
   */
  waitForLine(pattern: RegExp, timeoutMs = 10_000, stream: 'stdout' | 'stderr' | 'both' = 'stdout'): Promise<RegExpExecArray> {
    const seen = this.findLine(pattern, stream);
    if (seen) return Promise.resolve(seen);
    if (this.status !== undefined) return Promise.reject(this.failure(`exited before printing ${pattern}`));
    return new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(this.failure(`no line matching ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push({ pattern, stream, resolve, reject, timer });
    });
  }

  /** Wait for exit; on timeout, kill the group and reject. */
  async waitForExit(timeoutMs = 10_000): Promise<ExitStatus> {
    if (this.status !== undefined) return this.status;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.killNow('SIGKILL');
        reject(this.failure(`did not exit within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Signal the whole group (default SIGTERM), then SIGKILL after graceMs; resolves on exit. */
  async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 2000): Promise<ExitStatus> {
    if (this.status !== undefined) return this.status;
    this.killNow(signal);
    const timer = setTimeout(() => this.killNow('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Synchronous: signal the process group, ignoring "no such process". */
  killNow(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  /** A short description with the tail of both streams, for assertion messages. */
  describe(tailBytes = 2000): string {
    const s = this.status;
    const how = s === undefined ? 'running' : s.signal ? `killed by ${s.signal}` : `exit ${s.code}`;
    return (
      `${this.name} (${how}${this.timedOut ? ', timed out' : ''})\n` +
      `--- stdout (tail) ---\n${this.stdout.slice(-tailBytes)}\n--- stderr (tail) ---\n${this.stderr.slice(-tailBytes)}`
    );
  }

  private failure(what: string): ProcessError {
    return new ProcessError('BATON_ERR_PROCESS', `${this.name}: ${what}\n${this.describe()}`);
  }

  private findLine(pattern: RegExp, stream: 'stdout' | 'stderr' | 'both'): RegExpExecArray | undefined {
    const lists = stream === 'stdout' ? [this.outLines] : stream === 'stderr' ? [this.errLines] : [this.outLines, this.errLines];
    for (const list of lists) {
      for (const line of list) {
        pattern.lastIndex = 0;
        const m = pattern.exec(line);
        if (m) return m;
      }
    }
    return undefined;
  }

  private take(stream: 'stdout' | 'stderr', text: string): void {
    const partial = (stream === 'stdout' ? this.outPartial : this.errPartial) + text;
    const parts = partial.split('\n');
    const rest = parts.pop()!;
    if (stream === 'stdout') this.outPartial = rest;
    else this.errPartial = rest;
    for (const line of parts) this.addLine(stream, line.replace(/\r$/, ''));
    // A huge unterminated "line" (binary output) still counts against keepBytes.
    if (rest.length > this.keepBytes) {
      if (stream === 'stdout') this.outPartial = rest.slice(-this.keepBytes);
      else this.errPartial = rest.slice(-this.keepBytes);
    }
  }

  private addLine(stream: 'stdout' | 'stderr', line: string): void {
    if (stream === 'stdout') {
      this.out += line + '\n';
      this.outLines.push(line);
      if (this.out.length > this.keepBytes * 2) this.trim('stdout');
    } else {
      this.err += line + '\n';
      this.errLines.push(line);
      if (this.err.length > this.keepBytes * 2) this.trim('stderr');
    }
    for (const w of [...this.waiters]) {
      if (w.stream !== 'both' && w.stream !== stream) continue;
      w.pattern.lastIndex = 0;
      const m = w.pattern.exec(line);
      if (m) {
        clearTimeout(w.timer);
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(m);
      }
    }
  }

  private trim(stream: 'stdout' | 'stderr'): void {
    const keep = this.keepBytes;
    if (stream === 'stdout') {
      this.out = this.out.slice(-keep);
      let bytes = 0;
      let i = this.outLines.length;
      while (i > 0 && bytes < keep) bytes += this.outLines[--i]!.length + 1;
      this.outLines = this.outLines.slice(i);
    } else {
      this.err = this.err.slice(-keep);
      let bytes = 0;
      let i = this.errLines.length;
      while (i > 0 && bytes < keep) bytes += this.errLines[--i]!.length + 1;
      this.errLines = this.errLines.slice(i);
    }
  }

  private finish(status: ExitStatus): void {
    if (this.status !== undefined) return;
    // Flush a last line without its newline.
    if (this.outPartial) {
      const l = this.outPartial;
      this.outPartial = '';
      this.addLine('stdout', l);
    }
    if (this.errPartial) {
      const l = this.errPartial;
      this.errPartial = '';
      this.addLine('stderr', l);
    }
    this.status = status;
    clearTimeout(this.lifeTimer);
    live.delete(this);
    // Children of the group may outlive the leader (a shell's background job): take them too.
    this.killNow('SIGKILL');
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(this.failure(`exited before printing ${w.pattern}`));
    }
    this.waiters = [];
  }
}

/** Spawn `command args` in its own process group; see SpawnOptions. */
export function spawnProcess(command: string, args: readonly string[], options: SpawnOptions = {}): ManagedProcess {
  return new ManagedProcess(command, args, options);
}

/** Run to completion and return the output; rejects (after killing the group) on timeout. */
export async function runToExit(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<{ status: ExitStatus; stdout: string; stderr: string }> {
  const p = spawnProcess(command, args, options);
  const status = await p.waitForExit(options.timeoutMs ?? 30_000);
  return { status, stdout: p.stdout, stderr: p.stderr };
}

/** Processes started through this module that are still running (for tests of the helper). */
export function liveProcessCount(): number {
  return live.size;
}
