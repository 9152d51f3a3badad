// Serial number arithmetic (RFC 1982) for 32-bit TSNs and 16-bit SSNs. Plain numbers, unsigned.

/** a < b in 32-bit serial order. */
export function tsnLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function tsnLte(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
export function tsnGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
export function tsnGte(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
/** a + n modulo 2^32. */
export function tsnAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
/** Signed distance a - b (valid while |a - b| < 2^31). */
export function tsnDiff(a: number, b: number): number {
  return (a - b) | 0;
}
/** a < b in 16-bit serial order. */
export function ssnLt(a: number, b: number): boolean {
  return ((((a - b) & 0xffff) << 16) >> 16) < 0;
}
export function ssnAdd(a: number, n: number): number {
  return (a + n) & 0xffff;
}
