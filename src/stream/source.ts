// Where a StreamSender takes the bytes of the stream it sends: a source answers by stream offset.
// The content may be in memory (the simulator, tests), in a file, or still on its way from an
// HTTP content server (the wedge's daemon): a source that has nothing at an offset yet answers
// NOT_YET and later says it is ready, and the sender asks again.

/** The source has no bytes at this offset yet; it will call its ready listener when it has. */
export const NOT_YET = 'not-yet';
/** The stream ends at this offset. */
export const END = 'end';

import type { TransportEvent } from '../transport-abstraction/transport.js';

/** How a connection ended (error undefined: cleanly). */
export type ClosedEvent = Extract<TransportEvent, { type: 'closed' }>;

export type SourceAnswer = Uint8Array | typeof NOT_YET | typeof END;

export interface StreamSource {
  /**
   * Up to `max` bytes of the stream starting at byte `offset` (fewer is fine: the sender asks again
   * at the next offset), NOT_YET, or END. Offsets normally only grow; after a takeover the sender
   * starts wherever the client's next missing byte is, which a source must serve from then on.
   * The bytes handed out must not change afterwards (the transport may keep a view of them).
   */
  read(offset: number, max: number): SourceAnswer;
  /**
   * The sender registers `ready` here once; a source that answers NOT_YET calls it when bytes at
   * that offset (or the end) are known. A source that never answers NOT_YET may leave this out;
   * without it the source's owner calls StreamSender#ready() instead.
   */
  onReady?(ready: () => void): void;
}

/** A source over bytes already in memory (the simulator's content, tests). */
export function memorySource(bytes: Uint8Array): StreamSource {
  return {
    read: (offset, max) => (offset >= bytes.length ? END : bytes.subarray(offset, Math.min(bytes.length, offset + max))),
  };
}
