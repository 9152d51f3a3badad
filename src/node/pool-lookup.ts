// The pool-handle lookup (RSerPool's handle resolution, RFC 5351 §2, answered by a pool member
// instead of an ENRP server): `GET /pool/HANDLE` on a wedge's admin port returns the pool's
// members as that wedge knows them, with weight, load and health, for a client's pool policy.
//
// Why the admin port (HTTP over TCP) and not the UDP soft-state port: a lookup is a
// request/response a client makes once per connection, and HTTP gives it framing, a status code
// and a size limit for free; the soft-state port only accepts datagrams sealed with the group
// key, which clients do not hold and must not (it would let them forge announcements). The
// answer is not authenticated: it names servers a client could find by probing anyway and loads
// that are hints (a forged answer can steer a client to a wrong server of the list it trusts no
// less than its --servers, never into a connection it did not ask for). Put the admin port where
// clients may reach it, or give clients --servers.
//
// The answer, JSON: {"handle", "members": [{"id", "address", "udpPort", "weight", "load", "alive"}]}
// with load = hosted + outstanding connections (null when not heard: a member outside this
// wedge's support group announces to its own group only) and alive from the heartbeat monitor.
import type { UdpAddress } from '../transport-abstraction/address.js';
import { BatonError } from '../transport-abstraction/errors.js';
import type { PoolElement } from '../wedge/policy.js';

export interface PoolAnswerMember {
  readonly id: string;
  readonly address: string;
  readonly udpPort: number;
  readonly weight: number;
  readonly load: number | null;
  readonly alive: boolean;
}

export interface PoolAnswer {
  readonly handle: string;
  readonly members: readonly PoolAnswerMember[];
}

/** A pool member for a client: where to dial it, and what its policy weighs. */
export interface PoolServer extends PoolElement {
  readonly server: UdpAddress;
}

/** The path of a lookup: `/pool/HANDLE`. */
export function poolPath(handle: string): string {
  return `/pool/${encodeURIComponent(handle)}`;
}

/** Asks the wedge whose admin server is at `admin` for pool `handle`; only members reported alive. */
export async function lookupPool(admin: { host: string; port: number }, handle: string, timeoutMs = 3000): Promise<PoolServer[]> {
  const host = admin.host.includes(':') ? `[${admin.host}]` : admin.host;
  let answer: PoolAnswer;
  try {
    const res = await fetch(`http://${host}:${admin.port}${poolPath(handle)}`, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status === 404) throw new BatonError('BATON_ERR_POOL_LOOKUP', `no pool "${handle}" at ${host}:${admin.port}`);
    if (!res.ok) throw new BatonError('BATON_ERR_POOL_LOOKUP', `pool lookup at ${host}:${admin.port}: HTTP ${res.status}`);
    answer = (await res.json()) as PoolAnswer;
  } catch (error) {
    if (error instanceof BatonError) throw error;
    throw new BatonError('BATON_ERR_POOL_LOOKUP', `pool lookup at ${host}:${admin.port} failed: ${(error as Error).message}`);
  }
  if (!Array.isArray(answer.members)) throw new BatonError('BATON_ERR_POOL_LOOKUP', `pool lookup at ${host}:${admin.port}: malformed answer`);
  return answer.members
    .filter((m) => m.alive && typeof m.address === 'string' && Number.isInteger(m.udpPort))
    .map((m) => ({ id: m.id, server: { address: m.address, port: m.udpPort }, weight: m.weight, ...(typeof m.load === 'number' ? { load: m.load } : {}) }));
}
