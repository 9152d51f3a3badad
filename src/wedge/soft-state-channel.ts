// The soft-state channel of one wedge (paper §3.2, §4.1.1) as a DatagramCore: every UPDATE_SEC
// it sends each member of its support group a sealed Announcement with the state of the
// connections it serves (given by a source callback), announces at once when asked (a new
// request), stores its peers' announcements in a SoftStateTable, confirms each announcement it
// stores with a sealed AnnouncementAck, and is the heartbeat monitor: announcements are the
// heartbeats, and a member that announced nothing for `deadAfterPeriods` update periods (plus a
// small grace for jitter) is reported dead. That is below CACHE_TIMEOUT (checked), and the entries of
// a member that fell silent are kept past it until its death is due (spareUntil: its last datagram
// may have been a one-connection announcement after its last periodic one), so a dead member's
// connections are still in the table when its death is reported. (Acknowledgements do not count as heartbeats:
// they answer our own schedule and would push the death past the expiry of the member's state.) It also receives the external monitor's sealed commands. Sans-IO: input carries
// `now`, output is polled (pollTransmit, pollTimeout, pollEvent).
import type { UdpAddress } from '../transport-abstraction/address.js';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import type { RandomSource } from '../transport-abstraction/random.js';
import {
  decodeAnnouncement,
  decodeAnnouncementAck,
  decodeMonitorCommand,
  encodeAnnouncedConnection,
  encodeAnnouncement,
  encodeAnnouncementAck,
} from '../transport-abstraction/state.js';
import type { Announcement, DroppedConnection, Load, MonitorCommand, TransportState } from '../transport-abstraction/state-types.js';
import type { DatagramCore, Instant, Transmit } from '../transport-abstraction/transport.js';
import { Opener, Sealer, type Opened } from './seal.js';
import { connectionKey, SoftStateTable } from './soft-state-table.js';

/** A member of this wedge's support group (not this wedge itself). */
export interface Member {
  readonly id: string;
  /** Where its soft-state channel listens. */
  readonly address: UdpAddress;
}

/** What this wedge serves now: the connections to announce and its load. */
export interface LocalState {
  readonly connections: readonly TransportState[];
  readonly load: Load;
  /**
   * The key (connectionKey) and takeover number of each of `connections`, if the source has them
   * without building the states: a received announcement needs only these (default: from `connections`).
   */
  readonly served?: ReadonlyMap<string, number>;
}

/** Options of a SoftStateChannel. */
export interface SoftStateChannelOptions {
  readonly selfId: string;
  /** This wedge's support group (groups.ts supportGroup). */
  readonly group: number;
  /** The group key (at least 16 bytes; 32 recommended). */
  readonly groupKey: Uint8Array;
  /** Key of the external monitor's commands; default the group key. */
  readonly monitorKey?: Uint8Array;
  /** Sender ids the monitor's commands may carry; default ["monitor"]. */
  readonly monitorIds?: readonly string[];
  readonly members: readonly Member[];
  readonly random: RandomSource;
  /** The time the channel starts (first announcement goes out at once). */
  readonly now: Instant;
  /** UPDATE_SEC in ms; default 3000. */
  readonly updateMs?: number;
  /** CACHE_TIMEOUT in ms; default 10000. */
  readonly cacheTimeoutMs?: number;
  /** A member silent for this many update periods (plus graceMs) is dead; default 3. */
  readonly deadAfterPeriods?: number;
  /** Slack after k periods for delay jitter, so k-1 lost announcements never kill; default updateMs / 10. */
  readonly graceMs?: number;
  /** Largest sealed announcement; larger state is split over several; default 60000 bytes. */
  readonly maxDatagram?: number;
  /** The connections and load to announce; default none. */
  readonly source?: () => LocalState;
  /**
   * Called for every announcement sealed (periodic or announceNow) with its sequence and the
   * connection states it carries (the very objects the source or the caller gave): an
   * 'acknowledged' event for that sequence means a member stored those states.
   */
  readonly announced?: (sequence: number, connections: readonly TransportState[]) => void;
  /**
   * An announcement is stored but not confirmed when this says so for its connections (a wedge
   * taking one of them over with an older state must not let the old owner act on a newer one).
   */
  readonly withholdAck?: (connections: readonly TransportState[]) => boolean;
}

