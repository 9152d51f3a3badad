// HTTP errors, h11's split: RemoteProtocolError (the peer sent bytes HTTP/1.1 does not allow, or
// that the wedge does not support) is a value the parsers return, with a stable code and the HTTP
// status it maps to; LocalProtocolError (this code misused the API) is thrown.
import { BatonError } from '../transport-abstraction/errors.js';

/** Stable codes of peer violations, each with the status a server answers it with. */
export const HTTP_ERROR_STATUS = {
  BATON_ERR_HTTP_MALFORMED: 400, // a request line, status line or header field that is not HTTP/1.1
  BATON_ERR_HTTP_TOO_LARGE: 400, // a line, the head, or the header count beyond the parser's limits
  BATON_ERR_HTTP_BAD_FRAMING: 400, // Content-Length invalid or conflicting, Transfer-Encoding with Content-Length
  BATON_ERR_HTTP_METHOD: 501, // a method the wedge does not serve (only GET and HEAD)
  BATON_ERR_HTTP_TRANSFER_CODING: 501, // a request body with a transfer coding, or any request body
  BATON_ERR_HTTP_VERSION: 505, // HTTP/x.y other than 1.0 and 1.1
  BATON_ERR_HTTP_TIMEOUT: 408, // a request head not complete within the head timeout (a slow client, slow-loris)
  BATON_ERR_HTTP_BACKEND: 502, // the content server's response is malformed or unusable
} as const;

/** The stable codes of RemoteProtocolError. */
export type HttpErrorCode = keyof typeof HTTP_ERROR_STATUS;

/** Reason phrases for the statuses the wedge generates. */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  505: 'HTTP Version Not Supported',
};

/** The peer (client or content server) violated HTTP/1.1 or asked for what is not supported. */
export class RemoteProtocolError extends BatonError {
  declare readonly code: HttpErrorCode;
  /** The HTTP status this error is answered with (400, 408, 501, 505; 502 for a content server's fault). */
  readonly status: number;
  constructor(code: HttpErrorCode, message: string) {
    super(code, message);
    this.status = HTTP_ERROR_STATUS[code];
  }
}

/** This side misused the HTTP API (fed a finished parser, built an invalid head). */
export class LocalProtocolError extends BatonError {
  constructor(message: string) {
    super('BATON_ERR_HTTP_USAGE', message);
  }
}

/** A minimal response head telling the client why its request was refused; the connection closes after it. */
export function errorResponse(error: Pick<RemoteProtocolError, 'status'> & { readonly code: string }): Uint8Array {
  const reason = REASON_PHRASES[error.status] ?? 'Error';
  const body = `${error.status} ${reason}: ${error.code}\n`;
  const head =
    `HTTP/1.1 ${error.status} ${reason}\r\n` +
    `Content-Type: text/plain\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n\r\n`;
  return new TextEncoder().encode(head + body);
}
