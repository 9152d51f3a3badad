// Reading HTTP/1.1 responses out of a byte stream in tests of the content backends (nginx through
// TcpBackend, the simulator's MemoryBackend): one response at a time, bodies by Content-Length.
export interface HttpResponse {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Map<string, string>;
  readonly body: Buffer;
  /** Bytes of the head, status line to the blank line included. */
  readonly headLength: number;
}

/**
 * The first complete response in `buffer` and the bytes after it, or undefined while incomplete.
 * `head`: the request was a HEAD (no body whatever Content-Length says).
 */
export function takeResponse(buffer: Buffer, head = false): { response: HttpResponse; rest: Buffer } | { need: number } | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...fields] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const headers = new Map<string, string>();
  for (const f of fields) {
    const colon = f.indexOf(':');
    headers.set(f.slice(0, colon).trim().toLowerCase(), f.slice(colon + 1).trim());
  }
  const length = head ? 0 : Number(headers.get('content-length') ?? '0');
  const need = end + 4 + length;
  if (buffer.length < need) return { need };
  return {
    response: { status: Number(statusLine!.split(' ')[1]), headers, body: Buffer.from(buffer.subarray(end + 4, need)), headLength: end + 4 },
    rest: buffer.subarray(need),
  };
}

/** Every complete response in `buffer`, for requests whose HEAD-ness is given in order. */
export function splitResponses(buffer: Buffer, heads: readonly boolean[] = []): HttpResponse[] {
  const out: HttpResponse[] = [];
  let rest = buffer;
  for (;;) {
    const taken = takeResponse(rest, heads[out.length] ?? false);
    if (taken === undefined || !('response' in taken)) return out;
    out.push(taken.response);
    rest = taken.rest;
  }
}
