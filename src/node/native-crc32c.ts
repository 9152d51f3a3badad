// Installs the maintained native CRC32c (`@node-rs/crc32`, SIMD, prebuilt for the usual
// platforms) for SCTP's packet checksum (src/sctp/wire/crc32c.ts useNativeCrc32c). Imported for
// its effect by the Node driver, so every real socket uses it; the simulator keeps the
// table-driven code (same results). If the module does not load (no prebuilt binary for this
// platform), or BATON_CRC32C=js, the table-driven code stays.
import { createRequire } from 'node:module';
import { useNativeCrc32c } from '../sctp/wire/crc32c.js';

function load(): ((bytes: Uint8Array) => number) | undefined {
  if (process.env['BATON_CRC32C'] === 'js') return undefined;
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c(input: Uint8Array): number };
    return (bytes) => mod.crc32c(bytes) >>> 0;
  } catch {
    return undefined;
  }
}

useNativeCrc32c(load());
