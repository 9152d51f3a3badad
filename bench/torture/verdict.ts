// Judging one download: the bytes a client received on its connection against the responses it
// asked for. Whole (every response byte-identical, nothing after), a clear error (a coded error
// and every byte received so far correct), or lost / duplicated bytes: a body shorter than its
// Content-Length on a clean close, a splice (the bytes at the first wrong offset belong further on:
// lost; earlier: duplicated; nowhere: corrupt, counted as lost), or bytes after the last response.
import type { BatonError } from '../../src/transport-abstraction/errors.js';

/** 'open': the connection had not ended when the run stopped (the run counts as hung). */
export type Outcome = 'whole' | 'clear-error' | 'lost' | 'duplicated' | 'open';

export interface DownloadVerdict {
  readonly outcome: Outcome;
  /** The error's code for a clear error. */
  readonly code?: string;
  /** Bytes skipped (lost) or repeated (duplicated) at the first wrong offset, when known. */
  readonly shift?: number;
  readonly detail: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** Bytes compared to find where a wrong byte run really belongs. */
const WINDOW = 32;

/** `closed`: the connection ended (an open one is judged on what it has so far; its run hung). */
export function judge(received: Uint8Array, expected: readonly Uint8Array[], closed: boolean, error: BatonError | undefined): DownloadVerdict {
  const bytes = Buffer.from(received.buffer, received.byteOffset, received.byteLength);
  const cut = (detail: string): DownloadVerdict =>
    !closed ? { outcome: 'open', detail: `${detail} so far, the connection still open` } : error === undefined ? { outcome: 'lost', detail: `${detail}, yet the connection closed cleanly` } : { outcome: 'clear-error', code: error.code, detail: `${error.code} ${detail}` };
  let at = 0;
  for (let n = 0; n < expected.length; n++) {
    const object = expected[n]!;
    const headEnd = bytes.indexOf(HEAD_END, at);
    if (headEnd < 0) return cut(`response ${n + 1} of ${expected.length}: head incomplete`);
    const head = bytes.subarray(at, headEnd).toString('latin1').split('\r\n');
    const status = Number(head[0]!.split(' ')[1]);
    const length = Number(head.find((l) => /^content-length:/i.test(l))?.split(':')[1]);
    if (status !== 200 || length !== object.length) {
      return { outcome: 'lost', detail: `response ${n + 1}: status ${status}, Content-Length ${length}; expected 200 and ${object.length}` };
    }
    const body = bytes.subarray(headEnd + 4, headEnd + 4 + length);
    const wrong = firstDifference(body, object);
    if (wrong !== undefined) return splice(body, object, wrong, n + 1);
    if (body.length < length) return cut(`response ${n + 1}: ${body.length} of ${length} body bytes`);
    at = headEnd + 4 + length;
  }
  if (at < bytes.length) return { outcome: 'duplicated', shift: bytes.length - at, detail: `${bytes.length - at} bytes after the last response` };
  if (!closed) return { outcome: 'open', detail: 'every response whole, the connection still open' };
  if (error !== undefined) return { outcome: 'clear-error', code: error.code, detail: `${error.code} after every response was whole` };
  return { outcome: 'whole', detail: 'byte-identical' };
}

function firstDifference(body: Uint8Array, object: Uint8Array): number | undefined {
  for (let i = 0; i < body.length; i++) if (body[i] !== object[i]) return i;
  return undefined;
}

/** Where the run of bytes at the first wrong offset really comes from. */
function splice(body: Buffer, object: Uint8Array, wrong: number, response: number): DownloadVerdict {
  const window = body.subarray(wrong, wrong + WINDOW);
  const from = Buffer.from(object.buffer, object.byteOffset, object.byteLength).indexOf(window);
  const where = `response ${response}: wrong byte at body offset ${wrong}`;
  if (from > wrong) return { outcome: 'lost', shift: from - wrong, detail: `${where}: ${from - wrong} bytes skipped` };
  if (from >= 0) return { outcome: 'duplicated', shift: wrong - from, detail: `${where}: ${wrong - from} bytes repeated` };
  return { outcome: 'lost', detail: `${where}: bytes that are nowhere in the object (corrupt)` };
}
