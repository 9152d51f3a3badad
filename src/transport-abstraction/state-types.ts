// TypeScript shapes of proto/transport_state.proto (camelCase, as protobufjs names fields).
// uint64 fields are plain numbers (exact up to 2^53, far beyond any stream offset or time here);
// bytes are Uint8Array. state.ts encodes and decodes them and checks them against the schema.

export interface EndpointState {
  address: string;
  port: number;
  udpPort: number;
}

export interface TsnRun {
  firstTsn: number;
  streamOffset: number;
  bytesPerTsn: number;
  /** 0 while the run is still open. */
  tsnCount: number;
  streamId: number;
  firstSsn: number;
}

export interface SctpState {
  localVerificationTag: number;
  peerVerificationTag: number;
  localInitialTsn: number;
  peerInitialTsn: number;
  tsnMap: TsnRun[];
  localKeyVector: Uint8Array;
  peerKeyVector: Uint8Array;
  endpointPairKey: Uint8Array;
  hmacId: number;
  sharedKeyId: number;
  x25519Agreed: boolean;
  peerAddresses: EndpointState[];
  localAddresses: EndpointState[];
  nextAsconfSerial: number;
  peerAsconfSerial: number;
  outboundStreams: number;
  inboundStreams: number;
  peerCumulativeTsn: number;
  peerReceiverWindow: number;
  inboundNextSsn: number[];
  pathMtu: number;
  /** Peer→local stream bytes through peerCumulativeTsn, from the association's first byte (0 in older states). */
  peerStreamOffset: number;
  /** The client's x25519 public key from the handshake (a taker re-keys with it); absent or empty for a standard peer. */
  peerX25519Key?: Uint8Array;
  /** The client announced PR-SCTP (RFC 3758): a taker may send it FORWARD-TSN; absent (false) otherwise. */
  peerForwardTsn?: boolean;
  /** Message mode: the next TSN and each outbound stream's next SSN when the state was taken; absent otherwise. */
  outboundSsns?: OutboundSsns;
}

export interface OutboundSsns {
  nextTsn: number;
  nextSsn: number[];
}

export interface TcpMigrateState {
  initiatorIsn: number;
  acceptorIsn: number;
  token: Uint8Array;
  connectionKey: Uint8Array;
  mss: number;
  sackPermitted: boolean;
  localWindowScale: number;
  peerWindowScale: number;
  lastMigrateRequest: number;
  sndUna: number;
  sndNxt: number;
  rcvNxt: number;
  peerWindow: number;
  localIsInitiator: boolean;
  unknownOptions: Uint8Array;
  /** The client's x25519 public key from Migrate-Permitted (a taker re-keys with it); absent or empty in older states. */
  peerPublicKey?: Uint8Array;
}

export interface StreamMapping {
  applicationProtocol: string;
  objectName: string;
  request: Uint8Array;
  responseHeaderLength: number;
  validator: string;
  objectLength: number;
  objectStart: number;
  requestStreamOffset: number;
  /** The wedge's additions (persistent connections, takeover inside a head); absent in older states. */
  resumeContext?: ResumeContext;
  /** A paced media stream's clock (src/wedge/media-mapper.ts); absent otherwise. */
  mediaClock?: MediaClock;
}

export interface MediaClock {
  /** The media bit rate. */
  bitsPerSecond: number;
  /** Unix time (µs) at which the body's first object byte (object_start) is due; 0: the body has not begun (the clock starts with it). */
  originUnixUs: number;
}

export interface ResumeContext {
  /** Server->client stream offset where this response's head began. */
  responseStreamOffset: number;
  /** The response head as relayed to the client; empty before the response began. */
  responseHead: Uint8Array;
  /** Client bytes after the request not yet answered: pipelined requests. */
  pendingRequests: Uint8Array;
}

export interface TransportState {
  client: EndpointState;
  server: EndpointState;
  /** Exactly one of sctp / tcp is set (the proto's `transport` oneof). */
  sctp?: SctpState;
  tcp?: TcpMigrateState;
  stream?: StreamMapping;
  takeoverNumber: number;
  ownerId: string;
  takenAtMs: number;
  streamBytesSent: number;
  streamBytesAcked: number;
}

export interface Load {
  hostedConnections: number;
  outstandingOffers: number;
}

export interface DroppedConnection {
  client: EndpointState;
  takeoverNumber: number;
}

export interface Announcement {
  senderId: string;
  supportGroup: number;
  sequence: number;
  load: Load;
  connections: TransportState[];
  dropped: DroppedConnection[];
}

/** A member's confirmation of an announcement it received (wedge soft state). */
export interface AnnouncementAck {
  senderId: string;
  announcerId: string;
  epoch: number;
  sequence: number;
}

/** An external monitor's command; exactly one of declareDead / move is set (the proto's oneof). */
export interface MonitorCommand {
  senderId: string;
  declareDead?: { serverId: string };
  move?: { client: EndpointState; toServerId: string };
}
