// The table of a support group's connections (paper §3.2, §4.1): what this wedge heard in its
// peers' announcements. Rules:
//  - a connection is keyed by its client endpoint (address, port, UDP port);
//  - for each connection the highest takeover number wins; an equal number refreshes the entry
//    (the latest announcement replaces it), a lower one is stale and ignored;
//  - an entry expires CACHE_TIMEOUT after it was last announced, unless its announcer has fallen
//    silent (the channel spares it until the announcer's death is reported, expire());
//  - a DroppedConnection removes the entry if its takeover number is not higher than the drop's,
//    and for CACHE_TIMEOUT keeps a tombstone so a late copy of the old announcement cannot revive it;
//  - for a connection this wedge serves (setLocal), a higher number heard from a peer means it was
//    taken over: a 'superseded' event tells the wedge to stop serving and announcing it.
import type { DroppedConnection, EndpointState, TransportState } from '../transport-abstraction/state-types.js';
import type { Instant } from '../transport-abstraction/transport.js';

/** The table key of a connection: its client endpoint. */
export function connectionKey(client: EndpointState): string {
  return `${client.address}|${client.port}|${client.udpPort}`;
}

/** One connection a peer announced. */
export interface TableEntry {
  readonly key: string;
  readonly state: TransportState;
  /** The member whose announcement carried it. */
  readonly announcer: string;
  readonly receivedAt: Instant;
  readonly expiresAt: Instant;
  /**
   * The stream's recent delivery rate (bytes acknowledged per ms between the states of one owner
   * and number, averaged over about RATE_TAU_MS): where a taker predicts the client stands
   * (blind-span.ts). Undefined until two such states were heard.
   */
  readonly rate?: number;
  /** The state the next rate sample counts from (at least RATE_SAMPLE_MS later). */
  readonly rateBase?: { readonly streamBytesAcked: number; readonly at: Instant };
}

/** The time constant of TableEntry.rate's moving average (an acknowledged point moves in jumps during loss recovery). */
export const RATE_TAU_MS = 500;
/** The shortest time a rate sample spans (states announced a few ms apart say nothing of the rate). */
export const RATE_SAMPLE_MS = 100;

/** A connection this wedge serves was taken over by a higher takeover number. */
export interface Superseded {
  readonly key: string;
  readonly takeoverNumber: number;
  /** The owner named in the announcement that carried the higher number. */
  readonly by: string;
}

/** Counters of what apply() did. */
export interface TableCounters {
  inserted: number;
  refreshed: number;
  stale: number;
  dropped: number;
  expired: number;
}

/** The soft-state table of one wedge. */
export class SoftStateTable {
  private readonly entries = new Map<string, TableEntry>();
  private readonly tombstones = new Map<string, { takeoverNumber: number; until: Instant }>();
  /** Connections this wedge serves: key -> its takeover number. */
  private readonly local = new Map<string, number>();
  /**
   * Every expiry set (entries and tombstones) in the order set, so the earliest is found without
   * walking the table at every timeout (a member's table holds a whole group's connections). An
   * item whose entry or tombstone was since refreshed, dropped or expired is skipped. Times only
   * grow in practice; a time set below the last one sorts the items once more.
   */
  private expiries: Array<{ readonly at: Instant; readonly key: string; readonly tomb: boolean }> = [];
  private expiriesHead = 0;
  private expiriesSorted = true;
  readonly counters: TableCounters = { inserted: 0, refreshed: 0, stale: 0, dropped: 0, expired: 0 };

  constructor(readonly cacheTimeoutMs: number) {}

  /** Number of entries. */
  get size(): number {
    return this.entries.size;
  }

  /** The entry of one connection. */
  get(key: string): TableEntry | undefined {
    return this.entries.get(key);
  }

  /** Every entry. */
  all(): TableEntry[] {
    return [...this.entries.values()];
  }

  /** The takeover number a drop of this connection was announced with (its tombstone), if one is kept. */
  droppedAt(key: string): number | undefined {
    return this.tombstones.get(key)?.takeoverNumber;
  }

  /** The connections announced as served by `ownerId` (what to take over when it dies). */
  ownedBy(ownerId: string): TableEntry[] {
    return this.all().filter((e) => e.state.ownerId === ownerId);
  }

  /** Declares which connections this wedge serves (replacing the previous set); a peer's older entry for one is removed. */
  setLocal(states: readonly TransportState[]): void {
    this.setServed(new Map(states.map((s) => [connectionKey(s.client), s.takeoverNumber])));
  }

  /** setLocal by key: each connection this wedge serves and its takeover number. */
  setServed(served: ReadonlyMap<string, number>): void {
    this.local.clear();
    for (const [key, takeoverNumber] of served) {
      this.local.set(key, takeoverNumber);
      const e = this.entries.get(key);
      if (e !== undefined && e.state.takeoverNumber < takeoverNumber) this.entries.delete(key);
    }
  }

