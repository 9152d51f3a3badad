// `--registry etcd://HOST:PORT[,HOST:PORT...]/PREFIX`: a pool's membership and health from etcd
// (v3 API, the `etcd3` client) instead of a static peers file, for a pool larger than one site.
//
// Layout: one key per member, `PREFIX/members/ID`, its value a JSON record
//   {"id", "address", "udpPort", "weight"}
// (address: the client-facing IP, also where its soft-state channel listens, at the pool's
// soft-state port; udpPort: its client-facing UDP port; weight: for the weighted pool policies).
// A member puts its key under a lease of `ttl` seconds that the client keeps alive (a keepalive
// every ttl/3). A member that dies (SIGKILL, crash, partition from etcd) stops the keepalives;
// etcd expires the lease after ttl and deletes the key: every other member sees the delete on
// its watch and treats it as the member's death (the wedge's declareDead, then the new pool), so
// its support group takes its connections over — as the heartbeat monitor would, but after ttl
// instead of k update periods. A member that stops cleanly revokes its lease: deregistered at once.
// A member that starts puts its key: the others see the put and add it (it becomes a candidate).
//
// What flows through etcd is only membership (a few bytes per member, one write per join or
// leave, keepalives); connection state keeps flowing peer to peer in the support groups' sealed
// soft-state channels.
//
// TLS and authentication: `etcds://HOSTS/PREFIX?ca=FILE&cert=FILE&key=FILE&auth=FILE` speaks TLS
// to etcd (gRPC over TLS; `ca`: the CA that signed etcd's certificate, default the system's;
// `cert` and `key`: a client certificate for etcd's --client-cert-auth, both or neither) and
// `auth=FILE` (on etcd:// too) logs in with etcd's user/password authentication, the file's first
// line being `USER:PASSWORD`. Only file names are on the command line, never a secret (the
// process list shows arguments to every user); the files are read once, at start. Without TLS the
// password crosses the network in clear: use auth with etcds://.
import type { Etcd3, IOptions, Lease, Watcher } from 'etcd3';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { LocalUsageError } from '../transport-abstraction/errors.js';
import type { Peer } from '../wedge/wedge.js';
import type { PeerSource, PeerSourceEvents } from './peers-file.js';

/** A member as the registry records it. */
export interface RegistryMember {
  readonly id: string;
  readonly address: string;
  readonly udpPort: number;
  readonly weight: number;
}

export interface RegistryUrl {
  /** host:port of each etcd endpoint, as http:// (etcd://) or https:// (etcds://) URLs for the client. */
  readonly hosts: readonly string[];
  /** The key prefix, without a trailing slash ("/baton/pool1"). */
  readonly prefix: string;
  /** etcds://: the CA (undefined: the system's) and the client certificate, PEM, read from the files named. */
  readonly tls?: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  /** `auth=FILE`: etcd user and password, read from the file. */
  readonly auth?: { readonly username: string; readonly password: string };
}

const URL_SYNTAX = 'etcd[s]://HOST:PORT[,HOST:PORT...]/PREFIX[?ca=FILE&cert=FILE&key=FILE&auth=FILE]';

