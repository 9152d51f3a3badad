// `baton cat`: a netcat over baton's transports, and the paper's getsockstate/setsockstate by hand.
//
//   baton cat ADDR[:PORT]                         connect; stdin -> stream, stream -> stdout
//   baton cat --listen ADDR[:PORT]                accept one connection, same piping
//   baton cat --listen A --send-file F --state-out S   serve F, keep S holding the exported state
//   baton cat --take-over S --listen B --send-file F   take the connection over from B's address
//                                                 and continue F at the client's next missing byte
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { parseAddress } from '../transport-abstraction/address.js';
import { BatonError, LocalUsageError, TransportError } from '../transport-abstraction/errors.js';
import type { TransportSocket } from '../node/socket.js';
import { FileSource } from './file-source.js';
import { BatonServer, connect } from '../api.js';
import { decodeTransportState, encodeTransportState } from '../transport-abstraction/state.js';
import type { TransportState } from '../transport-abstraction/state-types.js';
import type { MigratableTransport, ResumeMode, TransportKind } from '../transport-abstraction/transport.js';
import { DEFAULT_UDP_PORT, parseTransportKind } from '../transports.js';
import { describeCause } from './causes.js';

interface CatOptions {
  listen?: string;
  transport: string;
  udpEncapPort?: string;
  peerEncapPort?: string;
  local?: string;
  sendFile?: string;
  stateOut?: string;
  takeOver?: string;
  resume: string;
  takeoverNumber?: string;
  rtoMin?: string;
  mtu?: string;
  verbose?: boolean;
  closeOnEof?: boolean;
  rate?: string;
}

export function catCommand(): Command {
  return new Command('cat')
    .summary("netcat over baton's transports, and failover by hand (--state-out / --take-over)")
    .description(
      [
        "A netcat over baton's migratable transports. Connects to ADDR[:PORT] (or, with --listen, accepts one connection), copies standard input (or --send-file) to the stream and the stream to standard output. PORT is the SCTP/TCP port inside UDP (default 9899 for sctp, 9898 for tcp); the UDP ports are --udp-encap-port (ours) and --peer-encap-port (theirs).",
        'Failover by hand (the paper\'s getsockstate/setsockstate): serve a file with --state-out PATH; from another address run --take-over PATH with the same file. The client keeps its connection and gets the file byte-exact even if the first server is killed mid-file.',
        'Exit status: 0 only after a clean shutdown; 1 when the connection is refused, aborted or lost (the cause is printed); 2 for bad arguments.',
      ].join('\n\n'),
    )
    .argument('[target]', 'ADDR[:PORT] to connect to')
    .option('-l, --listen <ADDR[:PORT]>', 'accept one connection on this address')
    .addOption(new Option('-t, --transport <kind>', 'transport').choices(['sctp', 'tcp']).default('sctp'))
    .option('--udp-encap-port <port>', 'our UDP port (default: 9899/9898 when listening, any free port when connecting)')
    .option('--peer-encap-port <port>', "the peer's UDP port (default 9899 for sctp, 9898 for tcp)")
    .option('--local <ADDR>', 'local address to connect from (default 127.0.0.1 for a loopback target, else 0.0.0.0)')
    .option('--send-file <FILE>', 'send this file instead of standard input, then close')
    .option('--state-out <PATH>', 'keep PATH holding the exported connection state (rewritten atomically on change)')
    .option('--take-over <PATH>', 'import the state in PATH and take that connection over from --listen ADDR')
    .addOption(new Option('--resume <mode>', 'after a takeover, resend only the holes or everything after the first one').choices(['gap-fill', 'go-back-n']).default('gap-fill'))
    .option('--takeover-number <n>', "takeover request number (default: the state's number + 1)")
    .option('--rto-min <ms>', 'lower bound of the retransmission timeout in ms (default 1000, the RFCs; 200 suits loopback)')
    .option('--mtu <bytes>', 'path MTU used to size packets (default 1280 for sctp)')
    .option('--rate <bytes/s>', 'pace --send-file at most this many bytes per second (to watch or kill a stream mid-file)')
    .option('-N, --close-on-eof', 'close the connection when standard input ends (default: keep receiving until the peer closes)')
    .option('-v, --verbose', 'report connection progress on standard error')
    .action(async (target: string | undefined, options: CatOptions) => {
      process.exitCode = await runCat(target, options);
    });
}

function fail(message: string): never {
  throw new LocalUsageError(message);
}

function portOption(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`${name} must be a UDP port (0-65535), not "${text}"`);
  return port;
}

function numberOption(text: string | undefined, name: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) fail(`${name} must be a number >= ${min}, not "${text}"`);
  return value;
}

