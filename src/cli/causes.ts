// Names of SCTP error causes (RFC 9260 §3.3.10, RFC 5061, RFC 4895) for human-readable messages.
import { CauseCode } from '../sctp/wire/types.js';

const NAMES = new Map<number, string>(
  Object.entries(CauseCode).map(([name, code]) => [code, name.toLowerCase().replaceAll('_', ' ')]),
);

export function describeCause(code: number): string {
  return NAMES.get(code) ?? 'unknown cause';
}
