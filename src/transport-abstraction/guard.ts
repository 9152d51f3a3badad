// The last line of defence of a core's public methods: whatever escapes them is a coded
// BatonError. Bad input is dropped and counted and local misuse throws LocalUsageError before it
// gets here; an exception that still escapes is a bug in the core, and it leaves as InternalError
// (BATON_ERR_INTERNAL, the original as `cause`) so that a driver or socket can report it as one,
// never as a bare TypeError or RangeError.
import { BatonError, LocalUsageError } from './errors.js';

export class InternalError extends BatonError {
  constructor(method: string, cause: unknown) {
    super('BATON_ERR_INTERNAL', `internal error in ${method}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`, { cause });
  }
}

/** `e` as a coded error: itself when it is a BatonError, else an InternalError wrapping it. */
export function codedError(method: string, e: unknown): BatonError {
  return e instanceof BatonError ? e : new InternalError(method, e);
}

type Method = (this: unknown, ...args: never[]) => unknown;

/**
 * Wrap the named methods of a class prototype so that only coded errors leave them. One call per
 * class, next to its definition, lists the public methods of the contract it implements.
 */
export function guardMethods<T extends object>(prototype: T, names: readonly (keyof T & string)[], className: string): void {
  for (const name of names) {
    const inner = prototype[name] as unknown as Method;
    if (typeof inner !== 'function') throw new TypeError(`guardMethods: ${className}.${name} is not a method`);
    const label = `${className}.${name}`;
    // `arguments` rather than a rest array: V8 passes it through apply without allocating (this
    // wraps the per-datagram methods).
    const guarded = function (this: unknown): unknown {
      try {
        return inner.apply(this, arguments as unknown as never[]);
      } catch (e) {
        throw codedError(label, e);
      }
    };
    Object.defineProperty(guarded, 'name', { value: name });
    Object.defineProperty(prototype, name, { value: guarded, writable: true, configurable: true, enumerable: false });
  }
}

/** Local misuse checks for the arguments of the contract's methods (LocalUsageError). */
export function checkAddress(a: unknown, what: string): void {
  const o = a as { address?: unknown; port?: unknown } | null | undefined;
  if (typeof o !== 'object' || o === null || typeof o.address !== 'string' || typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 0 || o.port > 0xffff) {
    throw new LocalUsageError(`${what} must be a UDP address { address: string, port: 0..65535 }`);
  }
}

export function checkBytes(b: unknown, what: string): void {
  if (!(b instanceof Uint8Array)) throw new LocalUsageError(`${what} must be a Uint8Array`);
}

export function checkStream(stream: unknown): void {
  if (stream !== undefined && (typeof stream !== 'number' || !Number.isInteger(stream) || stream < 0 || stream > 0xffff)) {
    throw new LocalUsageError(`stream ${String(stream)} is not an integer in 0..65535`);
  }
}
