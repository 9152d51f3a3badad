// A tcpdump-style reading of the packets one host of the simulated network sends and receives, for
// the paper's Figure 3 (an annotated failover trace "collected at the client"). Each packet becomes
// one line: time, source > destination, and what it carries in the transport's own words —
// TCP-Migrate: flags, relative sequence range and length, ack, window, the Migrate option; SCTP:
// DATA TSN ranges, SACK cumulative TSN and gap blocks, ASCONF (add/set-primary/delete, takeover
// number), ASCONF-ACK, ABORT, HEARTBEAT... Numbers are relative, as tcpdump prints them: TCP
// sequence numbers from each side's initial sequence number (the SYN), SCTP TSNs from each side's
// initial TSN (INIT / INIT ACK), so the first data byte or chunk is 1.
//
// Only the observer's view is read (sends from it, deliveries to it: what tcpdump on that host would
// capture), through SimNetwork.onTrace. Packets that do not parse are shown as such, never thrown.
import type { UdpAddress } from '../transport-abstraction/address.js';
import { parsePacket, ChunkType, type AsconfParam, type Chunk, type Param } from '../sctp/wire/index.js';
import { parseSegment, ACK, FIN, PSH, RST, SYN, type TcpSegment } from '../tcp-migrate/wire.js';
import type { TransportKind } from '../transport-abstraction/transport.js';
import type { TraceEvent } from './trace.js';

/** What a packet is, for sorting a trace into the paper's annotations. */
export type PacketRole =
  | 'data' // carries stream data
  | 'ack' // acknowledges (TCP ACK without data, SCTP SACK)
  | 'takeover' // a takeover request: Migrate SYN (TCP), ASCONF with the takeover number (SCTP)
  | 'takeover-answer' // the client's acceptance: SYN/ACK to a Migrate SYN, ASCONF-ACK
  | 'refusal' // a reset/abort, or an ERROR
  | 'control'; // anything else (handshake, heartbeat, shutdown, ...)

export interface PacketLine {
  /** Virtual time in ms. */
  readonly time: number;
  /** 'out': sent by the observer; 'in': delivered to it. */
  readonly direction: 'in' | 'out';
  readonly from: UdpAddress;
  readonly to: UdpAddress;
  readonly role: PacketRole;
  /** Data carried: TCP relative sequence range [start, end) in bytes; SCTP relative TSNs [first, last + 1). */
  readonly dataStart?: number;
  readonly dataEnd?: number;
  /** The acknowledgement it carries: TCP relative ack number, SCTP relative cumulative TSN ack. */
  readonly ack?: number;
  /** The takeover/request number of a takeover request. */
  readonly requestNumber?: number;
  /** The packet in tcpdump's words, without time and addresses. */
  readonly text: string;
}

/** Reads one transport's packets at one host; feed it with `listener()` on SimNetwork.onTrace. */
export class TcpdumpReader {
  readonly lines: PacketLine[] = [];
  /** Initial sequence number (TCP) / initial TSN (SCTP) of each side, once seen: 'out' = the observer's. */
  private readonly base: { in?: number; out?: number } = {};

  constructor(
    readonly kind: TransportKind,
    /** The observer's IP addresses. */
    private readonly at: readonly string[],
  ) {}

  /** A SimNetwork trace listener that records what the observer sends and receives. */
  listener(): (event: TraceEvent) => void {
    const at = new Set(this.at);
    return (event) => {
      if (event.kind === 'send' && at.has(event.from.address)) this.add(event.time, 'out', event.from, event.to, event.payload);
      else if (event.kind === 'deliver' && at.has(event.to.address)) this.add(event.time, 'in', event.from, event.to, event.payload);
    };
  }

  add(time: number, direction: 'in' | 'out', from: UdpAddress, to: UdpAddress, payload: Uint8Array): PacketLine {
    const body = this.kind === 'tcp' ? this.tcp(direction, payload) : this.sctp(direction, payload);
    const line: PacketLine = { time, direction, from, to, ...body };
    this.lines.push(line);
    return line;
  }

  private relative(direction: 'in' | 'out', n: number): number {
    const base = this.base[direction];
    return base === undefined ? n : (n - base) >>> 0;
  }