/** What the channel reports, in order. */
export type ChannelEvent =
  /** The member announced nothing for deadAfterPeriods update periods. */
  | { readonly type: 'member-dead'; readonly id: string }
  /** A member reported dead announced again. */
  | { readonly type: 'member-alive'; readonly id: string }
  /** A connection this wedge serves was taken over (higher takeover number): stop serving it. */
  | { readonly type: 'superseded'; readonly key: string; readonly takeoverNumber: number; readonly by: string }
  /** `member` confirmed that it stored announcement `sequence`. */
  | { readonly type: 'acknowledged'; readonly member: string; readonly sequence: number }
  /** An authenticated command of the external monitor. */
  | { readonly type: 'command'; readonly from: string; readonly command: MonitorCommand };

/** Why a received datagram was ignored: the Opener's reasons plus the channel's own. */
export type ChannelDropReason = 'malformed' | 'forged' | 'replay' | 'unknown-sender' | 'decode' | 'mismatch' | 'other-group';

const CONFIRMATIONS_KEPT = 4096;
/** Room left in maxDatagram for the seal's header and tag (seal.ts). */
const SEAL_OVERHEAD = 300;

interface MemberStatus {
  readonly member: Member;
  lastHeard: Instant;
  alive: boolean;
  /** Its load in its last announcement (pool policies: least used). */
  load?: Load;
}

/** The soft-state channel; see the file comment. */
export class SoftStateChannel implements DatagramCore {
  /** The connections this wedge heard of. */
  readonly table: SoftStateTable;
  readonly updateMs: number;
  readonly cacheTimeoutMs: number;
  readonly deadAfterPeriods: number;
  /** A member is dead when nothing was announced for this long (k * updateMs + grace). */
  readonly silenceMs: number;
  private readonly selfId: string;
  private readonly group: number;
  private readonly sealer: Sealer;
  private readonly opener: Opener;
  private readonly monitorIds: ReadonlySet<string>;
  private readonly maxDatagram: number;
  private source: () => LocalState;
  private readonly announced: ((sequence: number, connections: readonly TransportState[]) => void) | undefined;
  private readonly withholdAck: ((connections: readonly TransportState[]) => boolean) | undefined;
  private readonly members = new Map<string, MemberStatus>();
  private readonly outbox: Transmit[] = [];
  private readonly events: ChannelEvent[] = [];
  private nextUpdate: Instant;
  /** Drops announced until `until`. */
  private readonly drops = new Map<string, { readonly dropped: DroppedConnection; readonly until: Instant }>();
  /** Local connections superseded by a higher takeover number: never announced again at or below it. */
  private readonly superseded = new Map<string, number>();
  /** Announcement sequence -> members that confirmed it. */
  private readonly confirmations = new Map<number, Set<string>>();
  private readonly droppedCounts = new Map<ChannelDropReason, number>();
  private ownLoad: Load | undefined;
  /**
   * Each served connection's state as last announced and its encoding: a state equal to the last
   * one (a slow stream's between its bursts) is not encoded again. Kept for the connections of the
   * last periodic announcement and those announced since.
   */
  private encoded = new Map<string, { readonly state: TransportState; readonly bytes: Uint8Array }>();

  constructor(options: SoftStateChannelOptions) {
    this.selfId = options.selfId;
    this.group = options.group;
    this.updateMs = options.updateMs ?? 3000;
    this.cacheTimeoutMs = options.cacheTimeoutMs ?? 10_000;
    this.deadAfterPeriods = options.deadAfterPeriods ?? 3;
    this.maxDatagram = options.maxDatagram ?? 60_000;
    if (!(this.updateMs > 0) || !(this.cacheTimeoutMs > 0) || !(this.deadAfterPeriods >= 1)) {
      throw new LocalUsageError('soft state: updateMs, cacheTimeoutMs must be > 0 and deadAfterPeriods >= 1');
    }
    this.silenceMs = this.deadAfterPeriods * this.updateMs + (options.graceMs ?? this.updateMs / 10);
    if (this.silenceMs >= this.cacheTimeoutMs) {
      throw new LocalUsageError('soft state: deadAfterPeriods * updateMs + graceMs must be below cacheTimeoutMs, or a dead member\'s state expires before its death is reported');
    }
    this.sealer = new Sealer(options.groupKey, options.selfId, options.random);
    const monitorKey = options.monitorKey ?? options.groupKey;
    this.opener = new Opener((kind) => (kind === 'command' ? monitorKey : options.groupKey));
    this.monitorIds = new Set(options.monitorIds ?? ['monitor']);
    this.announced = options.announced;
    this.withholdAck = options.withholdAck;
    this.source = options.source ?? (() => ({ connections: [], load: { hostedConnections: 0, outstandingOffers: 0 } }));
    this.table = new SoftStateTable(this.cacheTimeoutMs);
    this.nextUpdate = options.now;
    this.setMembers(options.now, options.members);
  }

