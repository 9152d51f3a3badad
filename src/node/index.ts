// The Node runtime's public surface: the node:dgram driver, the runtime seam on real UDP, and the
// Duplex stream adapter over one connection.
export * from './driver.js';
export * from './udp-runtime.js';
export * from './socket.js';
