// `baton serve`: the wedge as a daemon, one process per server of the pool (the surface agreed in
// SERVE-SPEC.md). This file checks the arguments (exit 2 and one line before anything is bound);
// src/node/wedge-daemon.ts does the I/O.
import { Command, type CommanderError } from 'commander';
import { parseAddress } from '../transport-abstraction/address.js';
import { BatonError, LocalUsageError } from '../transport-abstraction/errors.js';
import { parseBackendUrl } from '../node/tcp-backend.js';
import { loadPeers, readGroupKey } from '../node/peers-file.js';
import { parseRegistryUrl } from '../node/registry-etcd.js';
import { parseTakeoverPolicy, TAKEOVER_POLICIES } from '../wedge/policy-takeover.js';
import { logWriter, WedgeDaemon, type WedgeDaemonConfig } from '../node/wedge-daemon.js';
import { DEFAULT_UDP_PORT, parseTransportKind } from '../transports.js';
import type { MediaRate } from '../wedge/media-mapper.js';
import { parseRate } from '../wedge/media-pace.js';

export interface ServeCommandOptions {
  transport: string;
  listen: string;
  port?: string;
  backend?: string;
  service: string;
  id?: string;
  peers?: string;
  registry?: string;
  registryTtl: string;
  takeoverPolicy: string;
  weight: string;
  poolHandle: string;
  softStatePort: string;
  groups: string;
  groupKey: string;
  updateSec?: string;
  cacheTimeout: string;
  deadAfter: string;
  health: string;
  admin?: string;
  rtoMin?: string;
  mtu?: string;
  plpmtud?: boolean;
  pace?: string;

  headTimeout: string;
  idleTimeout: string;
  blindResume?: boolean;
  log: string;
}

export function serveCommand(): Command {
  return new Command('serve')
    .summary('the wedge: serve HTTP over migratable connections and take over a dead member\'s clients')
    .description(
      [
        "Runs one server of a baton pool: accepts clients' migratable connections (SCTP or TCP-Migrate in UDP) on --listen, relays each HTTP/1.1 request to --backend, shares every connection's state with its support group (sealed with the group key), and when a member dies takes its connections over and resumes each stream at the client's next byte (Range/If-Range).",
        'Exit status: 2 for bad arguments or unreadable files, 1 when it cannot start (address in use), 0 after SIGTERM or SIGINT.',
      ].join('\n\n'),
    )
    .option('-t, --transport <kind>', 'sctp or tcp', 'sctp')
    .requiredOption('-l, --listen <ADDR[:UDPPORT]>', 'client-facing address; UDP port default 9899 (sctp) / 9898 (tcp)')
    .option('--port <n>', 'the SCTP/TCP port inside UDP (default 9899 / 9898)')
    .option('--backend <URL>', 'http://HOST:PORT of the content server (HTTP/1.1 with Range); required with --service http and http,voice')
    .option('--service <kind>', 'http (relay requests to --backend), voice (every connection is a telephony call: README "Telephony sessions"), or http,voice (both, each connection by its first byte; --transport tcp)', 'http')
    .option('--id <id>', "this server's id (default: the listen address)")
    .option('--peers <FILE|LIST>', 'the pool: ID@ADDR[=WEIGHT],... or a file with one a line (re-read when it changes); or --registry')
    .option('--registry <URL>', 'the pool from etcd instead: etcd[s]://HOST:PORT[,HOST:PORT...]/PREFIX[?ca=FILE&cert=FILE&key=FILE&auth=FILE] (members hold a lease; an expired lease is a dead member; etcds: TLS; auth: a file holding USER:PASSWORD)')
    .option('--registry-ttl <s>', "the registry lease's time to live", '5')
    .option('--takeover-policy <name>', `who takes a dead member's connections: ${TAKEOVER_POLICIES.join(', ')}`, 'backoff')
    .option('--weight <w>', "this server's weight for the weighted policies (in a --registry; a static pool lists weights in --peers)", '1')
    .option('--pool-handle <name>', 'the pool handle clients look up on --admin (GET /pool/NAME)', 'baton')
    .option('--soft-state-port <n>', "UDP port of every member's soft-state channel", '9897')
    .option('--groups <n>', 'support groups (1: everyone supports everyone)', '1')
    .requiredOption('--group-key <FILE>', '64 hex characters (baton keygen)')
    .option('--update-sec <s>', 'announcement period (default 3, or 0.1 when the wedge hosts calls)')
    .option('--cache-timeout <s>', 'soft-state expiry', '10')
    .option('--dead-after <n>', 'heartbeat: silent announcement periods before a member is dead', '3')
    .option('--health <mode>', 'heartbeat or external (only `baton monitor declare-dead`)', 'heartbeat')
    .option('--admin <ADDR:PORT>', 'HTTP: GET /metrics (Prometheus), GET /status (JSON)')
    .option('--rto-min <ms>', 'lower bound of the retransmission timeout')
    .option('--mtu <bytes>', 'path MTU (with --plpmtud: the most the search tries, default 1500)')
    .option('--plpmtud', 'SCTP: discover each client path\'s MTU (RFC 8899 probes, 1200 up to --mtu); a path with a smaller MTU than --mtu then still carries full packets')
    .option('--pace <RATE|ts>', 'serve every resumable body at this media bit rate (e.g. 1.5M, 256k), or ts: each MPEG-TS object at its own PCR rate (README "Media streams")')

    .option('--head-timeout <s>', 'a request head begun must be complete within this (else 408 and close)', '30')
    .option('--idle-timeout <s>', 'a connection with no request under way and no byte of the next is closed after this', '60')
    .option('--no-blind-resume', "a taker never sends stream bytes with its takeover request (by default it does when the announced state places the client well enough: README \"Takeover latency\")")
    .option('--log <format>', 'json or text', 'json')
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : 2))
    .action(async (options: ServeCommandOptions) => {
      process.exitCode = await runServe(options);
    });
}

