// Sealing of soft-state datagrams (announcements, acknowledgements, monitor commands) with
// AES-256-GCM from node:crypto. Layout of a sealed datagram (all integers big-endian):
//
//   0   2  magic "BW"
//   2   1  version 1
//   3   1  kind: 1 announcement, 2 acknowledgement, 3 monitor command
//   4   8  epoch: random, drawn once per Sealer (a sender's run), < 2^53
//   12  8  sequence: 1, 2, 3, ... per Sealer, never repeated
//   20  1  L = sender id length (1..255)
//   21  L  sender id, UTF-8
//   21+L .. ciphertext of the protobuf message
//   -16 16 GCM tag
//
// Nonce rule: the AEAD key is per sender and epoch,
//   K = HMAC-SHA256(group key, "baton seal v1" 0x00 sender-id 0x00 epoch(8 bytes)),
// and the 96-bit nonce is 0x00000000 || sequence(8 bytes). A Sealer never reuses a sequence number,
// and a restarted sender draws a new epoch and therefore uses a new key, so no (key, nonce) pair
// is ever used twice (short of a 2^-52 epoch collision; production epochs come from cryptoRandom).
// The header (bytes 0..21+L) is the additional authenticated data.
//
// Replay rule (Opener): per sender, the current epoch, the highest sequence accepted in it and a
// 64-wide window below it. A datagram is accepted once: its sequence is above the highest, or
// inside the window and not yet seen. A new epoch is a restart: it is accepted and the old epoch is
// retired; datagrams of the last 32 retired epochs are replays. Only authenticated datagrams move
// this state, so a forgery cannot shift the window.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import type { RandomSource } from '../transport-abstraction/random.js';

/** What a sealed datagram carries. */
export type SealKind = 'announcement' | 'ack' | 'command';

const KIND_CODE: Record<SealKind, number> = { announcement: 1, ack: 2, command: 3 };
const KIND_NAME: Record<number, SealKind> = { 1: 'announcement', 2: 'ack', 3: 'command' };

/** The kind a sealed datagram's header names (not authenticated: for counting only), or undefined. */
export function sealedKind(bytes: Uint8Array): SealKind | undefined {
  return bytes.length > 3 && bytes[0] === 0x42 && bytes[1] === 0x57 ? KIND_NAME[bytes[3]!] : undefined;
}
const MAGIC0 = 0x42; // 'B'
const MAGIC1 = 0x57; // 'W'
const VERSION = 1;
const TAG = 16;
const WINDOW = 64;
const RETIRED = 32;

/** Why a sealed datagram was refused (counted by reason). */
export type OpenDropReason = 'malformed' | 'forged' | 'replay';

/** An opened datagram. */
export interface Opened {
  readonly kind: SealKind;
  readonly senderId: string;
  readonly epoch: number;
  readonly sequence: number;
  readonly plaintext: Uint8Array;
}

function subkey(key: Uint8Array, senderId: string, epoch: number): Buffer {
  const e = Buffer.alloc(8);
  e.writeBigUInt64BE(BigInt(epoch));
  return createHmac('sha256', key).update('baton seal v1\0').update(senderId, 'utf8').update('\0').update(e).digest();
}

function nonce(sequence: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(sequence), 4);
  return n;
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length < 16) throw new LocalUsageError('seal: the group key must be at least 16 bytes');
}

/** Seals one sender's datagrams: one epoch, increasing sequence numbers. */
export class Sealer {
  /** This run's epoch (random, < 2^53). */
  readonly epoch: number;
  private sequence = 0;
  private readonly key: Buffer;
  private readonly id: Buffer;

  constructor(
    groupKey: Uint8Array,
    readonly senderId: string,
    random: RandomSource,
  ) {
    checkKey(groupKey);
    this.id = Buffer.from(senderId, 'utf8');
    if (this.id.length < 1 || this.id.length > 255) throw new LocalUsageError('seal: sender id must be 1..255 bytes of UTF-8');
    this.epoch = (random.uint32() >>> 11) * 2 ** 32 + random.uint32();
    this.key = subkey(groupKey, senderId, this.epoch);
  }

  /** The sequence number the last seal() used (0 before the first). */
  get lastSequence(): number {
    return this.sequence;
  }

