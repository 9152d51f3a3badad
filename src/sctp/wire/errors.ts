// Why a byte string is not an SCTP packet. parse.ts returns these (never throws them).
import { BatonError } from '../../transport-abstraction/errors.js';

export type WireErrorCode =
  | 'SCTP_WIRE_SHORT' // shorter than the common header, or a structure is truncated
  | 'SCTP_WIRE_CHECKSUM' // CRC32c mismatch
  | 'SCTP_WIRE_NO_CHUNKS' // a common header and nothing else
  | 'SCTP_WIRE_CHUNK_LENGTH' // chunk length < 4, beyond the packet, or wrong for its type
  | 'SCTP_WIRE_PARAM_LENGTH' // parameter / error cause length < 4, beyond its container, or wrong for its type
  | 'SCTP_WIRE_MALFORMED'; // lengths fine but contents impossible (missing mandatory parameter, ...)

export class WireError extends BatonError {
  declare readonly code: WireErrorCode;
  /** Byte offset in the packet where the problem was found. */
  readonly offset: number;
  constructor(code: WireErrorCode, message: string, offset: number) {
    super(code, message);
    this.offset = offset;
  }
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WireError };