  /** This run's sealing epoch (acknowledgements name it). */
  get epoch(): number {
    return this.sealer.epoch;
  }

  /** Datagrams ignored, by reason. */
  get dropped(): ReadonlyMap<ChannelDropReason, number> {
    const all = new Map<ChannelDropReason, number>(this.opener.dropped);
    for (const [k, v] of this.droppedCounts) all.set(k, (all.get(k) ?? 0) + v);
    return all;
  }

  /** Replaces the callback that says what this wedge serves. */
  setSource(source: () => LocalState): void {
    this.source = source;
  }

  /** Replaces the group's members; a new member starts alive, heard `now`. */
  setMembers(now: Instant, members: readonly Member[]): void {
    const old = new Map(this.members);
    this.members.clear();
    for (const m of members) {
      if (m.id === this.selfId) continue;
      const known = old.get(m.id);
      this.members.set(m.id, known ? { member: m, lastHeard: known.lastHeard, alive: known.alive } : { member: m, lastHeard: now, alive: true });
    }
  }

  /** The load `id` last announced (this wedge's own: the load it last announced); undefined: none heard. */
  loadOf(id: string): Load | undefined {
    return id === this.selfId ? this.ownLoad : this.members.get(id)?.load;
  }

  /** Whether `id` is a member currently considered alive (undefined: not a member). */
  isAlive(id: string): boolean | undefined {
    return this.members.get(id)?.alive;
  }

  /**
   * Announces now, out of turn (a new request, a takeover): `connections` (default: everything the
   * source reports). Returns the sequence numbers used; acknowledgements name them.
   */
  announceNow(now: Instant, connections?: readonly TransportState[]): number[] {
    return this.announce(now, connections);
  }

  /** Announces that this wedge no longer serves a connection (in every announcement for CACHE_TIMEOUT). */
  dropConnection(now: Instant, dropped: DroppedConnection): void {
    this.drops.set(connectionKey(dropped.client), { dropped, until: now + this.cacheTimeoutMs });
    this.table.drop(now, dropped);
  }

  /** The members that confirmed announcement `sequence`. */
  confirmedBy(sequence: number): string[] {
    return [...(this.confirmations.get(sequence) ?? [])];
  }

  /** Whether at least one member confirmed announcement `sequence`. */
  isConfirmed(sequence: number): boolean {
    return (this.confirmations.get(sequence)?.size ?? 0) > 0;
  }

  /** The next event, or undefined. */
  pollEvent(): ChannelEvent | undefined {
    return this.events.shift();
  }

  /** The next sealed datagram to send, or undefined. */
  pollTransmit(_now: Instant): Transmit | undefined {
    return this.outbox.shift();
  }

  /** The earliest of: next update, a member's death deadline, a table expiry. */
  pollTimeout(): Instant | undefined {
    let next = this.nextUpdate;
    const silence = this.silenceMs;
    for (const s of this.members.values()) if (s.alive && s.lastHeard + silence < next) next = s.lastHeard + silence;
    const expiry = this.table.nextExpiry();
    if (expiry !== undefined && expiry < next) next = expiry;
    return next;
  }

  /** Declares silent members dead, expires state, and announces when the update period is due. */
  handleTimeout(now: Instant): void {
    const silence = this.silenceMs;
    const died = new Set<string>();
    for (const [id, s] of this.members) {
      if (s.alive && now >= s.lastHeard + silence) {
        s.alive = false;
        died.add(id);
        this.events.push({ type: 'member-dead', id });
      }
    }
    this.table.expire(now, (announcer) => this.spareUntil(now, announcer, died));
    for (const [key, d] of this.drops) if (d.until <= now) this.drops.delete(key);
    if (now >= this.nextUpdate) {
      this.announce(now, undefined);
      this.nextUpdate += this.updateMs;
      if (this.nextUpdate <= now) this.nextUpdate = now + this.updateMs;
    }
  }

