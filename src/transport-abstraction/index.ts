// The transport-abstraction folder's public surface, all of it pure (no sockets, timers, files or
// clock): the contract every backend meets, addresses, errors, randomness, the state schema's types
// and codec, the deadline heap and the runtime seam's interface. The Node runtime (UDP driver,
// Duplex socket, UdpRuntime) is src/node/.
export * from './address.js';
export * from './errors.js';
export * from './random.js';
export * from './transport.js';
export * from './state-types.js';
export * from './state.js';
export * from './runtime.js';
