// The torture campaign: per seed and transport, play a drawn scenario (scenario.ts) on the wedge
// pool in the simulator (world.ts) and judge every download (verdict.ts). A run is bounded in
// virtual time: HORIZON_MS after the last scripted event every connection must have ended, or the
// run counts as hung. A core that throws (the simulator records it) also ends the run as hung.
import type { TransportKind } from '../../src/transport-abstraction/transport.js';
import { drawScenario, type Fault, type Scenario } from './scenario.js';
import { judge, type DownloadVerdict } from './verdict.js';
import { TortureWorld, type TortureClient } from './world.js';

/** Virtual time after the last scripted event within which every connection must end. */
export const HORIZON_MS = 600_000;

export interface RunResult {
  readonly kind: TransportKind;
  readonly seed: number;
  readonly downloads: readonly DownloadVerdict[];
  /** Why the run did not finish (the bound passed, or a core threw); undefined: it finished. */
  readonly hung?: string;
  /** Downloads that lost a few hundred bytes right after an SCTP takeover: the known open-TSN-run bug. */
  readonly knownSctpTruncations: number;
  readonly virtualMs: number;
  /** What happened, for a failing run's report: the faults played and the takeovers. */
  readonly story: readonly string[];
}

export function failed(r: RunResult): boolean {
  return r.hung !== undefined || r.downloads.some((d) => d.outcome === 'lost' || d.outcome === 'duplicated');
}

/** The command line that replays one run. */
export function replayCommand(r: Pick<RunResult, 'kind' | 'seed'>): string {
  return `baton torture --seeds 1 --seed ${r.seed} --transport ${r.kind}`;
}

/** The largest skip the known SCTP truncation makes: less than one full chunk. */
const SHORT_CHUNK_LIMIT = 1500;

/** Looking into one run (debugging a seed): `start` sees the world before anything runs, `end` after the run, before its wedges close. */
export interface RunHooks {
  readonly start?: (world: TortureWorld) => void;
  readonly end?: (world: TortureWorld) => void;
}

export async function runSeed(kind: TransportKind, seed: number, hooks: RunHooks = {}): Promise<RunResult> {
  const scenario = drawScenario(seed);
  const world = new TortureWorld({ kind, seed, wedges: scenario.wedges, groups: scenario.groups, rate: scenario.rate, updateMs: scenario.updateMs }, scenario.objects);
  for (const [a, b, config] of scenario.links) world.link(a, b, config);
  const story: string[] = [];
  hooks.start?.(world);
  for (const id of scenario.initial) await world.start(id);
  const clients: Array<{ client: TortureClient; expected: Uint8Array[] }> = [];
  type Action = { at: number; label: string; run: () => Promise<void> | void };
  const actions: Action[] = [
    ...scenario.clients.map((plan) => ({
      at: plan.at,
      label: `a client connects to ${plan.wedge} for ${plan.paths.join(' ')}`,
      run: () => {
        const request = plan.paths.map((p, i) => `GET ${p} HTTP/1.1\r\nHost: pool\r\n${i === plan.paths.length - 1 ? 'Connection: close\r\n' : ''}\r\n`).join('');
        clients.push({ client: world.client(plan.wedge, new TextEncoder().encode(request)), expected: plan.paths.map((p) => scenario.objects.get(p)!) });
      },
    })),
    ...scenario.faults.map((f) => ({ at: f.at, label: JSON.stringify(f.fault), run: () => play(world, scenario, f.fault, story) })),
  ].sort((a, b) => a.at - b.at);
  world.onLog = (line) => {
    if (line.event === 'takeover-won' || line.event === 'resume-failed' || line.event === 'superseded') story.push(`t=${line.time.toFixed(0)} ${line.server} ${line.event} ${JSON.stringify(line.fields)}`);
  };
  const allClosed = (): boolean => clients.length === scenario.clients.length && clients.every((c) => c.client.closed);
  let hung: string | undefined;
  try {
    for (const action of actions) {
      world.net.runUntil(() => false, action.at);
      story.push(`t=${world.net.now.toFixed(0)} ${action.label}`);
      await action.run();
    }
    const limit = world.net.now + HORIZON_MS;
    if (!world.net.runUntil(allClosed, limit)) hung = `${clients.filter((c) => !c.client.closed).length} of ${clients.length} connections still open at t=${world.net.now.toFixed(0)} ms`;
  } catch (error) {
    hung = `a core threw: ${error instanceof Error ? error.message : String(error)}`;
  }
  const downloads = clients.map(({ client, expected }) => judge(client.collector.bytes(), expected, client.closed, client.error));
  clients.forEach(({ client }, i) => {
    if (!client.closed) story.push(`download ${i + 1} still open: ${client.collector.conn.stateName}, ${client.collector.received} bytes in, taken over ${client.takenOver} times`);
  });
  const knownSctpTruncations = kind === 'sctp' ? clients.filter((c, i) => c.client.takenOver > 0 && downloads[i]!.outcome === 'lost' && downloads[i]!.shift !== undefined && downloads[i]!.shift! < SHORT_CHUNK_LIMIT).length : 0;
  hooks.end?.(world);
  for (const w of world.wedges.values()) await w.close();
  return { kind, seed, downloads, ...(hung !== undefined ? { hung } : {}), knownSctpTruncations, virtualMs: world.net.now, story };

}