  /**
   * How long the entries of `announcer` outlive their CACHE_TIMEOUT: a member that missed its
   * update slot (silent for more than an update period and the grace) may be dead, and its last
   * datagram may have been a one-connection announcement up to a period after its last periodic
   * one, so its death comes up to silenceMs + updateMs after that, later than CACHE_TIMEOUT:
   * its entries stay until a period after its death is due (the wedge reads them at the report).
   */
  private spareUntil(now: Instant, announcer: string, died: ReadonlySet<string>): Instant | undefined {
    if (died.has(announcer)) return now + this.updateMs;
    const s = this.members.get(announcer);
    if (s === undefined || !s.alive || now - s.lastHeard <= this.silenceMs - (this.deadAfterPeriods - 1) * this.updateMs) return undefined;
    return s.lastHeard + this.silenceMs + this.updateMs;
  }

  /** Opens a sealed datagram (announcement, acknowledgement or command); anything else is counted and dropped. */
  handleDatagram(now: Instant, _from: UdpAddress, bytes: Uint8Array): void {
    const opened = this.opener.open(bytes);
    if (opened === undefined) return;
    if (opened.kind === 'command') {
      if (!this.monitorIds.has(opened.senderId)) return this.count('unknown-sender');
      let command: MonitorCommand;
      try {
        command = decodeMonitorCommand(opened.plaintext);
      } catch {
        return this.count('decode');
      }
      if (command.senderId !== opened.senderId) return this.count('mismatch');
      this.events.push({ type: 'command', from: opened.senderId, command });
      return;
    }
    const status = this.members.get(opened.senderId);
    if (status === undefined) return this.count('unknown-sender');
    if (opened.kind === 'announcement') this.receiveAnnouncement(now, opened, status);
    else this.receiveAck(opened);
  }

  // ---- internals ----

  private heard(now: Instant, status: MemberStatus): void {
    status.lastHeard = now;
    if (!status.alive) {
      status.alive = true;
      this.events.push({ type: 'member-alive', id: status.member.id });
    }
  }

  private receiveAnnouncement(now: Instant, opened: Opened, status: MemberStatus): void {
    let a: Announcement;
    try {
      a = decodeAnnouncement(opened.plaintext);
    } catch {
      return this.count('decode');
    }
    if (a.senderId !== opened.senderId || a.sequence !== opened.sequence) return this.count('mismatch');
    if (a.supportGroup !== this.group) return this.count('other-group');
    this.heard(now, status);
    status.load = a.load;
    this.table.setServed(this.localServed());
    for (const s of this.table.apply(now, a.senderId, a.connections, a.dropped)) {
      this.superseded.set(s.key, s.takeoverNumber);
      this.events.push({ type: 'superseded', ...s });
    }
    if (this.withholdAck?.(a.connections) === true) return;
    const ack = encodeAnnouncementAck({ senderId: this.selfId, announcerId: a.senderId, epoch: opened.epoch, sequence: opened.sequence });
    this.outbox.push({ destination: status.member.address, payload: this.sealer.seal('ack', ack).bytes });
  }

  private receiveAck(opened: Opened): void {
    let ack;
    try {
      ack = decodeAnnouncementAck(opened.plaintext);
    } catch {
      return this.count('decode');
    }
    if (ack.senderId !== opened.senderId) return this.count('mismatch');
    if (ack.announcerId !== this.selfId || ack.epoch !== this.sealer.epoch) return; // for another run of ours: a heartbeat only
    const set = this.confirmations.get(ack.sequence);
    if (set === undefined || set.has(ack.senderId)) return;
    set.add(ack.senderId);
    this.events.push({ type: 'acknowledged', member: ack.senderId, sequence: ack.sequence });
  }

