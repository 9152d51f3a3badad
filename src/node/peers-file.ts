// The pool of `baton serve --peers FILE|LIST` and `baton monitor`: ID@ADDR entries, comma-separated
// on the command line or one a line in a file (# comments and blank lines ignored). A file is
// watched (fs.watch, with a polling fallback) and re-read when it changes; a change that does not
// parse is reported and the previous pool kept.
import { existsSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { isIP } from 'node:net';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import { splitWeight } from '../wedge/policy.js';
import type { Peer } from '../wedge/wedge.js';

/** Parses ID@ADDR[=WEIGHT] entries (weight: policy.ts, default 1); throws LocalUsageError naming the bad one. */
export function parsePeerEntries(entries: readonly string[], where: string): Peer[] {
  const peers: Peer[] = [];
  const ids = new Set<string>();
  for (const listed of entries) {
    const { text: raw, weight } = splitWeight(listed, where);
    const m = /^([^@\s]+)@(\S+)$/.exec(raw);
    const address = m?.[2]?.replace(/^\[(.*)\]$/, '$1');
    if (!m || address === undefined || isIP(address) === 0) throw new LocalUsageError(`${where}: "${raw}" is not ID@ADDR (ADDR an IP address)`);
    if (ids.has(m[1]!)) throw new LocalUsageError(`${where}: the id "${m[1]}" appears twice`);
    ids.add(m[1]!);
    peers.push({ id: m[1]!, address, ...(weight !== 1 ? { weight } : {}) });
  }
  return peers;
}

/** The text of a peers file: one ID@ADDR a line. */
export function parsePeersFile(text: string, where: string): Peer[] {
  const lines = text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '');
  return parsePeerEntries(lines, where);
}

/** `--peers FILE|LIST`: an existing file is read, anything else is a LIST. */
export function loadPeers(spec: string): { peers: Peer[]; file: string | undefined } {
  if (existsSync(spec) && statSync(spec).isFile()) {
    let text: string;
    try {
      text = readFileSync(spec, 'utf8');
    } catch (error) {
      throw new LocalUsageError(`--peers: cannot read ${spec}: ${(error as Error).message}`);
    }
    return { peers: parsePeersFile(text, spec), file: spec };
  }
  if (spec.includes('/')) throw new LocalUsageError(`--peers: no such file ${spec}`);
  return { peers: parsePeerEntries(spec.split(',').map((s) => s.trim()), '--peers'), file: undefined };
}

/** What a peer source reports: a new pool, a change refused, a member gone (deregistered or dead by the source's word). */
export interface PeerSourceEvents {
  changed(peers: Peer[]): void;
  refused(message: string): void;
  gone?(id: string): void;
}

/** Where the pool comes from: a peers file (here) or a registry (registry-etcd.ts). */
export interface PeerSource {
  /** The pool now. */
  readonly peers: Peer[];
  /** Reports changes until the returned function is called. */
  start(events: PeerSourceEvents): () => void;
}

/** A peers file as a PeerSource (re-read when it changes; a file names no deaths). */
export function peersFileSource(file: string, initial: readonly Peer[]): PeerSource {
  let current = [...initial];
  return {
    get peers() {
      return current;
    },
    start: (events) =>
      watchPeersFile(
        file,
        (peers) => {
          current = peers;
          events.changed(peers);
        },
        (message) => events.refused(message),
      ),
  };
}

/** Watches a peers file; calls `changed` with the new pool, `failed` with a parse error. */
export function watchPeersFile(file: string, changed: (peers: Peer[]) => void, failed: (message: string) => void, pollMs = 1000): () => void {
  let last = readSafe(file);
  const check = (): void => {
    const text = readSafe(file);
    if (text === undefined || text === last) return;
    last = text;
    try {
      changed(parsePeersFile(text, file));
    } catch (error) {
      failed((error as Error).message);
    }
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(file, { persistent: false }, check);
  } catch {
    watcher = undefined;
  }
  // Polling too: editors replace files (rename), which ends an fs.watch on the old inode.
  const timer = setInterval(check, pollMs);
  timer.unref();
  return () => {
    watcher?.close();
    clearInterval(timer);
  };
}

function readSafe(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A group key file: 64 hex characters (and a newline), as `baton keygen` writes. */
export function readGroupKey(file: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new LocalUsageError(`--group-key: cannot read ${file}: ${(error as Error).message}`);
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new LocalUsageError(`--group-key: ${file} must hold 64 hex characters (baton keygen)`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}
