// The transport-abstraction folder's public surface: the contract every backend meets, addresses,
// errors, randomness, the state schema's types and codec, the real UDP driver and the Duplex adapter.
export * from './address.js';
export * from './errors.js';
export * from './random.js';
export * from './transport.js';
export * from './state-types.js';
export * from './state.js';
export * from './driver.js';
export * from './socket.js';