/** `--service`: http, voice, or both on one wedge (http,voice in either order: src/wedge/service-dispatch.ts). */
function parseService(text: string): 'http' | 'voice' | 'http,voice' {
  const kinds = [...new Set(text.split(',').map((k) => k.trim()))].sort();
  if (kinds.length === 0 || kinds.some((k) => k !== 'http' && k !== 'voice')) fail(`--service must be http, voice or http,voice, not "${text}"`);
  return kinds.join(',') as 'http' | 'voice' | 'http,voice';
}

function fail(message: string): never {
  throw new LocalUsageError(message);
}

function number(text: string | undefined, name: string, min: number, max: number, integer = true): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) fail(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, not "${text}"`);
  return v;
}

function parsePace(text: string): MediaRate {
  if (text === 'ts') return 'mpeg-ts';
  try {
    return parseRate(text);
  } catch (error) {
    fail(`--pace: ${(error as Error).message} [${(error as BatonError).code}]`);
  }
}

/** Checks every option and reads the files; throws LocalUsageError / AddressError (exit 2). */
export function parseServeConfig(o: ServeCommandOptions): WedgeDaemonConfig {
  const transport = parseTransportKind(o.transport);
  const listen = parseAddress(o.listen, DEFAULT_UDP_PORT[transport]);
  const service = parseService(o.service);
  if (service === 'http,voice' && transport === 'sctp') {
    fail('--service http,voice needs --transport tcp: an SCTP endpoint runs one send mode (byte stream for HTTP, messages for calls), fixed before a connection\'s first byte (run two wedges, one per service)');
  }
  if (service !== 'voice') {
    if (o.backend === undefined) fail(`required option '--backend <URL>' not specified (with --service ${service})`);
    parseBackendUrl(o.backend);
  } else if (o.backend !== undefined) fail('--backend: a wedge hosting calls (--service voice) has no content server');
  if (o.health !== 'heartbeat' && o.health !== 'external') fail(`--health must be heartbeat or external, not "${o.health}"`);
  if (o.log !== 'json' && o.log !== 'text') fail(`--log must be json or text, not "${o.log}"`);
  if (o.id !== undefined && !/^[^\s@,]+$/.test(o.id)) fail(`--id must be non-empty without spaces, '@' or ',', not "${o.id}"`);
  const updateSec = number(o.updateSec ?? (service !== 'http' ? '0.1' : '3'), '--update-sec', 0.01, 3600, false)!;
  const cacheTimeout = number(o.cacheTimeout, '--cache-timeout', 0.01, 86_400, false)!;
  const deadAfter = number(o.deadAfter, '--dead-after', 1, 1000)!;
  if (deadAfter * updateSec * 1.1 >= cacheTimeout) fail(`--dead-after × --update-sec (+10% grace) must be below --cache-timeout, or a dead member's state expires before its death is noticed (${deadAfter} × ${updateSec} s vs ${cacheTimeout} s)`);
  let admin: WedgeDaemonConfig['admin'];
  if (o.admin !== undefined) {
    if (!/:\d+$/.test(o.admin)) fail(`--admin needs ADDR:PORT, not "${o.admin}"`);
    const a = parseAddress(o.admin, 0);
    admin = { host: a.address, port: a.port };
  }
  const softStatePort = number(o.softStatePort, '--soft-state-port', 1, 65_535)!;
  if (softStatePort === listen.port) fail(`--soft-state-port ${softStatePort} is the client-facing UDP port of --listen`);
  if ((o.peers === undefined) === (o.registry === undefined)) fail('give the pool with --peers FILE|LIST or --registry etcd[s]://HOST:PORT/PREFIX (one of them)');
  const { peers, file } = o.peers !== undefined ? loadPeers(o.peers) : { peers: [], file: undefined };
  const registry = o.registry !== undefined ? { url: parseRegistryUrl(o.registry), ttlSec: number(o.registryTtl, '--registry-ttl', 1, 3600)! } : undefined;
  if (!/^[A-Za-z0-9._~-]+$/.test(o.poolHandle)) fail(`--pool-handle must be letters, digits, '.', '_', '~' or '-', not "${o.poolHandle}"`);
  const rtoMin = number(o.rtoMin, '--rto-min', 1, 60_000);
  const mtu = number(o.mtu, '--mtu', 576, 65_535);
  const pace = o.pace === undefined ? undefined : parsePace(o.pace);

  const headTimeout = number(o.headTimeout, '--head-timeout', 0.01, 86_400, false)!;
  const idleTimeout = number(o.idleTimeout, '--idle-timeout', 0.01, 86_400, false)!;
  return {
    transport,
    listen,
    port: number(o.port, '--port', 1, 65_535) ?? DEFAULT_UDP_PORT[transport],
    backend: o.backend,
    service,
    id: o.id ?? listen.address,
    peers,
    peersFile: file,
    softStatePort,
    groups: number(o.groups, '--groups', 1, 0xffffffff)!,
    groupKey: readGroupKey(o.groupKey),
    updateMs: updateSec * 1000,
    cacheTimeoutMs: cacheTimeout * 1000,
    deadAfterPeriods: deadAfter,
    health: o.health,
    admin,
    ...(rtoMin !== undefined ? { rtoMin } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
    ...(o.plpmtud === true ? { plpmtud: true } : {}),
    ...(pace !== undefined ? { pace } : {}),

    headTimeoutMs: headTimeout * 1000,
    idleTimeoutMs: idleTimeout * 1000,
    ...(o.blindResume === false ? { blindResume: false } : {}),
    logFormat: o.log,
    takeoverPolicy: parseTakeoverPolicy(o.takeoverPolicy),
    weight: number(o.weight, '--weight', 0, 1e9, false)!,
    poolHandle: o.poolHandle,
    ...(registry !== undefined ? { registry } : {}),
  };
}

/** Runs the daemon; resolves to the exit status once a signal stops it (or at once on errors). */
export async function runServe(options: ServeCommandOptions): Promise<number> {
  let config: WedgeDaemonConfig;
  try {
    config = parseServeConfig(options);
  } catch (error) {
    process.stderr.write(`baton serve: ${(error as Error).message}\n`);
    return 2;
  }
  const log = logWriter(config.id, config.logFormat);
  let daemon: WedgeDaemon;
  try {
    daemon = await WedgeDaemon.start(config, log);
  } catch (error) {
    const code = error instanceof BatonError ? ` [${error.code}]` : '';
    process.stderr.write(`baton serve: cannot start: ${(error as Error).message}${code}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await daemon.stop();
  log('stopped', {});
  return 0;
}