  /** Applies one authenticated announcement's connections and drops; returns superseded local connections. */
  apply(now: Instant, announcer: string, connections: readonly TransportState[], dropped: readonly DroppedConnection[]): Superseded[] {
    const superseded: Superseded[] = [];
    for (const d of dropped) this.drop(now, d);
    for (const state of connections) {
      const key = connectionKey(state.client);
      const mine = this.local.get(key);
      if (mine !== undefined) {
        if (state.takeoverNumber > mine) {
          this.local.delete(key);
          superseded.push({ key, takeoverNumber: state.takeoverNumber, by: state.ownerId });
        } else {
          this.counters.stale++;
          continue;
        }
      }
      const tomb = this.tombstones.get(key);
      if (tomb !== undefined && state.takeoverNumber <= tomb.takeoverNumber) {
        this.counters.stale++;
        continue;
      }
      const old = this.entries.get(key);
      if (old !== undefined && state.takeoverNumber < old.state.takeoverNumber) {
        this.counters.stale++;
        continue;
      }
      if (old === undefined) this.counters.inserted++;
      else this.counters.refreshed++;
      const same = old !== undefined && old.state.takeoverNumber === state.takeoverNumber && old.state.ownerId === state.ownerId;
      this.entries.set(key, { key, state, announcer, receivedAt: now, expiresAt: now + this.cacheTimeoutMs, ...movedRate(same ? old : undefined, state, now) });
      this.expiresAt(now + this.cacheTimeoutMs, key, false);
    }
    return superseded;
  }

  /**
   * Removes entries and tombstones whose time is up; returns the expired entries' keys. `spare`
   * may keep an entry past its time, until the instant it names (its announcer fell silent and
   * may be dead: its connections must still be here when its death is reported).
   */
  expire(now: Instant, spare?: (announcer: string) => Instant | undefined): string[] {
    const gone: string[] = [];
    const items = this.sortedExpiries();
    for (; this.expiriesHead < items.length && items[this.expiriesHead]!.at <= now; this.expiriesHead++) {
      const x = items[this.expiriesHead]!;
      if (!this.stands(x)) continue;
      if (x.tomb) {
        this.tombstones.delete(x.key);
        continue;
      }
      const e = this.entries.get(x.key)!;
      const until = spare?.(e.announcer);
      if (until !== undefined && until > now) {
        this.entries.set(x.key, { ...e, expiresAt: until });
        this.expiresAt(until, x.key, false);
        continue;
      }
      this.entries.delete(x.key);
      gone.push(x.key);
    }
    this.counters.expired += gone.length;
    return gone;
  }

  /** The earliest expiry of an entry or tombstone. */
  nextExpiry(): Instant | undefined {
    const items = this.sortedExpiries();
    while (this.expiriesHead < items.length && !this.stands(items[this.expiriesHead]!)) this.expiriesHead++;
    return items[this.expiriesHead]?.at;
  }

  /** Forgets a connection locally (this wedge took it over or saw it end); same rule as a received drop. */
  drop(now: Instant, d: DroppedConnection): void {
    const key = connectionKey(d.client);
    const e = this.entries.get(key);
    if (e !== undefined && e.state.takeoverNumber <= d.takeoverNumber) {
      this.entries.delete(key);
      this.counters.dropped++;
    }
    const tomb = this.tombstones.get(key);
    if (tomb === undefined || tomb.takeoverNumber <= d.takeoverNumber) {
      this.tombstones.set(key, { takeoverNumber: d.takeoverNumber, until: now + this.cacheTimeoutMs });
      this.expiresAt(now + this.cacheTimeoutMs, key, true);
    }
  }

  private expiresAt(at: Instant, key: string, tomb: boolean): void {
    const last = this.expiries[this.expiries.length - 1];
    if (last !== undefined && at < last.at) this.expiriesSorted = false;
    this.expiries.push({ at, key, tomb });
  }

  /** The expiry set last for this entry or tombstone is this item's. */
  private stands(x: { readonly at: Instant; readonly key: string; readonly tomb: boolean }): boolean {
    return x.tomb ? this.tombstones.get(x.key)?.until === x.at : this.entries.get(x.key)?.expiresAt === x.at;
  }

  /** The items from the head on, in time order (dropping those passed). */
  private sortedExpiries(): ReadonlyArray<{ readonly at: Instant; readonly key: string; readonly tomb: boolean }> {
    if (!this.expiriesSorted || (this.expiriesHead > 1024 && this.expiriesHead * 2 > this.expiries.length)) {
      this.expiries = this.expiries.slice(this.expiriesHead);
      if (!this.expiriesSorted) this.expiries.sort((a, b) => a.at - b.at);
      this.expiriesHead = 0;
      this.expiriesSorted = true;
    }
    return this.expiries;
  }
}

/** TableEntry.rate and rateBase after `state` follows `old` (the same owner and number; undefined: none) at `now`. */
function movedRate(old: TableEntry | undefined, state: TransportState, now: Instant): Pick<TableEntry, 'rate' | 'rateBase'> {
  const here = { rateBase: { streamBytesAcked: state.streamBytesAcked, at: now } };
  if (old === undefined) return here;
  const base = old.rateBase ?? { streamBytesAcked: old.state.streamBytesAcked, at: old.receivedAt };
  const dt = now - base.at;
  const bytes = state.streamBytesAcked - base.streamBytesAcked;
  const kept = { ...(old.rate !== undefined ? { rate: old.rate } : {}), rateBase: base };
  if (dt < RATE_SAMPLE_MS || bytes < 0) return kept;
  const sample = bytes / dt;
  return { ...here, rate: old.rate === undefined ? sample : old.rate + Math.min(1, dt / RATE_TAU_MS) * (sample - old.rate) };
}
