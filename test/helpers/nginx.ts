// nginx as a content server lives with the benchmarks that also need it (bench/nginx.ts, used by
// bench/chaos.ts): bench/ must not import test/. Tests import it from here as before.
export * from '../../bench/nginx.js';
