// The stream mapper contract: what the wedge needs from an application protocol. The wedge feeds a
// mapper the client's bytes and the content server's bytes and drains its events; it never looks
// inside them. Another application protocol is a new file implementing these two interfaces.
import type { BatonError } from '../transport-abstraction/errors.js';
import type { StreamMapping } from '../transport-abstraction/state-types.js';
import type { Instant } from '../transport-abstraction/transport.js';

/** How far a paced mapper lets the stream go now (see StreamMapper.paceLimit). */
export interface PaceLimit {
  /** Server->client stream bytes below this offset may go to the client now. */
  readonly limit: number;
  /** When the limit next moves, if time alone moves it (undefined: only the transport's progress does). */
  readonly next?: Instant;
}

/** What a mapper asks the wedge to do, in order. */
export type MapperEvent =
  /** Write these bytes to the content server (opening a connection to it if none is open). */
  | { readonly type: 'to-backend'; readonly bytes: Uint8Array }
  /** Write these bytes to the client (the migratable transport). */
  | { readonly type: 'to-client'; readonly bytes: Uint8Array }
  /** The connection's stream mapping changed (a request began, a response head was counted): announce it now. */
  | { readonly type: 'mapping'; readonly mapping: StreamMapping }
  /** The response ended; close the content-server connection unless `reuse`. */
  | { readonly type: 'response-end'; readonly reuse: boolean }
  /**
   * Close the client connection once the bytes before this event are delivered: cleanly when
   * error is undefined; otherwise error.code is the explicit cause (e.g. BATON_ERR_RESUME_VALIDATOR).
   * `answered`: an error response naming it went to the client just before, so the connection ends
   * after delivering it even where that error would otherwise abort (a content server that failed
   * before its response head: the client gets the 502, not an ABORT/RST).
   */
  | { readonly type: 'close'; readonly error?: BatonError; readonly answered?: true };

/** One connection's application-protocol state machine (sans-IO). */
export interface StreamMapper {
  /** The StreamMapping.application_protocol this mapper produces, e.g. "http/1.1". */
  readonly protocol: string;
  /** In-order bytes from the client. */
  handleClientBytes(bytes: Uint8Array): void;
  /** The client will send no more. */
  handleClientEnd(): void;
  /** In-order bytes from the content server. */
  handleBackendBytes(bytes: Uint8Array): void;
  /** The content server closed its connection. */
  handleBackendEnd(): void;
  /** The next event, or undefined. */
  pollEvent(): MapperEvent | undefined;
  /**
   * The mapping to announce; undefined before the first request. With `acked` (the transport's
   * streamBytesAcked) the oldest response the client does not hold entirely.
   */
  mapping(acked?: number): StreamMapping | undefined;
  /**
   * Optional: pacing (a media stream). The session asks before it hands the transport the bytes at
   * stream offset `offset` (the transport holds `buffered` bytes not yet acknowledged) and sends
   * only below the answer's `limit`; when blocked it asks again at `next` (a runtime timer) or on
   * the transport's next input. A mapper without it is never held back.
   */
  paceLimit?(now: Instant, offset: number, buffered: number): PaceLimit;
  /**
   * Optional: whether the mapper waits for the client's next request — 'idle' (no byte of it yet)
   * or 'partial' (part of its head arrived) — or undefined (a request is being answered, or the
   * mapper is closed). The session times such waits out (head and idle timeouts). Before the first
   * request the mapping(acked) above must still carry the client's bytes received so far (so a
   * taker holds what the transport acknowledged of an unfinished head).
   */
  waitingForRequest?(): 'idle' | 'partial' | undefined;
  /** Optional: the wait timed out: answer it if the protocol has an answer (HTTP 408), then 'close'. */
  requestTimedOut?(): void;
}

/** Makes mappers for new connections and for connections taken over. */
export interface StreamMapperFactory {
  readonly protocol: string;
  /** A mapper for a connection the client just opened. */
  create(): StreamMapper;
  /**
   * A mapper that resumes an announced connection for a client whose next missing server->client
   * stream byte is `nextOffset`. It asks the content server for the rest and checks the answer
   * before a single byte goes to the client; a refusal comes back as its 'close' event's error.
   */
  resume(mapping: StreamMapping, nextOffset: number): StreamMapper;
}
