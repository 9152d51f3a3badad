// Debian's nginx as a content server lives with the benchmarks that also need it (bench/nginx.ts,
// for `baton experiment fig7`): the shipped bench must not carry test code. Tests import it from here.
export * from '../../bench/nginx.js';
