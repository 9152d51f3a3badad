// Child-process management lives with the benchmarks that also need it (bench/process.ts): the
// shipped `baton bench` must not carry test code. Tests import it from here as before.
export * from '../../bench/process.js';