  /** Seals `plaintext` as `kind` with the next sequence number. */
  seal(kind: SealKind, plaintext: Uint8Array): { readonly bytes: Uint8Array; readonly sequence: number } {
    if (this.sequence >= Number.MAX_SAFE_INTEGER) throw new LocalUsageError('seal: sequence space exhausted');
    const sequence = ++this.sequence;
    const header = Buffer.alloc(21 + this.id.length);
    header[0] = MAGIC0;
    header[1] = MAGIC1;
    header[2] = VERSION;
    header[3] = KIND_CODE[kind];
    header.writeBigUInt64BE(BigInt(this.epoch), 4);
    header.writeBigUInt64BE(BigInt(sequence), 12);
    header[20] = this.id.length;
    this.id.copy(header, 21);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce(sequence));
    cipher.setAAD(header);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { bytes: new Uint8Array(Buffer.concat([header, body, cipher.getAuthTag()])), sequence };
  }
}

interface ReplayState {
  epoch: number;
  highest: number;
  /** Sequences accepted in (highest - WINDOW, highest]. */
  seen: Set<number>;
  retired: number[];
}

/** Opens datagrams sealed by any holder of the key, refusing forgeries and replays. */
export class Opener {
  private readonly replay = new Map<string, ReplayState>();
  private readonly subkeys = new Map<string, Buffer>();
  /** Refused datagrams by reason. */
  readonly dropped = new Map<OpenDropReason, number>();

  /** `keyFor(kind)`: the key for datagrams of that kind (group key, or the monitor key for commands). */
  constructor(private readonly keyFor: (kind: SealKind) => Uint8Array) {}

  /** Authenticates and decrypts; undefined (and counted) for malformed, forged or replayed bytes. */
  open(bytes: Uint8Array): Opened | undefined {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (b.length < 21 + 1 + TAG || b[0] !== MAGIC0 || b[1] !== MAGIC1 || b[2] !== VERSION) return this.drop('malformed');
    const kind = KIND_NAME[b[3]!];
    const idLength = b[20]!;
    if (kind === undefined || idLength === 0 || b.length < 21 + idLength + TAG) return this.drop('malformed');
    const epochBig = b.readBigUInt64BE(4);
    const sequenceBig = b.readBigUInt64BE(12);
    if (epochBig > BigInt(Number.MAX_SAFE_INTEGER) || sequenceBig === 0n || sequenceBig > BigInt(Number.MAX_SAFE_INTEGER)) return this.drop('malformed');
    const epoch = Number(epochBig);
    const sequence = Number(sequenceBig);
    let senderId: string;
    try {
      senderId = new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(21, 21 + idLength));
    } catch {
      return this.drop('malformed');
    }
    const headerEnd = 21 + idLength;
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.subkey(kind, senderId, epoch), nonce(sequence));
      decipher.setAAD(b.subarray(0, headerEnd));
      decipher.setAuthTag(b.subarray(b.length - TAG));
      plaintext = Buffer.concat([decipher.update(b.subarray(headerEnd, b.length - TAG)), decipher.final()]);
    } catch {
      return this.drop('forged');
    }
    if (!this.accept(`${kind === 'command' ? 'c' : 'g'}:${senderId}`, epoch, sequence)) return this.drop('replay');
    return { kind, senderId, epoch, sequence, plaintext: new Uint8Array(plaintext) };
  }

  private subkey(kind: SealKind, senderId: string, epoch: number): Buffer {
    const key = this.keyFor(kind);
    checkKey(key);
    const name = `${kind === 'command' ? 'c' : 'g'}:${senderId}:${epoch}`;
    let k = this.subkeys.get(name);
    if (k === undefined) {
      if (this.subkeys.size > 4096) this.subkeys.clear();
      k = subkey(key, senderId, epoch);
      this.subkeys.set(name, k);
    }
    return k;
  }

  /** The replay rule (file comment); records the sequence when accepted. */
  private accept(sender: string, epoch: number, sequence: number): boolean {
    const s = this.replay.get(sender);
    if (s === undefined || s.epoch !== epoch) {
      if (s !== undefined) {
        if (s.retired.includes(epoch)) return false;
        s.retired.push(s.epoch);
        if (s.retired.length > RETIRED) s.retired.shift();
        s.epoch = epoch;
        s.highest = sequence;
        s.seen = new Set([sequence]);
      } else {
        this.replay.set(sender, { epoch, highest: sequence, seen: new Set([sequence]), retired: [] });
      }
      return true;
    }
    if (sequence > s.highest) {
      s.highest = sequence;
      s.seen.add(sequence);
      for (const x of s.seen) if (x <= sequence - WINDOW) s.seen.delete(x);
      return true;
    }
    if (sequence <= s.highest - WINDOW || s.seen.has(sequence)) return false;
    s.seen.add(sequence);
    return true;
  }

  private drop(reason: OpenDropReason): undefined {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    return undefined;
  }
}
