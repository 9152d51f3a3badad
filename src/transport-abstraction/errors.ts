// Errors are classes with a stable string `code` (undici's manner). Only local misuse throws;
// a peer's violation becomes a TransportError carried by a 'closed' event, never an exception
// out of handleDatagram.

export class BatonError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The caller used an API wrongly (sent on a closed connection, took over without state, ...). */
export class LocalUsageError extends BatonError {
  constructor(message: string) {
    super('BATON_ERR_USAGE', message);
  }
}

/** Why a connection ended or a takeover failed, as seen on the wire. */
export type TransportErrorCode =
  | 'BATON_ERR_ABORTED' // the peer sent ABORT / RST
  | 'BATON_ERR_REFUSED' // nobody listens there (ABORT/RST answering INIT/SYN)
  | 'BATON_ERR_TIMEOUT' // too many retransmissions, peer unreachable
  | 'BATON_ERR_PROTOCOL' // the peer violated the protocol; we aborted
  | 'BATON_ERR_TAKEOVER_REJECTED' // the client refused our takeover (duplicate number, bad key)
  | 'BATON_ERR_TAKEN_OVER' // another server took this connection over; we must stop
  | 'BATON_ERR_LOCAL_ABORT'; // this side aborted

export class TransportError extends BatonError {
  /** The protocol's own cause: an SCTP error cause code, or undefined for TCP. */
  readonly wireCause: number | undefined;
  constructor(code: TransportErrorCode, message: string, wireCause?: number) {
    super(code, message);
    this.wireCause = wireCause;
  }
}
