// UDP endpoints: every baton transport is carried in UDP, so an "address" is an IP address plus a UDP port.
import { isIP } from 'node:net';
import { BatonError } from './errors.js';

export interface UdpAddress {
  /** IPv4 or IPv6 address in text form, e.g. "127.0.0.2". */
  readonly address: string;
  /** UDP port (the encapsulation port for SCTP per RFC 6951, the carrier port for TCP-Migrate). */
  readonly port: number;
}

/** A stable string key for maps, "127.0.0.1:9899" or "[::1]:9899". */
export function addressKey(a: UdpAddress): string {
  return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

export function sameAddress(a: UdpAddress | undefined, b: UdpAddress | undefined): boolean {
  return a !== undefined && b !== undefined && a.address === b.address && a.port === b.port;
}

export function sameHost(a: UdpAddress | undefined, b: UdpAddress | undefined): boolean {
  return a !== undefined && b !== undefined && a.address === b.address;
}

export class AddressError extends BatonError {
  constructor(message: string) {
    super('BATON_ERR_BAD_ADDRESS', message);
  }
}

/**
 * Parses "ADDR", "ADDR:PORT" or "[V6]:PORT" as typed on a command line.
 * Throws AddressError (code BATON_ERR_BAD_ADDRESS) for anything else.
 */
export function parseAddress(text: string, defaultPort: number): UdpAddress {
  let host = text;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else if ((text.match(/:/g) ?? []).length === 1) {
    [host, portText] = text.split(':') as [string, string];
  }
  if (host === 'localhost') host = '127.0.0.1';
  if (isIP(host) === 0) throw new AddressError(`not an IP address: "${host}" (in "${text}")`);
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new AddressError(`not a UDP port: "${portText}" (in "${text}")`);
  }
  return { address: host, port };
}