  private tcp(direction: 'in' | 'out', payload: Uint8Array): Omit<PacketLine, 'time' | 'direction' | 'from' | 'to'> {
    const parsed = parseSegment(payload);
    if (!parsed.ok) return { role: 'control', text: `[malformed TCP: ${parsed.error}]` };
    const s = parsed.segment;
    const other = direction === 'in' ? 'out' : 'in';
    // The first SYN of each side fixes its base; a later (Migrate) SYN continues the same space.
    if (s.flags & SYN && this.base[direction] === undefined) this.base[direction] = s.seq;
    // A reset answering a segment without ACK (a refused Migrate SYN) has sequence number 0
    // (RFC 9293 §3.10.7.1), outside this side's space: shown as sent.
    const start = s.flags & RST && s.seq === 0 ? 0 : this.relative(direction, s.seq);
    const end = start + s.payload.length;
    const ack = s.flags & ACK ? this.relative(other, s.ack) : undefined;
    const migrate = s.options.find((o) => o.type === 'migrate');
    const text = [
      tcpFlags(s),
      ...(s.payload.length > 0 || s.flags & (SYN | FIN | RST) ? [`${start}:${end}(${s.payload.length})`] : []),
      ...(ack !== undefined ? [`ack ${ack}`] : []),
      `win ${s.window}`,
      ...(s.options.length > 0 ? [`<${s.options.map((o) => (o.type === 'sack' ? `sack ${o.blocks.map((b) => `{${this.relative(other, b.left)}:${this.relative(other, b.right)}}`).join('')}` : tcpOption(o))).join(',')}>`] : []),
    ].join(' ');
    let role: PacketRole;
    if (s.flags & RST) role = 'refusal';
    else if (s.flags & SYN && migrate !== undefined) role = 'takeover';
    else if (s.flags & SYN && s.flags & ACK && this.lines.some((l) => l.role === 'takeover' && l.direction !== direction)) role = 'takeover-answer';
    else if (s.flags & SYN) role = 'control';
    else if (s.payload.length > 0) role = 'data';
    else if (s.flags & FIN) role = 'control';
    else role = 'ack';
    return {
      role,
      text,
      ...(s.payload.length > 0 ? { dataStart: start, dataEnd: end } : {}),
      ...(ack !== undefined ? { ack } : {}),
      ...(migrate?.type === 'migrate' ? { requestNumber: migrate.requestNumber } : {}),
    };
  }

  private sctp(direction: 'in' | 'out', payload: Uint8Array): Omit<PacketLine, 'time' | 'direction' | 'from' | 'to'> {
    const parsed = parsePacket(payload);
    if (!parsed.ok) return { role: 'control', text: `[malformed SCTP: ${parsed.error.message}]` };
    const other = direction === 'in' ? 'out' : 'in';
    const parts: string[] = [];
    let role: PacketRole = 'control';
    let first: number | undefined;
    let last: number | undefined;
    let ack: number | undefined;
    let requestNumber: number | undefined;
    let dataChunks = 0;
    let dataBytes = 0;
    const rank: Record<PacketRole, number> = { control: 0, ack: 1, data: 2, refusal: 3, 'takeover-answer': 4, takeover: 5 };
    const promote = (r: PacketRole) => {
      if (rank[r] > rank[role]) role = r;
    };
    for (const chunk of parsed.packet.chunks) {
      if (chunk.type === ChunkType.INIT || chunk.type === ChunkType.INIT_ACK) {
        const init = chunk as Extract<Chunk, { type: 1 | 2 }>;
        this.base[direction] ??= (init.initialTsn - 1) >>> 0;
      }
      if (chunk.type === ChunkType.DATA) {
        const data = chunk as Extract<Chunk, { type: 0 }>;
        const tsn = this.relative(direction, data.tsn);
        first ??= tsn;
        last = tsn;
        dataChunks++;
        dataBytes += data.userData.length;
        promote('data');
        continue;
      }
      if (dataChunks > 0 && !parts.some((p) => p.startsWith('DATA'))) parts.push(dataText(first!, last!, dataChunks, dataBytes));
      parts.push(this.chunkText(chunk, other));
      if (chunk.type === ChunkType.SACK) {
        ack = this.relative(other, (chunk as Extract<Chunk, { type: 3 }>).cumulativeTsnAck);
        promote('ack');
      } else if (chunk.type === ChunkType.ASCONF) {
        const takeover = (chunk as Extract<Chunk, { type: 0xc1 }>).params.find((p) => p.kind === 'baton-takeover');
        if (takeover?.kind === 'baton-takeover') requestNumber = takeover.requestNumber;
        promote('takeover');
      } else if (chunk.type === ChunkType.ASCONF_ACK) {
        const ok = (chunk as Extract<Chunk, { type: 0x80 }>).params.every((p) => p.kind !== 'error-cause');
        promote(ok ? 'takeover-answer' : 'refusal');
      } else if (chunk.type === ChunkType.ABORT || chunk.type === ChunkType.ERROR) {
        promote('refusal');
      }
    }
    if (dataChunks > 0 && !parts.some((p) => p.startsWith('DATA'))) parts.push(dataText(first!, last!, dataChunks, dataBytes));
    return {
      role,
      text: parts.join(', '),
      ...(first !== undefined ? { dataStart: first, dataEnd: last! + 1 } : {}),
      ...(ack !== undefined ? { ack } : {}),
      ...(requestNumber !== undefined ? { requestNumber } : {}),
    };
  }

