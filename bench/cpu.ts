// CPU time of benchmark processes: user + system seconds, the steadier figure on a shared machine
// (MB/s moves with whatever else runs; CPU per delivered byte much less).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** CPU seconds (user + system) the live process `pid` has used so far, from /proc/PID/stat. */
export function processCpuSeconds(pid: number): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // Fields after "(comm)": state is field 3, utime field 14, stime field 15 (proc(5)).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond;
}

/**
 * This process's CPU seconds since `since` (a process.cpuUsage() taken when the measured transfer
 * began: start-up and module loading, tsx's compilation included, are not the transfer's cost), as
 * the line a bench child prints before it exits.
 */
export function cpuLine(since: NodeJS.CpuUsage | undefined): string {
  const u = process.cpuUsage(since);
  return `CPU ${((u.user + u.system) / 1e6).toFixed(6)}\n`;
}

/** The CPU seconds in a child's "CPU s" line. */
export const CPU_LINE = /^CPU ([\d.]+)$/;

/** The children's times bash's `times` builtin prints last ("0m1.234s 0m0.567s"), in seconds. */
export function parseBashTimes(stderr: string): number | undefined {
  const lines = stderr.trim().split('\n');
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1] ?? '');
  if (!m) return undefined;
  return Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
}
