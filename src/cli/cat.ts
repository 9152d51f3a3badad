// `baton cat`: a netcat over baton's transports, and the paper's getsockstate/setsockstate by hand.
//
//   baton cat ADDR[:PORT]                         connect; stdin -> stream, stream -> stdout
//   baton cat --listen ADDR[:PORT]                accept one connection, same piping
//   baton cat --listen A --send-file F --state-out S   serve F, keep S holding the exported state
//   baton cat --take-over S --listen B --send-file F   take the connection over from B's address
//                                                 and continue F at the client's next missing byte
import { open as openHandle, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { parseAddress } from '../transport-abstraction/address.js';
import { BatonError, LocalUsageError, TransportError } from '../transport-abstraction/errors.js';
import type { TransportSocket } from '../node/socket.js';
import { FileSource } from './file-source.js';
import { BatonServer, connect } from '../api.js';
import { decodeTransportState, encodeTransportState } from '../transport-abstraction/state.js';
import type { TransportState } from '../transport-abstraction/state-types.js';
import { nextTakeoverNumber, type MigratableTransport, type ResumeMode, type TransportKind } from '../transport-abstraction/transport.js';
import { DEFAULT_UDP_PORT, parseTransportKind } from '../transports.js';
import { describeCause } from './causes.js';
import * as numbers from './numbers.js';

/** The options as commander hands them over (numbers already checked by numbers.ts). */
interface CatOptions {
  listen?: string;
  transport: string;
  udpEncapPort?: number;
  peerEncapPort?: number;
  local?: string;
  sendFile?: string;
  stateOut?: string;
  takeOver?: string;
  resume: string;
  takeoverNumber?: number;
  rtoMin?: number;
  mtu?: number;
  verbose?: boolean;
  closeOnEof?: boolean;
  rate?: number;
}

export function catCommand(): Command {
  return new Command('cat')
    .summary("netcat over baton's transports, and failover by hand (--state-out / --take-over)")
    .description(
      [
        "A netcat over baton's migratable transports. Connects to ADDR[:PORT] (or, with --listen, accepts one connection), copies standard input (or --send-file) to the stream and the stream to standard output. PORT is the SCTP/TCP port inside UDP (default 9899 for sctp, 9898 for tcp); the UDP ports are --udp-encap-port (ours) and --peer-encap-port (theirs).",
        'Failover by hand (the paper\'s getsockstate/setsockstate): serve a file with --state-out PATH; from another address run --take-over PATH with the same file. The client keeps its connection and gets the file byte-exact even if the first server is killed mid-file.',
        'The state file (written mode 0600: it holds the connection key) names the object served: its file name, its length and a validator, the SHA-256 of its contents ("sha256:HEX"; computed once when the command starts, so identical copies on different servers match whatever their mtimes). --take-over refuses a --send-file that differs in any of the three, before it takes anything over.',
        'Exit status: 0 only after a clean shutdown; 1 when the connection is refused, aborted or lost (the cause is printed), when --state-out could not be kept up to date, or when standard output was closed before the stream ended (the connection is aborted: the peer gets an ABORT or RST); 2 for bad arguments, checked before anything is bound.',
      ].join('\n\n'),
    )
    .argument('[target]', 'ADDR[:PORT] to connect to')
    .option('-l, --listen <ADDR[:PORT]>', 'accept one connection on this address')
    .addOption(new Option('-t, --transport <kind>', 'transport').choices(['sctp', 'tcp']).default('sctp'))
    .option('--udp-encap-port <port>', 'our UDP port, 0 for any free one (default: 9899/9898 when listening, any free port when connecting)', numbers.port(0))
    .option('--peer-encap-port <port>', "the peer's UDP port (default 9899 for sctp, 9898 for tcp)", numbers.port(1))
    .option('--local <ADDR>', 'local address to connect from (default 127.0.0.1 for a loopback target, else 0.0.0.0)')
    .option('--send-file <FILE>', 'send this file instead of standard input, then close')
    .option('--state-out <PATH>', 'keep PATH holding the exported connection state (rewritten atomically on change)')
    .option('--take-over <PATH>', 'import the state in PATH and take that connection over from --listen ADDR')
    .addOption(new Option('--resume <mode>', 'after a takeover, resend only the holes or everything after the first one').choices(['gap-fill', 'go-back-n']).default('gap-fill'))
    .option('--takeover-number <n>', "takeover request number, 1 to 4294967295 (default: the state's number + 1)", numbers.takeoverNumber)
    .option('--rto-min <ms>', 'lower bound of the retransmission timeout in ms, 1 to 60000 (default 1000, the RFCs; 200 suits loopback)', numbers.rtoMin)
    .option('--mtu <bytes>', 'path MTU used to size packets, 576 to 65535 (default 1280 for sctp)', numbers.mtu)
    .option('--rate <bytes/s>', 'pace --send-file at most this many bytes per second (to watch or kill a stream mid-file)', numbers.wholeNumber(1, Number.MAX_SAFE_INTEGER))
    .option('-N, --close-on-eof', 'close the connection when standard input ends (default: keep receiving until the peer closes)')
    .option('-v, --verbose', 'report connection progress on standard error')
    .action(async (target: string | undefined, options: CatOptions) => {
      process.exitCode = await runCat(target, options);
    });
}

function fail(message: string): never {
  throw new LocalUsageError(message);
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
  const localUdp = o.udpEncapPort;
  const peerUdp = o.peerEncapPort ?? defaultPort;
  const { rtoMin, mtu } = o;
  if (o.rate !== undefined && o.sendFile === undefined) fail('--rate paces --send-file; give a file');
  if (o.takeoverNumber !== undefined && o.takeOver === undefined) fail('--takeover-number is for --take-over');
  if (o.stateOut !== undefined) await StateFile.check(o.stateOut);
  const tuning = { ...(rtoMin !== undefined ? { rtoMin } : {}), ...(mtu !== undefined ? { mtu } : {}) };

  if (o.takeOver !== undefined) {
    if (o.listen === undefined) fail('--take-over needs --listen ADDR: the address this server takes the connection over from');
    if (o.sendFile === undefined) fail('--take-over needs --send-file FILE: the file the stream carries');
    if (target !== undefined) fail('--take-over takes no target: the client is named in the state');
    return takeOver(kind, o, localUdp, tuning, log);
  }
  if (o.listen !== undefined) {
    if (target !== undefined) fail('give either a target to connect to or --listen, not both');
    const at = transportAddress(o.listen, defaultPort, '--listen');
    const file = await openFile(o);
    const identity = file ? await identify(o.sendFile!, file) : undefined;
    const server = await BatonServer.listen({ transport: kind, address: at.address, port: at.port, udpPort: localUdp ?? defaultPort, ...tuning });
    log(`listening on ${server.addresses.map((a) => `${a.address} udp ${a.port}`).join(', ')} (${kind} port ${at.port})`);
    const done = new Promise<number>((resolve) => {
      server.once('connection', (socket) => {
        log(`accepted a connection from ${socket.remote.address} udp ${socket.remote.port}`);
        resolve(pipeConnection(socket, server, o, log, file, identity));
      });
    });
    return { done };
  }
  if (target === undefined) fail('give ADDR[:PORT] to connect to, or --listen ADDR[:PORT]');
  if (o.stateOut !== undefined) fail('--state-out is for the serving side (--listen)');
  const remoteAt = transportAddress(target, defaultPort, 'the target');
  if (o.local !== undefined) parseAddress(o.local, 0);
  const file = await openFile(o);
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
  return { done: pipeConnection(socket, undefined, o, log, file, undefined) };
}

/** ADDR[:PORT] where PORT is the SCTP/TCP port inside UDP: 0 names no port there. */
function transportAddress(text: string, defaultPort: number, what: string) {
  const at = parseAddress(text, defaultPort);
  if (at.port === 0) fail(`${what} ${text}: port 0 is no SCTP or TCP port (the port inside UDP; --udp-encap-port 0 picks a free UDP port)`);
  return at;
}

/** What the state records of the object the stream carries (StreamMapping's name, length, validator). */
interface ObjectIdentity {
  readonly name: string;
  readonly length: number;
  readonly validator: string;
}

async function identify(path: string, file: FileSource): Promise<ObjectIdentity> {
  try {
    return { name: basename(path), length: file.size, validator: await file.validator() };
  } catch (error) {
    await file.close();
    fail(`--send-file ${path}: cannot read it: ${(error as Error).message}`);
  }
}

/** --send-file as the library's stream source (paced by --rate); undefined for standard input. */
async function openFile(o: CatOptions): Promise<FileSource | undefined> {
  if (o.sendFile === undefined) return undefined;
  try {
    return await FileSource.open(o.sendFile, o.rate);
  } catch (error) {
    fail(`--send-file ${o.sendFile}: cannot read it: ${(error as Error).message}`);
  }
}

/**
 * Pipe one connection to stdin/stdout (or send the file through the library's StreamSender) until
 * it closes; resolves to the exit status. `server` (when serving) is closed at the end and gives
 * the clock for state exports. With `resume` (a taker's socket) the file continues at the client's
 * next missing byte once the takeover completes.
 */
function pipeConnection(socket: TransportSocket, server: BatonServer | undefined, o: CatOptions, log: (line: string) => void, file: FileSource | undefined, identity: ObjectIdentity | undefined, resume = false): Promise<number> {
  const state = o.stateOut !== undefined && server ? new StateFile(o.stateOut, socket.transport, identity, () => server.now()) : undefined;
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
  // A closed standard output (`baton cat ... | head -c 1000`) ends the connection: abort it, so the
  // peer stops sending at once, and exit 1 (never an unhandled EPIPE).
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    socket.destroy(new Error(`standard output closed (${error.code ?? error.message}); connection aborted`));
  });
  socket.pipe(process.stdout, { end: false });
  return new Promise<number>((resolve) => {
    const finish = (status: number) => {
      void Promise.all([state?.flush(), server?.close(), file?.close()]).finally(() => resolve(state?.failed ? 1 : status));
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
  const at = parseAddress(o.listen!, state.server.port);
  const file = (await openFile(o))!;
  const identity = await identify(o.sendFile!, file);
  const mismatch = objectMismatch(o.takeOver!, state, identity);
  if (mismatch !== undefined) {
    await file.close();
    fail(mismatch);
  }
  const server = await BatonServer.listen({ transport: kind, address: at.address, port: state.server.port, udpPort: localUdp ?? state.server.udpPort, accept: false, ...tuning });
  const n = o.takeoverNumber ?? nextTakeoverNumber(state.takeoverNumber);
  const mode = o.resume as ResumeMode;
  log(`taking over ${state.client.address} udp ${state.client.udpPort} from ${at.address} with request ${n} (${mode})`);
  let socket: TransportSocket;
  try {
    socket = server.takeOver(state, { requestNumber: n, mode, resumeFrom: await blindBytes(o.sendFile!, state.streamBytesAcked) });
  } catch (error) {
    await Promise.all([server.close(), file.close()]);
    throw error;
  }
  const done = pipeConnection(socket, server, o, log, file, identity, true);
  return { done };
}

/**
 * The blind resume: the file's bytes from the state's acknowledged point (the stream is the file),
 * at most 64 KiB; the transport sends one window of them with the takeover request, so the client's
 * next byte arrives half a round trip after it when the state is recent.
 */
async function blindBytes(path: string, from: number): Promise<Uint8Array> {
  const handle = await openHandle(path, 'r');
  try {
    const buffer = new Uint8Array(65_536);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Why the taker's file is not the object the state's stream carries; undefined when it is. */
function objectMismatch(path: string, state: TransportState, mine: ObjectIdentity): string | undefined {
  const theirs = state.stream;
  if (theirs === undefined) return `${path} records no file (its server sent standard input): --take-over can only resume a --send-file stream`;
  if (theirs.validator === '') return `${path} records no validator for ${theirs.objectName} (an older baton wrote it): cannot check that --send-file is the same file`;
  const differs = [
    theirs.objectName !== mine.name ? `name ${mine.name} vs ${theirs.objectName}` : undefined,
    theirs.objectLength !== mine.length ? `length ${mine.length} vs ${theirs.objectLength}` : undefined,
    theirs.validator !== mine.validator ? `content ${mine.validator.slice(0, 19)}... vs ${theirs.validator.slice(0, 19)}...` : undefined,
  ].filter((d) => d !== undefined);
  if (differs.length === 0) return undefined;
  return `--send-file is not the object the connection carries (${differs.join('; ')}): refusing to take over`;
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

/**
 * Keeps a file holding the connection's current exported state, rewritten atomically (a temporary
 * file beside it, then rename) with mode 0600: the state holds the connection's key.
 */
class StateFile {
  private last: Uint8Array | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** A write failed (reported once): the file no longer follows the connection. */
  failed = false;

  constructor(
    private readonly path: string,
    private readonly conn: MigratableTransport,
    private readonly object: ObjectIdentity | undefined,
    private readonly now: () => number,
  ) {}

  /**
   * Refuse (LocalUsageError) a path that cannot be kept: a directory, or one whose directory does
   * not exist or cannot be written. Checked before anything listens.
   */
  static async check(path: string): Promise<void> {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) fail(`--state-out ${path} is a directory; give the path of a file`);
    if (path.endsWith('/')) fail(`--state-out ${path} names a directory; give the path of a file`);
    const probe = StateFile.temporary(path);
    try {
      const handle = await openHandle(probe, 'wx', 0o600);
      await handle.close();
      await unlink(probe);
    } catch (error) {
      fail(`--state-out ${path}: cannot write there: ${(error as Error).message}`);
    }
  }

  /** The temporary file for `path`: hidden, in the same directory (so rename is atomic). */
  private static temporary(path: string): string {
    return join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  }

  changed(): void {
    const state = this.conn.exportState(this.now());
    state.takenAtMs = Date.now();
    if (this.object !== undefined) {
      state.stream = {
        applicationProtocol: 'file',
        objectName: this.object.name,
        request: new Uint8Array(0),
        responseHeaderLength: 0,
        validator: this.object.validator,
        objectLength: this.object.length,
        objectStart: 0,
        requestStreamOffset: 0,
      };
    }
    const bytes = encodeTransportState(state);
    if (this.last && Buffer.compare(this.last, bytes) === 0) return;
    this.last = bytes;
    this.writing = this.writing.then(() => this.write(bytes)).catch((error: Error) => this.fail(error));
  }

  private async write(bytes: Uint8Array): Promise<void> {
    const temporary = StateFile.temporary(this.path);
    const handle = await openHandle(temporary, 'w', 0o600);
    try {
      await handle.chmod(0o600); // a leftover temporary keeps its old mode on open
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
    await rename(temporary, this.path);
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    process.stderr.write(`baton cat: cannot write the state to ${this.path}: ${error.message}; a takeover will resume from an older state\n`);
  }

  /** Wait for the last write. */
  flush(): Promise<void> {
    return this.writing;
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
