// A pacing Transform for `baton cat --rate`: lets bytes through at most `bytesPerSecond`,
// in slices of at most 16 KiB, so a stream can be watched (or killed) mid-file.
import { Transform, type TransformCallback } from 'node:stream';

export class Throttle extends Transform {
  private readonly started = performance.now();
  private passed = 0;

  constructor(private readonly bytesPerSecond: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.release(chunk, callback);
  }

  private release(chunk: Buffer, callback: TransformCallback): void {
    if (chunk.length === 0) {
      callback();
      return;
    }
    const slice = chunk.subarray(0, 16 * 1024);
    const due = this.started + ((this.passed + slice.length) / this.bytesPerSecond) * 1000;
    const wait = due - performance.now();
    const go = () => {
      this.passed += slice.length;
      this.push(slice);
      this.release(chunk.subarray(slice.length), callback);
    };
    if (wait > 1) setTimeout(go, wait);
    else go();
  }
}