async function play(world: TortureWorld, scenario: Scenario, fault: Fault, story: string[]): Promise<void> {
  switch (fault.type) {
    case 'kill':
      world.kill(fault.wedge);
      return;
    case 'kill-next-taker': {
      let armed = true;
      const previous = world.onLog;
      world.onLog = (line) => {
        previous?.(line);
        if (!armed || line.event !== 'takeover-won') return;
        armed = false;
        story.push(`t=${line.time.toFixed(0)} cascade: ${line.server} dies in ${fault.delayMs} ms`);
        world.net.after(fault.delayMs, () => world.kill(line.server));
      };
      return;
    }
    case 'report':
      world.declareDead(fault.wedge);
      return;
    case 'silence': {
      const saved = scenario.links.filter(([a, b]) => a !== 'clients' && (a === fault.wedge || b === fault.wedge));
      for (const [a, b, config] of saved) world.link(a, b, { ...config, loss: 1 });
      world.net.after(fault.ms, () => {
        for (const [a, b, config] of saved) world.link(a, b, config);
      });
      return;
    }
    case 'leave':
      await world.leave(fault.wedge);
      return;
    case 'start':
      await world.start(fault.wedge);
      return;
  }
}

export interface CampaignTotals {
  seeds: number;
  runs: number;
  lost: number;
  duplicated: number;
  hung: number;
  clearErrors: number;
  whole: number;
  knownSctpTruncations: number;
  /** Clear errors by code. */
  codes: Map<string, number>;
}

export function emptyTotals(): CampaignTotals {
  return { seeds: 0, runs: 0, lost: 0, duplicated: 0, hung: 0, clearErrors: 0, whole: 0, knownSctpTruncations: 0, codes: new Map() };
}

export function addRun(t: CampaignTotals, r: RunResult): void {
  t.runs++;
  if (r.hung !== undefined) t.hung++;
  t.knownSctpTruncations += r.knownSctpTruncations;
  for (const d of r.downloads) {
    if (d.outcome === 'lost') t.lost++;
    else if (d.outcome === 'duplicated') t.duplicated++;
    else if (d.outcome === 'whole') t.whole++;
    else if (d.outcome === 'clear-error') {
      t.clearErrors++;
      t.codes.set(d.code!, (t.codes.get(d.code!) ?? 0) + 1);
    }
  }
}

/** The summary's last line, exactly as the issue asks. */
export function summaryLine(t: CampaignTotals): string {
  return `seeds ${t.seeds}, lost ${t.lost}, duplicated ${t.duplicated}, hung ${t.hung}, clear errors ${t.clearErrors}`;
}
