// The real-process half of the `failover` experiment (issue 13): the time from SIGKILL of the
// serving wedge to the client's first resumed byte, with the heartbeat monitor, on loopback.
//
// Each round: three fresh `baton serve` wedges on 127.0.0.2-4 (bench/wedge-pool.ts, as `baton demo`
// starts them) in front of the embedded content server (paced, so the stream is still running when
// the kill lands), batonFetch of a generated object from 127.0.0.2 in this process, and once
// KILL_AFTER_MS of body have arrived, SIGKILL of the wedge serving it. Measured here, on this
// process's clock (performance.now): from the kill to the first body byte batonFetch delivers after
// the connection was taken over (its onFailover callback, called on that byte). stallMs is the
// client's own figure (last byte before the takeover to the first after). The download must then
// complete with the object's sha256 (the rest of it unpaced once the first resumed byte is in); a round that does not is reported through `progress` and left
// out of the results (the function throws when no round is valid).
//
// What the figure is: the survivors notice the death after `deadAfter` silent announcement periods
// (update-sec × dead-after, plus up to one period for where in its period the wedge died), then wait
// the takeover backoff (src/wedge/backoff.ts), then take the connection over and ask the backend for
// the rest (one loopback round trip each).
//
// Alone: npx tsx bench/experiments/kill-to-resume.ts --transport sctp|tcp|both --rounds 5
//        [--update-sec 1] [--dead-after 3]   (both: the transports' rounds interleaved)
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { batonFetch } from '../../src/client/fetch.js';
import { ContentServer, generatedObjectPath, generatedSha256 } from '../../src/node/content-server.js';
import { startWedgePool, THREE_MEMBERS } from '../wedge-pool.js';

export interface KillToResumeOptions {
  transport: 'sctp' | 'tcp';
  rounds: number;
  /** Announcement period, seconds (default 1). */
  updateSec?: number;
  /** Silent periods before a member is declared dead (default 3). */
  deadAfter?: number;
  progress?: (m: string) => void;
}

export interface KillToResumeRow {
  transport: string;
  round: number;
  killToResumeMs: number;
  stallMs: number;
  winner: string;
}

/** Body bytes per second of the paced object. */
const RATE = 1 << 20;
/** Body time before the kill: the connection is announced and well under way. */
const KILL_AFTER_MS = 1500;

export async function killToResume(options: { transport: 'sctp' | 'tcp'; rounds: number; updateSec?: number; deadAfter?: number; progress?: (m: string) => void }): Promise<Array<{ transport: string; round: number; killToResumeMs: number; stallMs: number; winner: string }>> {
  return runRounds(options, Array.from({ length: options.rounds }, (_, i) => i + 1));
}

/** The rounds numbered `numbers` (the standalone command interleaves transports round by round). */
async function runRounds(options: KillToResumeOptions, numbers: readonly number[]): Promise<KillToResumeRow[]> {
  const rows: KillToResumeRow[] = [];
  const failures: string[] = [];
  for (const round of numbers) {
    try {
      rows.push(await oneRound(options, round));
    } catch (error) {
      const message = `${options.transport} round ${round} failed: ${(error as Error).message}`;
      failures.push(message);
      options.progress?.(message);
    }
  }
  if (rows.length === 0) throw new Error(`no valid round:\n${failures.join('\n')}`);
  return rows;
}

