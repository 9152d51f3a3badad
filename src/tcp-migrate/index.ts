// TCP-Migrate: RFC 9293 TCP in UDP with the Migrate options (draft-snoeren-tcp-migrate-00 + paper §3.3.2).
export { TcpMigrateEndpoint, DEFAULT_TCP_MIGRATE_PORT, type TcpMigrateEndpointOptions } from './endpoint.js';
export { TcpMigrateConnection, type TcpState } from './connection.js';
export { DEFAULT_CONFIG, type TcpMigrateConfig } from './config.js';
export * from './options.js';
export { parseSegment, type TcpSegment } from './wire.js';