/** Runs the command; resolves to the exit status. */
export async function runCat(target: string | undefined, o: CatOptions): Promise<number> {
  const log = o.verbose ? (line: string) => process.stderr.write(`baton cat: ${line}\n`) : () => {};
  let kind: TransportKind;
  let session: Session;
  try {
    kind = parseTransportKind(o.transport);
    session = await open(kind, target, o, log);
  } catch (error) {
    process.stderr.write(`baton cat: ${error instanceof Error ? error.message : String(error)}\n`);
    return error instanceof LocalUsageError || (error instanceof BatonError && error.code === 'BATON_ERR_BAD_ADDRESS') ? 2 : 1;
  }
  return session.done;
}

interface Session {
  readonly done: Promise<number>;
}

async function open(kind: TransportKind, target: string | undefined, o: CatOptions, log: (line: string) => void): Promise<Session> {
  const defaultPort = DEFAULT_UDP_PORT[kind];
  const localUdp = portOption(o.udpEncapPort, '--udp-encap-port');
  const peerUdp = portOption(o.peerEncapPort, '--peer-encap-port') ?? defaultPort;
  const rtoMin = numberOption(o.rtoMin, '--rto-min', 1);
  const mtu = numberOption(o.mtu, '--mtu', 576);
  numberOption(o.rate, '--rate', 1);
  if (o.rate !== undefined && o.sendFile === undefined) fail('--rate paces --send-file; give a file');
  const tuning = { ...(rtoMin !== undefined ? { rtoMin } : {}), ...(mtu !== undefined ? { mtu } : {}) };

  if (o.takeOver !== undefined) {
    if (o.listen === undefined) fail('--take-over needs --listen ADDR: the address this server takes the connection over from');
    if (o.sendFile === undefined) fail('--take-over needs --send-file FILE: the file the stream carries');
    if (target !== undefined) fail('--take-over takes no target: the client is named in the state');
    return takeOver(kind, o, localUdp, tuning, log);
  }
  if (o.listen !== undefined) {
    if (target !== undefined) fail('give either a target to connect to or --listen, not both');
    const at = parseAddress(o.listen, defaultPort);
    const file = await openFile(o);
    const server = await BatonServer.listen({ transport: kind, address: at.address, port: at.port, udpPort: localUdp ?? defaultPort, ...tuning });
    log(`listening on ${server.addresses.map((a) => `${a.address} udp ${a.port}`).join(', ')} (${kind} port ${at.port})`);
    const done = new Promise<number>((resolve) => {
      server.once('connection', (socket) => {
        log(`accepted a connection from ${socket.remote.address} udp ${socket.remote.port}`);
        resolve(pipeConnection(socket, server, o, log, file));
      });
    });
    return { done };
  }
  if (target === undefined) fail('give ADDR[:PORT] to connect to, or --listen ADDR[:PORT]');
  if (o.stateOut !== undefined) fail('--state-out is for the serving side (--listen)');
  const remoteAt = parseAddress(target, defaultPort);
  if (o.local !== undefined) parseAddress(o.local, 0);
  const socket = await connect({
    transport: kind,
    address: remoteAt.address,
    port: remoteAt.port,
    udpPort: peerUdp,
    ...(o.local !== undefined ? { localAddress: o.local } : {}),
    ...(localUdp !== undefined ? { localUdpPort: localUdp } : {}),
    ...tuning,
  });
  log(`connecting to ${remoteAt.address} ${kind} port ${remoteAt.port} over udp ${peerUdp}`);
  return { done: pipeConnection(socket, undefined, o, log, await openFile(o)) };
}

/** --send-file as the library's stream source (paced by --rate); undefined for standard input. */
async function openFile(o: CatOptions): Promise<FileSource | undefined> {
  if (o.sendFile === undefined) return undefined;
  const rate = numberOption(o.rate, '--rate', 1);
  try {
    return await FileSource.open(o.sendFile, rate);
  } catch (error) {
    fail(`cannot read ${o.sendFile}: ${(error as Error).message}`);
  }
}

/**
 * Pipe one connection to stdin/stdout (or send the file through the library's StreamSender) until
 * it closes; resolves to the exit status. `server` (when serving) is closed at the end and gives
 * the clock for state exports. With `resume` (a taker's socket) the file continues at the client's
 * next missing byte once the takeover completes.
 */
