// Support groups (paper §3.1): a well-known hash of a server's address (and id) into N buckets;
// the servers of one bucket form a support group and announce their connections to each other.
//
// The hash, stable across versions and platforms:
//   digest = SHA-256( "baton support group v1" 0x00 address 0x00 id )   (UTF-8, address lower-cased)
//   group  = (first 8 bytes of digest, big-endian unsigned) mod N
// A server computes its own group when it comes on line; every peer computes the same number.
import { createHash } from 'node:crypto';
import { LocalUsageError } from '../transport-abstraction/errors.js';

/** A server as the group hash sees it. */
export interface GroupMember {
  /** The server's address in text form, e.g. "127.0.0.2" (compared lower-cased). */
  readonly address: string;
  /** The server's id (--id); '' when servers are told apart by address alone. */
  readonly id: string;
}

const LABEL = 'baton support group v1';

/** The support group (0..buckets-1) of a server; see the file comment for the exact hash. */
export function supportGroup(server: GroupMember, buckets: number): number {
  if (!Number.isInteger(buckets) || buckets < 1 || buckets > 0xffffffff) throw new LocalUsageError(`support groups: bucket count must be 1..2^32-1, got ${buckets}`);
  const digest = createHash('sha256').update(`${LABEL}\0${server.address.toLowerCase()}\0${server.id}`, 'utf8').digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(buckets));
}

/** The servers of `servers` in the same support group as `self` (self excluded). */
export function groupPeers<T extends GroupMember>(self: GroupMember, servers: readonly T[], buckets: number): T[] {
  const mine = supportGroup(self, buckets);
  return servers.filter((s) => !(s.address === self.address && s.id === self.id) && supportGroup(s, buckets) === mine);
}