  /** The source's connections minus those superseded (forgetting supersessions the source dropped). */
  private localConnections(): TransportState[] {
    const all = this.source().connections;
    const reported = new Set<string>();
    const out: TransportState[] = [];
    for (const c of all) {
      const key = connectionKey(c.client);
      reported.add(key);
      const n = this.superseded.get(key);
      if (n === undefined || c.takeoverNumber > n) out.push(c);
    }
    for (const key of this.superseded.keys()) if (!reported.has(key)) this.superseded.delete(key);
    return out;
  }

  /** localConnections by key, from the source's `served` when it has it (no state built). */
  private localServed(): Map<string, number> {
    const local = this.source();
    const served = local.served;
    if (served === undefined) return new Map(this.localConnections().map((c) => [connectionKey(c.client), c.takeoverNumber]));
    const out = new Map<string, number>();
    for (const [key, takeoverNumber] of served) {
      const n = this.superseded.get(key);
      if (n === undefined || takeoverNumber > n) out.set(key, takeoverNumber);
    }
    for (const key of this.superseded.keys()) if (!served.has(key)) this.superseded.delete(key);
    return out;
  }

  private announce(now: Instant, only: readonly TransportState[] | undefined): number[] {
    const local = this.source();
    const connections = only ?? this.localConnections();
    if (only === undefined) this.table.setLocal(connections);
    const dropped = [...this.drops.values()].filter((d) => d.until > now).map((d) => d.dropped);
    const sequences: number[] = [];
    this.ownLoad = local.load;
    this.sealParts(connections, dropped, local.load, sequences, only === undefined);
    return sequences;
  }

  /**
   * Seals `connections` into as few announcements as fit maxDatagram, sending each to every member.
   * Each state is encoded once (encodeAnnouncedConnection) and the parts are cut from the encoded
   * states: an announcement is its other fields followed by its connections' bytes.
   */
  private sealParts(connections: readonly TransportState[], dropped: readonly DroppedConnection[], load: Load, sequences: number[], periodic: boolean): void {
    const encoded = this.encodeAll(connections, periodic);
    let first = 0;
    do {
      const head = encodeAnnouncement({ senderId: this.selfId, supportGroup: this.group, sequence: this.sealer.lastSequence + 1, load, connections: [], dropped: first === 0 ? [...dropped] : [] });
      let size = head.length;
      let end = first;
      while (end < encoded.length && (end === first || size + encoded[end]!.length + SEAL_OVERHEAD <= this.maxDatagram)) size += encoded[end++]!.length;
      const plaintext = new Uint8Array(size);
      plaintext.set(head, 0);
      for (let i = first, at = head.length; i < end; at += encoded[i]!.length, i++) plaintext.set(encoded[i]!, at);
      const sealed = this.sealer.seal('announcement', plaintext);
      sequences.push(sealed.sequence);
      this.confirmations.set(sealed.sequence, new Set());
      this.confirmations.delete(sealed.sequence - CONFIRMATIONS_KEPT);
      this.announced?.(sealed.sequence, first === 0 && end === connections.length ? connections : connections.slice(first, end));
      for (const s of this.members.values()) this.outbox.push({ destination: s.member.address, payload: new Uint8Array(sealed.bytes) });
      first = end;
    } while (first < encoded.length);
  }

  /** Each state's encoding, reused when the state equals the one last announced; a periodic announcement forgets the rest. */
  private encodeAll(connections: readonly TransportState[], periodic: boolean): Uint8Array[] {
    const kept = periodic ? new Map<string, { readonly state: TransportState; readonly bytes: Uint8Array }>() : this.encoded;
    const out = connections.map((state) => {
      const key = connectionKey(state.client);
      const last = this.encoded.get(key);
      const bytes = last !== undefined && sameValue(last.state, state) ? last.bytes : encodeAnnouncedConnection(state);
      kept.set(key, { state, bytes });
      return bytes;
    });
    this.encoded = kept;
    return out;
  }

  private count(reason: ChannelDropReason): void {
    this.droppedCounts.set(reason, (this.droppedCounts.get(reason) ?? 0) + 1);
  }
}

/** Whether two plain values (a TransportState and its parts) are equal field by field: equal ones encode to equal bytes. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let fields = 0;
  for (const k in x) {
    fields++;
    if (!sameValue(x[k], y[k])) return false;
  }
  for (const _ in y) fields--;
  return fields === 0;
}