  private chunkText(chunk: Chunk, other: 'in' | 'out'): string {
    switch (chunk.type) {
      case ChunkType.SACK: {
        const c = chunk as Extract<Chunk, { type: 3 }>;
        const cum = this.relative(other, c.cumulativeTsnAck);
        const gaps = c.gapBlocks.map((g) => `${cum + g.start}-${cum + g.end}`);
        return `SACK cum ${cum}${gaps.length ? ` gaps [${gaps.join(' ')}]` : ''}${c.duplicateTsns.length ? ` dups ${c.duplicateTsns.length}` : ''} a_rwnd ${c.advertisedReceiverWindow}`;
      }
      case ChunkType.ASCONF: {
        const c = chunk as Extract<Chunk, { type: 0xc1 }>;
        return `ASCONF serial ${c.serial} [${c.params.map(asconfParam).join(', ')}]`;
      }
      case ChunkType.ASCONF_ACK: {
        const c = chunk as Extract<Chunk, { type: 0x80 }>;
        return `ASCONF-ACK serial ${c.serial}${c.params.length ? ` [${c.params.map(asconfParam).join(', ')}]` : ''}`;
      }
      case ChunkType.ABORT:
      case ChunkType.ERROR: {
        const c = chunk as Extract<Chunk, { type: 6 | 9 }>;
        const name = chunk.type === ChunkType.ABORT ? 'ABORT' : 'ERROR';
        return `${name}${c.reflectedTag ? ' (T)' : ''}${c.causes.length ? ` causes ${c.causes.map((x) => `0x${x.code.toString(16)}`).join(' ')}` : ''}`;
      }
      case ChunkType.INIT:
      case ChunkType.INIT_ACK: {
        const c = chunk as Extract<Chunk, { type: 1 | 2 }>;
        return `${chunk.type === ChunkType.INIT ? 'INIT' : 'INIT ACK'} a_rwnd ${c.advertisedReceiverWindow}`;
      }
      case ChunkType.SHUTDOWN:
        return `SHUTDOWN cum ${this.relative(other, (chunk as Extract<Chunk, { type: 7 }>).cumulativeTsnAck)}`;
      default:
        return CHUNK_NAMES[chunk.type] ?? `chunk 0x${chunk.type.toString(16)}`;
    }
  }
}

const CHUNK_NAMES: Record<number, string> = {
  [ChunkType.HEARTBEAT]: 'HEARTBEAT',
  [ChunkType.HEARTBEAT_ACK]: 'HEARTBEAT ACK',
  [ChunkType.SHUTDOWN_ACK]: 'SHUTDOWN ACK',
  [ChunkType.COOKIE_ECHO]: 'COOKIE ECHO',
  [ChunkType.COOKIE_ACK]: 'COOKIE ACK',
  [ChunkType.SHUTDOWN_COMPLETE]: 'SHUTDOWN COMPLETE',
  [ChunkType.AUTH]: 'AUTH',
  [ChunkType.FORWARD_TSN]: 'FORWARD TSN',
  [ChunkType.ECNE]: 'ECNE',
  [ChunkType.CWR]: 'CWR',
};

function dataText(first: number, last: number, chunks: number, bytes: number): string {
  return `DATA TSN ${first === last ? first : `${first}-${last}`} (${bytes}${chunks > 1 ? ` in ${chunks} chunks` : ''})`;
}

function tcpFlags(s: TcpSegment): string {
  let f = '';
  if (s.flags & SYN) f += 'S';
  if (s.flags & FIN) f += 'F';
  if (s.flags & RST) f += 'R';
  if (s.flags & PSH) f += 'P';
  return f === '' ? '.' : f;
}

function tcpOption(o: TcpSegment['options'][number]): string {
  switch (o.type) {
    case 'migrate':
      return `migrate${o.preload ? ' PRELOAD' : ''} ${o.requestNumber}${o.keepOutOfOrder ? ' KEEP' : ''}`;
    case 'migrate-permitted':
      return 'migrate-ok';
    case 'migrate-reset':
      return `migrate-reset ${RESET_REASONS[o.reason] ?? o.reason}`;
    case 'mss':
      return `mss ${o.mss}`;
    case 'sack-permitted':
      return 'sackOK';
    case 'window-scale':
      return `wscale ${o.shift}`;
    case 'timestamp':
      return 'TS';
    case 'sack':
      return `sack ${o.blocks.length}`;
    case 'edo':
      return `edo ${o.headerLength}`;
    case 'group-list':
      return `group ${o.addresses.length}`;
    case 'group-keepalive':
      return o.ack ? 'group-keepalive-ack' : 'group-keepalive';
    default:
      return `opt-${o.kind}`;
  }
}

const RESET_REASONS: Record<number, string> = { 1: 'abort', 2: 'taken-over', 3: 'refused', 4: 'bad-auth', 5: 'unknown-token' };

function asconfParam(p: AsconfParam): string {
  switch (p.kind) {
    case 'add-ip':
    case 'delete-ip':
    case 'set-primary':
      return `${p.kind} ${addressText(p.address)}`;
    case 'baton-takeover':
      return `takeover ${p.requestNumber}`;
    case 'success':
      return 'success';
    case 'error-cause':
      return `error 0x${p.causes.map((c) => c.code.toString(16)).join(',')}`;
    default:
      return `param 0x${p.type.toString(16)}`;
  }
}

function addressText(p: Param): string {
  return p.kind === 'ipv4' || p.kind === 'ipv6' ? p.address : p.kind;
}
