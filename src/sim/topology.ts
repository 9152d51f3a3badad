// Who is where: hosts and their IP addresses, the links between them (explicit, by host or by
// address, or the default link) and partitions.
import { LocalUsageError } from '../transport-abstraction/errors.js';
import type { SimBinding } from './binding.js';
import { isDirected, Pipe, type DirectedLinkConfig, type LinkConfig } from './link.js';
import { deriveSeed } from './support.js';

export interface Host {
  readonly name: string;
  readonly ips: string[];
  alive: boolean;
  readonly bindings: Set<SimBinding>;
}

export class Topology {
  readonly hosts = new Map<string, Host>();
  readonly hostByIp = new Map<string, Host>();
  /** Explicit link directions keyed "h:name>h:name", "a:ip>h:name", ...; default pipes "d:src>dst". */
  private readonly pipes = new Map<string, Pipe>();
  /** Resolved pipe per source IP, then destination IP; cleared whenever links or addresses change. */
  private readonly pipeCache = new Map<string, Map<string, Pipe>>();
  /** host -> hosts it may not reach; empty when there is no partition. */
  readonly blocked = new Map<Host, Set<Host>>();

  constructor(
    private readonly seed: number,
    private readonly defaultLink: LinkConfig,
  ) {}

  addHost(name: string, ips: readonly string[]): void {
    if (this.hosts.has(name)) throw new LocalUsageError(`sim: host "${name}" exists already`);
    if (this.hostByIp.has(name)) throw new LocalUsageError(`sim: host name "${name}" is an address of another host`);
    const host: Host = { name, ips: [], alive: true, bindings: new Set() };
    this.hosts.set(name, host);
    for (const ip of ips) this.addAddress(name, ip);
  }

  /** Give a host one more IP address. */
  addAddress(hostName: string, ip: string): void {
    const host = this.host(hostName);
    const owner = this.hostByIp.get(ip);
    if (owner !== undefined) throw new LocalUsageError(`sim: ${ip} belongs to host "${owner.name}" already`);
    if (this.hosts.has(ip)) throw new LocalUsageError(`sim: ${ip} is the name of a host`);
    host.ips.push(ip);
    this.hostByIp.set(ip, host);
    this.pipeCache.clear();
  }

  /**
   * Link two ends, each a host name or one IP address of a host (an address-level link takes
   * precedence over a host-level one, for multihoming tests). Calling it again reconfigures the
   * link; packets already in it keep their times.
   */
  link(a: string, b: string, spec: LinkConfig | DirectedLinkConfig): void {
    const ka = this.endKey(a);
    const kb = this.endKey(b);
    const ab = isDirected(spec) ? spec.ab : spec;
    const ba = isDirected(spec) ? spec.ba : spec;
    this.setPipe(`${ka}>${kb}`, ab);
    if (ka !== kb) this.setPipe(`${kb}>${ka}`, ba);
    this.pipeCache.clear();
  }

  pipeByName(a: string, b: string): Pipe | undefined {
    return this.pipes.get(`${this.endKey(a)}>${this.endKey(b)}`) ?? this.pipes.get(`d:${a}>${b}`);
  }

  private setPipe(key: string, config: LinkConfig): void {
    const pipe = this.pipes.get(key);
    if (pipe !== undefined) pipe.reconfigure(config);
    else this.pipes.set(key, new Pipe(config, deriveSeed(this.seed, `link:${key}`)));
  }

  private endKey(end: string): string {
    if (this.hosts.has(end)) return `h:${end}`;
    if (this.hostByIp.has(end)) return `a:${end}`;
    throw new LocalUsageError(`sim: "${end}" is neither a host nor an address of a host`);
  }

  pipeFor(srcIp: string, src: Host, dstIp: string, dst: Host): Pipe {
    let bySource = this.pipeCache.get(srcIp);
    if (bySource === undefined) this.pipeCache.set(srcIp, (bySource = new Map()));
    let pipe = bySource.get(dstIp);
    if (pipe !== undefined) return pipe;
    const pipes = this.pipes;
    pipe =
      pipes.get(`a:${srcIp}>a:${dstIp}`) ??
      pipes.get(`a:${srcIp}>h:${dst.name}`) ??
      pipes.get(`h:${src.name}>a:${dstIp}`) ??
      pipes.get(`h:${src.name}>h:${dst.name}`);
    if (pipe === undefined) {
      const key = `d:${src.name}>${dst.name}`;
      pipe = pipes.get(key);
      if (pipe === undefined) {
        pipe = new Pipe(this.defaultLink, deriveSeed(this.seed, `link:${key}`));
        pipes.set(key, pipe);
      }
    }
    bySource.set(dstIp, pipe);
    return pipe;
  }

  /** Drop every packet between a host of `groupA` and a host of `groupB` (both ways) until heal(). */
  partition(groupA: readonly string[], groupB: readonly string[]): void {
    const block = (x: Host, y: Host): void => {
      let set = this.blocked.get(x);
      if (set === undefined) this.blocked.set(x, (set = new Set()));
      set.add(y);
    };
    for (const a of groupA) {
      for (const b of groupB) {
        const ha = this.host(a);
        const hb = this.host(b);
        block(ha, hb);
        block(hb, ha);
      }
    }
  }

  /** Remove every partition. */
  heal(): void {
    this.blocked.clear();
  }

  host(name: string): Host {
    const host = this.hosts.get(name);
    if (host === undefined) throw new LocalUsageError(`sim: no host "${name}"`);
    return host;
  }
}
