// The SCTP wire layer: Reprs (types.ts), checked parse, emit, CRC32c, address text <-> bytes.
export * from './types.js';
export * from './errors.js';
export { crc32c, crc32cUpdate, computeChecksum, verifyChecksum, readChecksum, finalizeChecksum } from './crc32c.js';
export {
  parsePacket,
  parsePacketHeader,
  peekVerificationTag,
  peekFirstChunkType,
  parseChunkAt,
  chunkSpans,
  type ChunkSpan,
  authenticatedRegion,
  authenticatedBytes,
  type AuthRegion,
  type PacketHeader,
  type PacketResult,
  type ParseOptions,
} from './parse.js';
export {
  emitPacket,
  emitPacketWithAuth,
  signPacket,
  emitChunk,
  chunkLength,
  chunkValueLength,
  packetLength,
  writePacket,
  writeChunk,
} from './emit.js';
export {
  emitParam,
  emitErrorCause,
  emitAsconfParam,
  paramLength,
  errorCauseLength,
  asconfParamLength,
  unknownChunkAction,
  unknownParamAction,
  type UnknownAction,
} from './params.js';
export { ipv4ToBytes, ipv4FromBytes, ipv6ToBytes, ipv6FromBytes } from './address.js';
export { pad4 } from './layout.js';
