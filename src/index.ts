// baton as a library: the transport contract and its helpers, the two migratable transports behind
// one switch, the application loop over them, the two runtimes (real UDP, and the simulated network
// for deterministic tests of code built on them) and the node:net-like listen/connect.
export * from './transport-abstraction/index.js';
export * from './node/index.js';
export * from './stream/index.js';
export { createEndpoint, parseTransportKind, DEFAULT_UDP_PORT, TRANSPORT_KINDS, type EndpointOptions } from './transports.js';
export { SctpEndpoint } from './sctp/endpoint.js';
export { SctpAssociation } from './sctp/association.js';
export { authKeySource } from './sctp/takeover-hooks.js';
export { TcpMigrateEndpoint } from './tcp-migrate/endpoint.js';
export { TcpMigrateConnection } from './tcp-migrate/connection.js';
export { listen, connect, udpRuntime, BatonServer, type ListenOptions, type ConnectOptions, type TuningOptions } from './api.js';
export { SimNetwork } from './sim/network.js';
export { SimRuntime, SimRuntimeError, SimRunLimitError } from './sim/runtime.js';
export { PcapWriter } from './sim/pcap.js';
export { batonFetch, FetchError, type FetchOptions, type FetchResponse, type FetchSummary, type FetchProgress, type Failover, type FetchErrorCode } from './client/fetch.js';
