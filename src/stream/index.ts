// The application loop over the transport contract, once for every application: a sender that
// feeds a connection from a source by stream offset and resumes after a takeover, a collector
// for the receiving side. Pure (no sockets, timers, files or clock).
export * from './source.js';
export * from './sender.js';
export * from './collector.js';
