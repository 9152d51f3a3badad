// IPv4 / IPv6 text <-> bytes for the SCTP address parameters (RFC 9260 §3.3.2.1). IPv6 text out is
// the RFC 5952 canonical form (lowercase, longest run of two or more zero groups as "::").
import { isIP } from 'node:net';
import { LocalUsageError } from '../../transport-abstraction/errors.js';

/** 4 bytes for an IPv4 dotted quad. Throws LocalUsageError on anything else. */
export function ipv4ToBytes(text: string): Uint8Array {
  if (isIP(text) !== 4) throw new LocalUsageError(`not an IPv4 address: ${JSON.stringify(text)}`);
  const out = new Uint8Array(4);
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

export function ipv4FromBytes(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** 16 bytes for IPv6 text ("::", "fe80::1", "::ffff:1.2.3.4"; a "%zone" suffix is dropped). */
export function ipv6ToBytes(text: string): Uint8Array {
  const bare = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  if (isIP(bare) !== 6) throw new LocalUsageError(`not an IPv6 address: ${JSON.stringify(text)}`);
  const out = new Uint8Array(16);
  let groups: number[];
  const tail: number[] = [];
  let s = bare;
  // An embedded dotted quad becomes the last two groups.
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) !== -1) {
    const v4 = ipv4ToBytes(s.slice(lastColon + 1));
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const dbl = s.indexOf('::');
  const hex = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  if (dbl === -1) {
    groups = [...hex(s), ...tail];
  } else {
    const left = hex(s.slice(0, dbl));
    const right = [...hex(s.slice(dbl + 2)), ...tail];
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  }
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >>> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}

export function ipv6FromBytes(b: Uint8Array, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[offset + 2 * i]! << 8) | b[offset + 2 * i + 1]!);
  // Longest run of zero groups (length >= 2), leftmost on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const h = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestStart === -1) return h(g);
  return `${h(g.slice(0, bestStart))}::${h(g.slice(bestStart + bestLen))}`;
}