/** Parses `etcd[s]://HOST:PORT[,HOST:PORT...]/PREFIX[?QUERY]`, reading the files the query names; throws LocalUsageError. */
export function parseRegistryUrl(text: string): RegistryUrl {
  const m = /^(etcds?):\/\/([^/?]+)(\/[^?]*)(?:\?(.*))?$/.exec(text);
  if (!m) throw new LocalUsageError(`--registry must be ${URL_SYNTAX}, not "${text}"`);
  const secure = m[1] === 'etcds';
  const hosts = m[2]!.split(',').map((h) => {
    if (!/^(\[[^\]]+\]|[^:[\]]+):\d{1,5}$/.test(h)) throw new LocalUsageError(`--registry: "${h}" is not HOST:PORT`);
    return `${secure ? 'https' : 'http'}://${h}`;
  });
  const prefix = m[3]!.replace(/\/+$/, '');
  if (prefix === '') throw new LocalUsageError(`--registry needs a key prefix after the host, e.g. etcd://127.0.0.1:2379/baton`);
  const files = new Map<string, string>();
  for (const pair of m[4] === undefined || m[4] === '' ? [] : m[4].split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    let value = '';
    try {
      value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
    } catch {
      // a malformed %-escape: refused below
    }
    if (!['ca', 'cert', 'key', 'auth'].includes(name) || value === '') throw new LocalUsageError(`--registry: "${pair}" is not one of ca=FILE, cert=FILE, key=FILE, auth=FILE`);
    if (files.has(name)) throw new LocalUsageError(`--registry: ${name} given twice`);
    files.set(name, value);
  }
  if (!secure && (files.has('ca') || files.has('cert') || files.has('key'))) throw new LocalUsageError('--registry: ca, cert and key are for TLS: use etcds://');
  if (files.has('cert') !== files.has('key')) throw new LocalUsageError('--registry: give a client certificate with both cert=FILE and key=FILE');
  const read = (name: string): Buffer | undefined => {
    const file = files.get(name);
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw new LocalUsageError(`--registry: cannot read the ${name} file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const tls = secure ? { ...(files.has('ca') ? { ca: read('ca')! } : {}), ...(files.has('cert') ? { cert: read('cert')!, key: read('key')! } : {}) } : undefined;
  const authText = read('auth');
  let auth: RegistryUrl['auth'];
  if (authText !== undefined) {
    const line = authText.toString('utf8').split(/\r?\n/)[0]!;
    const colon = line.indexOf(':');
    if (colon <= 0 || colon === line.length - 1) throw new LocalUsageError(`--registry: the auth file ${files.get('auth')} must hold USER:PASSWORD on its first line`);
    auth = { username: line.slice(0, colon), password: line.slice(colon + 1) };
  }
  return { hosts, prefix, ...(tls !== undefined ? { tls } : {}), ...(auth !== undefined ? { auth } : {}) };
}

/** The etcd3 client's options for `url`: its hosts, TLS credentials and login. */
export function etcdClientOptions(url: RegistryUrl, dialTimeout: number): IOptions {
  const tls = url.tls;
  return {
    hosts: [...url.hosts],
    dialTimeout,
    // etcd3 uses the system's CAs for https:// hosts without credentials; with a client certificate or CA it needs them all here.
    ...(tls?.ca !== undefined || tls?.cert !== undefined ? { credentials: { rootCertificate: tls.ca ?? null!, ...(tls.key ? { privateKey: tls.key } : {}), ...(tls.cert ? { certChain: tls.cert } : {}) } } : {}),
    ...(url.auth !== undefined ? { auth: { username: url.auth.username, password: url.auth.password } } : {}),
  };
}

/** etcd3 (and gRPC) loaded on first use: a client or server without --registry does not pay for it. */
const etcd3 = async (): Promise<typeof import('etcd3')> => import('etcd3');

const membersKey = (prefix: string): string => `${prefix}/members/`;

/** Parses one member record; undefined for a malformed one (ignored, never a crash). */
export function parseMemberRecord(text: string): RegistryMember | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const weight = r.weight ?? 1;
  if (typeof r.id !== 'string' || !/^[^\s@,]+$/.test(r.id) || typeof r.address !== 'string' || isIP(r.address) === 0) return undefined;
  if (typeof r.udpPort !== 'number' || !Number.isInteger(r.udpPort) || r.udpPort < 1 || r.udpPort > 65_535) return undefined;
  if (typeof weight !== 'number' || !(weight >= 0)) return undefined;
  return { id: r.id, address: r.address, udpPort: r.udpPort, weight };
}

/** The members registered now (a client's server list). */
export async function listMembers(url: RegistryUrl, timeoutMs = 5000): Promise<RegistryMember[]> {
  const client = new (await etcd3()).Etcd3(etcdClientOptions(url, timeoutMs));
  try {
    const all = await client.getAll().prefix(membersKey(url.prefix)).strings();
    return Object.values(all)
      .map(parseMemberRecord)
      .filter((m): m is RegistryMember => m !== undefined)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  } finally {
    client.close();
  }
}

export interface EtcdRegistryOptions {
  readonly url: RegistryUrl;
  /** This member's record. */
  readonly self: RegistryMember;
  /** Lease time to live, seconds (etcd raises values below its minimum, about 2 s with its defaults). */
  readonly ttlSec: number;
}

/** A member's registration: its lease, its key, and a watch on everyone else's. A PeerSource. */
export class EtcdRegistry implements PeerSource {
  private readonly members = new Map<string, RegistryMember>();
  private watcher: Watcher | undefined;
  private lease: Lease | undefined;
  /** The store revision the pool was read at: the watch starts right after it, so no change falls between. */
  private revision = '0';
  private stopped = false;

  private constructor(
    private readonly client: Etcd3,
    private readonly options: EtcdRegistryOptions,
  ) {}

  /** Registers `self` under a lease and reads the pool; rejects when etcd cannot be reached. */
  static async join(options: EtcdRegistryOptions): Promise<EtcdRegistry> {
    const client = new (await etcd3()).Etcd3(etcdClientOptions(options.url, 5000));
    const r = new EtcdRegistry(client, options);
    try {
      await r.register();
      const read = await client.getAll().prefix(membersKey(options.url.prefix)).exec();
      r.revision = String(read.header.revision);
      for (const kv of read.kvs) {
        const m = parseMemberRecord(kv.value.toString('utf8'));
        if (m !== undefined) r.members.set(m.id, m);
      }
    } catch (error) {
      client.close();
      throw new LocalUsageError(`--registry: cannot register with etcd at ${options.url.hosts.join(',')}: ${(error as Error).message}`);
    }
    return r;
  }

  /** The pool now (this member included). */
  get peers(): Peer[] {
    return [...this.members.values()].map((m) => ({ id: m.id, address: m.address, weight: m.weight }));
  }

  /** Every member's record (udpPort included). */
  records(): RegistryMember[] {
    return [...this.members.values()];
  }

  /** Watches the pool: `gone` for a member whose key was deleted (lease expired or revoked), then `changed`. */
  start(events: PeerSourceEvents): () => void {
    const prefix = membersKey(this.options.url.prefix);
    void this.client
      .watch()
      .prefix(prefix)
      .startRevision(String(BigInt(this.revision) + 1n))
      .create()
      .then((w) => {
        if (this.stopped) return void w.cancel();
        this.watcher = w;
        w.on('put', (kv) => {
          const m = parseMemberRecord(kv.value.toString('utf8'));
          if (m === undefined) return events.refused(`registry: malformed member record at ${kv.key.toString('utf8')}`);
          this.members.set(m.id, m);
          events.changed(this.peers);
        });
        w.on('delete', (kv) => {
          const id = kv.key.toString('utf8').slice(prefix.length);
          if (id === this.options.self.id) {
            // Our own key: the lease was lost (etcd unreachable for longer than ttl). Register again.
            if (!this.stopped) void this.register().catch((e: Error) => events.refused(`registry: re-registering failed: ${e.message}`));
            return;
          }
          if (!this.members.delete(id)) return;
          events.gone?.(id);
          events.changed(this.peers);
        });
        w.on('error', (e) => events.refused(`registry: watch: ${e.message}`));
      })
      .catch((e: Error) => events.refused(`registry: watch: ${e.message}`));
    return () => void this.leave();
  }

  /** Deregisters (revokes the lease: every member sees the delete at once) and closes the client. */
  async leave(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.watcher?.cancel().catch(() => undefined);
    await this.lease?.revoke().catch(() => undefined);
    this.client.close();
  }

  private async register(): Promise<void> {
    this.lease?.release();
    const lease = this.client.lease(this.options.ttlSec, { autoKeepAlive: true });
    this.lease = lease;
    lease.on('lost', () => {
      if (!this.stopped && this.lease === lease) void this.register().catch(() => undefined);
    });
    await lease.put(`${membersKey(this.options.url.prefix)}${this.options.self.id}`).value(JSON.stringify(this.options.self));
    this.members.set(this.options.self.id, this.options.self);
  }
}
