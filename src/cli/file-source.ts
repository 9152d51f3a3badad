// `baton cat --send-file`: the file as a StreamSource for the library's StreamSender. Reads are
// asynchronous (the source answers NOT_YET while one is under way and calls `ready` when it
// lands, as the wedge's HTTP content does), and `--rate` paces the stream the same way: a source
// ahead of its budget answers NOT_YET and says ready when the budget allows more.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { END, NOT_YET, type SourceAnswer, type StreamSource } from '../stream/index.js';

const CHUNK = 256 * 1024;
/** With --rate, bytes are let through in slices of at most this (so a stream can be watched). */
const PACED_SLICE = 16 * 1024;

export class FileSource implements StreamSource {
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkAt = 0;
  private reading = false;
  private readyListener: (() => void) | undefined;
  private pacedFrom: { offset: number; at: number } | undefined;
  private paceTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** A read failed (or the file shrank): the sending socket should be destroyed with it. */
  onError: (error: Error) => void = () => {};

  private constructor(
    private readonly handle: FileHandle,
    /** The file's length in bytes. */
    readonly size: number,
    private readonly bytesPerSecond: number | undefined,
  ) {}

  /** Open `path`, paced at `rate` bytes per second when given. */
  static async open(path: string, rate?: number): Promise<FileSource> {
    const handle = await open(path, 'r');
    const { size } = await handle.stat();
    return new FileSource(handle, size, rate);
  }

  /**
   * The object's validator for the state file: "sha256:" and the hex SHA-256 of the whole file
   * (one read of it, in CHUNK slices). A content hash, not size+mtime: a copy of the same file on
   * another server has another mtime but must be recognised, and a same-size edit must not be.
   */
  async validator(): Promise<string> {
    const hash = createHash('sha256');
    const buffer = new Uint8Array(Math.min(CHUNK, Math.max(1, this.size)));
    for (let offset = 0; offset < this.size; ) {
      const { bytesRead } = await this.handle.read(buffer, 0, Math.min(buffer.length, this.size - offset), offset);
      if (bytesRead === 0) throw new Error(`the file ended at byte ${offset} of ${this.size}: it shrank while being read`);
      hash.update(buffer.subarray(0, bytesRead));
      offset += bytesRead;
    }
    return `sha256:${hash.digest('hex')}`;
  }

  onReady(ready: () => void): void {
    this.readyListener = ready;
  }

  read(offset: number, max: number): SourceAnswer {
    if (offset >= this.size) return END;
    const allowed = this.budget(offset);
    if (allowed <= 0) return NOT_YET;
    const limit = Math.min(max, allowed);
    const inChunk = offset - this.chunkAt;
    if (inChunk >= 0 && inChunk < this.chunk.length) return this.chunk.subarray(inChunk, Math.min(this.chunk.length, inChunk + limit));
    this.fetch(offset);
    return NOT_YET;
  }

  /** Release the file (and the pacing timer). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.paceTimer !== undefined) clearTimeout(this.paceTimer);
    await this.handle.close();
  }

  /** Bytes allowed at `offset` now; when none, a timer says ready once there are. */
  private budget(offset: number): number {
    const rate = this.bytesPerSecond;
    if (rate === undefined) return Infinity;
    const now = performance.now();
    // Pacing starts at the first offset asked for (0, or the client's next byte after a takeover).
    if (this.pacedFrom === undefined || offset < this.pacedFrom.offset) this.pacedFrom = { offset, at: now };
    const due = this.pacedFrom.offset + ((now - this.pacedFrom.at) / 1000) * rate;
    // A whole slice goes once all of it is due (as a pacing Transform would let it through).
    const slice = Math.min(PACED_SLICE, this.size - offset);
    if (due - offset >= slice) return slice;
    if (this.paceTimer === undefined && !this.closed) {
      const wait = ((offset + slice - due) / rate) * 1000;
      this.paceTimer = setTimeout(() => {
        this.paceTimer = undefined;
        this.readyListener?.();
      }, Math.max(1, Math.ceil(wait)));
    }
    return 0;
  }

  private fetch(offset: number): void {
    if (this.reading || this.closed) return;
    this.reading = true;
    const length = Math.min(CHUNK, this.size - offset);
    const buffer = new Uint8Array(length); // a fresh buffer per read: the transport may keep views of the last one
    this.handle.read(buffer, 0, length, offset).then(
      ({ bytesRead }) => {
        this.reading = false;
        if (this.closed) return;
        if (bytesRead === 0) {
          this.onError(new Error(`the file ended at byte ${offset} of ${this.size}: it shrank while being sent`));
          return;
        }
        this.chunk = buffer.subarray(0, bytesRead);
        this.chunkAt = offset;
        this.readyListener?.();
      },
      (error: Error) => {
        this.reading = false;
        if (!this.closed) this.onError(error);
      },
    );
  }
}
