// The wedge's content server, behind the smallest interface that serves both worlds: a byte pipe
// to an HTTP/1.1 server with Range support, the paper's "TCP relay to the local content server".
// The wedge writes the request bytes its mapper built and reads the response bytes back; it
// parses the response head itself (to count the header length and learn the validator). The
// daemon backs this with a TCP connection to nginx (src/node/tcp-backend.ts); the simulator with
// an in-memory HTTP server that answers in virtual time (src/sim/memory-backend.ts). Pure: no I/O.
import type { BatonError } from '../transport-abstraction/errors.js';

/** Where a backend connection delivers what it reads. Called from the world's event loop. */
export interface BackendSink {
  /** Response bytes from the backend, in order; the sink keeps them (the backend never writes into them again). */
  data(bytes: Uint8Array): void;
  /** The backend closed its side cleanly. */
  end(): void;
  /** The connection failed (refused, reset, timed out), with a coded error. No call follows. */
  error(error: BatonError): void;
}

/** One connection to the content server. */
export interface BackendConnection {
  /** Send request bytes (queued until the connection is up). */
  write(bytes: Uint8Array): void;
  /** Stop delivering data (the client's transport is full); data waits in the backend's socket. */
  pause(): void;
  /** Deliver again after pause(). */
  resume(): void;
  /** Close the connection; no sink call follows. Safe to call twice. */
  close(): void;
  /**
   * Optional: the last response ended cleanly, the content server keeps the connection open, and no
   * request is outstanding on it: hand it back for another request (a pool), or close it. No sink
   * call follows.
   */
  release?(): void;
}

/** Opens connections to the content server. */
export interface ContentBackend {
  open(sink: BackendSink): BackendConnection;
}
