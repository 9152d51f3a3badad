// Field offsets and fixed sizes of the SCTP wire format, in one place (smoltcp's `field` module).
// Offsets are relative to the start of the structure named (packet, chunk, parameter).

/** Common header (RFC 9260 §3.1). */
export const Header = {
  SOURCE_PORT: 0,
  DESTINATION_PORT: 2,
  VERIFICATION_TAG: 4,
  CHECKSUM: 8,
  LENGTH: 12,
} as const;

/** Chunk header (RFC 9260 §3.2): type, flags, length (header included, padding excluded). */
export const Chunk = {
  TYPE: 0,
  FLAGS: 1,
  LENGTH: 2,
  VALUE: 4,
  HEADER_LENGTH: 4,
} as const;

/** TLV header shared by parameters and error causes (RFC 9260 §3.2.1, §3.3.10). */
export const Tlv = {
  TYPE: 0,
  LENGTH: 2,
  VALUE: 4,
  HEADER_LENGTH: 4,
} as const;

/** DATA (RFC 9260 §3.3.1). Flags: I (RFC 7053), U, B, E. */
export const Data = {
  TSN: 4,
  STREAM_ID: 8,
  SSN: 10,
  PPID: 12,
  USER_DATA: 16,
  FLAG_IMMEDIATE: 0x08,
  FLAG_UNORDERED: 0x04,
  FLAG_BEGINNING: 0x02,
  FLAG_ENDING: 0x01,
} as const;

/** INIT / INIT ACK (RFC 9260 §3.3.2, §3.3.3). */
export const Init = {
  INITIATE_TAG: 4,
  A_RWND: 8,
  OUTBOUND_STREAMS: 12,
  INBOUND_STREAMS: 14,
  INITIAL_TSN: 16,
  PARAMS: 20,
} as const;

/** SACK (RFC 9260 §3.3.4). Gap blocks are 4 bytes (start, end), duplicate TSNs 4 bytes. */
export const Sack = {
  CUMULATIVE_TSN_ACK: 4,
  A_RWND: 8,
  GAP_BLOCK_COUNT: 12,
  DUPLICATE_TSN_COUNT: 14,
  GAP_BLOCKS: 16,
  GAP_BLOCK_LENGTH: 4,
  DUPLICATE_TSN_LENGTH: 4,
} as const;

/** ABORT, SHUTDOWN COMPLETE: the T bit. */
export const FLAG_T = 0x01;

/** SHUTDOWN (§3.3.8), ECNE (§3.3.11), CWR (§3.3.12): one 32-bit field after the header. */
export const Shutdown = { CUMULATIVE_TSN_ACK: 4, LENGTH: 8 } as const;
export const Ecn = { TSN: 4, LENGTH: 8 } as const;

/** AUTH (RFC 4895 §4.1). */
export const Auth = {
  SHARED_KEY_ID: 4,
  HMAC_ID: 6,
  HMAC: 8,
} as const;

/** FORWARD TSN (RFC 3758 §3.2). */
export const ForwardTsn = {
  NEW_CUMULATIVE_TSN: 4,
  STREAMS: 8,
  STREAM_ENTRY_LENGTH: 4,
} as const;

/** ASCONF / ASCONF-ACK (RFC 5061 §4.1.1, §4.1.2). */
export const Asconf = {
  SERIAL: 4,
  PARAMS: 8,
} as const;

/** ASCONF parameters (RFC 5061 §4.2): correlation id, then an address parameter or causes. */
export const AsconfParam = {
  CORRELATION_ID: 4,
  BODY: 8,
} as const;

/** Round up to a multiple of four (chunk and parameter padding). */
export function pad4(n: number): number {
  return (n + 3) & ~3;
}