async function oneRound(options: KillToResumeOptions, round: number): Promise<KillToResumeRow> {
  const updateSec = options.updateSec ?? 1;
  const deadAfter = options.deadAfter ?? 3;
  const heartbeat = { updateSec, deadAfter, cacheTimeout: updateSec * deadAfter * 2 + 2 };
  // Long enough that the paced stream outlives the kill, the detection (≤ (deadAfter + 1) periods),
  // the backoff and a loaded machine's slowness, twice over; after the resume the rest is unpaced.
  const size = Math.ceil((RATE * (KILL_AFTER_MS + 2 * (deadAfter + 1) * updateSec * 1000 + 4000)) / 1000);
  const dir = mkdtempSync(join(tmpdir(), 'baton-kill-to-resume-'));
  const content = await ContentServer.start({ address: '127.0.0.1', rateBytesPerSec: RATE });
  const pool = await startWedgePool({ kind: options.transport, backend: content.url, dir, members: THREE_MEMBERS, heartbeat }).catch(async (error: unknown) => {
    await content.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  });
  try {
    await pool.listening();
    const first = pool.wedges[0]!;
    let killedAt: number | undefined;
    let killed: string | undefined;
    let resumedAt: number | undefined;
    let stallMs: number | undefined;
    let bodyStart: number | undefined;
    const hash = createHash('sha256');
    const response = await batonFetch(`http://${first.address}${generatedObjectPath(size)}`, {
      servers: [{ address: first.address, port: pool.udpPort }],
      transport: options.transport,
      rtoMin: 100,
      onProgress: () => {
        const now = performance.now();
        bodyStart ??= now;
        if (killedAt === undefined && now - bodyStart >= KILL_AFTER_MS) {
          const serving = pool.serving();
          if (serving === undefined) return; // its "accepted" line not read yet: the next chunk
          serving.process.killNow('SIGKILL');
          killedAt = performance.now();
          killed = serving.id;
        }
      },
      onFailover: (f) => {
        if (killedAt !== undefined && resumedAt === undefined && f.stallMs !== undefined) {
          resumedAt = performance.now();
          stallMs = f.stallMs;
          content.rateBytesPerSec = undefined; // measured: the rest unpaced, the round ends sooner
        }
      },
    });
    response.body.on('data', (chunk: Buffer) => hash.update(chunk));
    await response.finished;
    if (killedAt === undefined) throw new Error('the download ended before the kill');
    if (resumedAt === undefined || stallMs === undefined) throw new Error(`no byte arrived after ${killed} was killed`);
    const digest = hash.digest('hex');
    if (digest !== generatedSha256(size)) throw new Error(`sha256 ${digest} is not the object's`);
    const won = pool.takeoversWon().filter(({ id }) => id !== killed);
    const winner = won.at(-1)?.id ?? 'unknown';
    const row = { transport: options.transport, round, killToResumeMs: resumedAt - killedAt, stallMs, winner };
    options.progress?.(`${row.transport} round ${round}: SIGKILL ${killed} -> first resumed byte ${row.killToResumeMs.toFixed(0)} ms (stall ${stallMs.toFixed(0)} ms), won by ${winner}`);
    return row;
  } finally {
    await pool.stop();
    await content.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** min / median / max of a list of numbers. */
export function spread(values: readonly number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]! };
}

async function main(argv: string[]): Promise<number> {
  const flag = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
  };
  const transport = flag('--transport', 'sctp');
  const rounds = Number(flag('--rounds', '5'));
  const updateSec = Number(flag('--update-sec', '1'));
  const deadAfter = Number(flag('--dead-after', '3'));
  if (!['sctp', 'tcp', 'both'].includes(transport) || !Number.isInteger(rounds) || rounds < 1 || !(updateSec > 0) || !Number.isInteger(deadAfter) || deadAfter < 1) {
    process.stderr.write('usage: kill-to-resume.ts [--transport sctp|tcp|both] [--rounds N] [--update-sec S] [--dead-after K]\n');
    return 2;
  }
  const kinds = transport === 'both' ? (['sctp', 'tcp'] as const) : ([transport] as ['sctp' | 'tcp']);
  const progress = (m: string) => process.stderr.write(`kill-to-resume: ${m}\n`);
  const rows: KillToResumeRow[] = [];
  for (let round = 1; round <= rounds; round++) {
    // Interleaved: one round of each transport in turn, so load changes fall on both alike.
    for (const kind of kinds) {
      try {
        rows.push(...(await runRounds({ transport: kind, rounds: 1, updateSec, deadAfter, progress }, [round])));
      } catch (error) {
        progress((error as Error).message);
      }
    }
  }
  const lines = ['transport\tround\tkill_to_resume_ms\tstall_ms\twinner', ...rows.map((r) => `${r.transport}\t${r.round}\t${r.killToResumeMs.toFixed(1)}\t${r.stallMs.toFixed(1)}\t${r.winner}`)];
  for (const kind of kinds) {
    const mine = rows.filter((r) => r.transport === kind);
    if (mine.length === 0) continue;
    const s = spread(mine.map((r) => r.killToResumeMs));
    lines.push(`# ${kind}: kill-to-resume median ${s.median.toFixed(0)} ms (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)}) over ${mine.length} of ${rounds} rounds; update-sec ${updateSec}, dead-after ${deadAfter}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return rows.length === rounds * kinds.length ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`kill-to-resume: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}