function pipeConnection(socket: TransportSocket, server: BatonServer | undefined, o: CatOptions, log: (line: string) => void, file: FileSource | undefined, resume = false): Promise<number> {
  const state = o.stateOut !== undefined && server ? new StateFile(o.stateOut, socket.transport, o.sendFile, () => server.now()) : undefined;
  if (state) socket.on('state-changed', () => state.changed());
  if (file) file.onError = (error) => socket.destroy(error);
  const start = () => {
    log('connected');
    state?.changed();
    if (!resume) send(o, socket, file);
  };
  if (socket.stateName === 'ESTABLISHED' && !resume) queueMicrotask(start);
  else socket.on('connect', start);
  socket.on('taken-over', (ev) => log(`taken over by ${ev.peer.address} (request ${ev.requestNumber})`));
  socket.on('takeover-refused', (ev) => log(`refused a takeover from ${ev.peer.address} (request ${ev.requestNumber}): ${ev.reason}`));
  if (resume) {
    socket.on('takeover-complete', ({ receiver }) => {
      log(`client holds ${receiver.nextOffset} bytes in order${receiver.heldRanges.length ? ` and ${receiver.heldRanges.length} later ranges` : ''}; resuming there`);
    });
    socket.sendFrom(file!, { resume: true });
  }
  socket.pipe(process.stdout, { end: false });
  return new Promise<number>((resolve) => {
    const finish = (status: number) => {
      void Promise.all([state?.flush(), server?.close(), file?.close()]).finally(() => resolve(status));
    };
    socket.on('error', (error: Error) => {
      process.stderr.write(`baton cat: ${describeError(error)}\n`);
      finish(1);
    });
    socket.on('close', () => {
      if (socket.errored) return;
      log('closed cleanly');
      finish(0);
    });
    // A peer that ends its side gets ours ended too (SCTP has no half-close anyway).
    socket.on('end', () => socket.end());
  });
}

/** Feed the socket from --send-file or standard input. */
function send(o: CatOptions, socket: TransportSocket, file: FileSource | undefined): void {
  if (file !== undefined) {
    socket.sendFrom(file);
    return;
  }
  // Like nc: the end of standard input does not close the connection unless asked (-N), since an
  // SCTP SHUTDOWN would stop the peer from sending the rest of its stream.
  process.stdin.pipe(socket, { end: o.closeOnEof === true });
}

async function takeOver(kind: TransportKind, o: CatOptions, localUdp: number | undefined, tuning: { rtoMin?: number; mtu?: number }, log: (line: string) => void): Promise<Session> {
  const state = await readState(o.takeOver!);
  const stateKind: TransportKind = state.sctp ? 'sctp' : 'tcp';
  if (stateKind !== kind) fail(`${o.takeOver} holds a ${stateKind} connection; run with --transport ${stateKind}`);
  const file = (await openFile(o))!;
  if (state.stream && state.stream.objectLength !== 0 && state.stream.objectLength !== file.size) {
    await file.close();
    fail(`${o.sendFile} is ${file.size} bytes but the stream carried a ${state.stream.objectLength}-byte object: not the same file`);
  }
  const at = parseAddress(o.listen!, state.server.port);
  const server = await BatonServer.listen({ transport: kind, address: at.address, port: state.server.port, udpPort: localUdp ?? state.server.udpPort, accept: false, ...tuning });
  const n = o.takeoverNumber !== undefined ? numberOption(o.takeoverNumber, '--takeover-number', 1)! : state.takeoverNumber + 1;
  const mode = o.resume as ResumeMode;
  log(`taking over ${state.client.address} udp ${state.client.udpPort} from ${at.address} with request ${n} (${mode})`);
  const socket = server.takeOver(state, { requestNumber: n, mode });
  const done = pipeConnection(socket, server, o, log, file, true);
  return { done };
}

async function readState(path: string): Promise<TransportState> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    fail(`cannot read the state file ${path}: ${(error as Error).message}`);
  }
  try {
    return decodeTransportState(bytes);
  } catch (error) {
    const code = error instanceof BatonError ? ` (${error.code})` : '';
    fail(`${path} is not a baton connection state${code}: ${(error as Error).message}`);
  }
}

/** Keeps a file holding the connection's current exported state, rewritten atomically. */
class StateFile {
  private last: Uint8Array | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly conn: MigratableTransport,
    private readonly file: string | undefined,
    private readonly now: () => number,
  ) {}

  changed(): void {
    const state = this.conn.exportState(this.now());
    state.takenAtMs = Date.now();
    if (this.file !== undefined) {
      state.stream = {
        applicationProtocol: 'file',
        objectName: basename(this.file),
        request: new Uint8Array(0),
        responseHeaderLength: 0,
        validator: '',
        objectLength: 0,
        objectStart: 0,
        requestStreamOffset: 0,
      };
    }
    const bytes = encodeTransportState(state);
    if (this.last && Buffer.compare(this.last, bytes) === 0) return;
    this.last = bytes;
    this.writing = this.writing.then(() => this.write(bytes), () => this.write(bytes));
  }

  private async write(bytes: Uint8Array): Promise<void> {
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, this.path);
  }

  flush(): Promise<void> {
    return this.writing.catch((error) => {
      process.stderr.write(`baton cat: cannot write ${this.path}: ${(error as Error).message}\n`);
    });
  }
}

function describeError(error: Error): string {
  if (error instanceof TransportError) {
    const cause = error.wireCause !== undefined ? ` (cause ${error.wireCause}: ${describeCause(error.wireCause)})` : '';
    return `${error.message}${cause} [${error.code}]`;
  }
  if (error instanceof BatonError) return `${error.message} [${error.code}]`;
  return error.message;
}
