// Free UDP ports and loopback addresses live with the benchmarks that also need them
// (bench/ports.ts): the shipped `baton bench` must not carry test code. Tests import them from here.
export * from '../../bench/ports.js';
