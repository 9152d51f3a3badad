// The JSON log lines of a `baton serve` process (one object per line on standard error), by event.
import type { ManagedProcess } from './process.js';

export interface Logged {
  event: string;
  [field: string]: unknown;
}

/** Every logged line of `event`, in order. */
export function events(p: ManagedProcess, event: string): Logged[] {
  return p.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Logged)
    .filter((l) => l.event === event);
}
