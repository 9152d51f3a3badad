// `--keepalive SECONDS` of the clients (`baton connect`, `baton fetch`): how often the client sends
// toward every address of its server's support group, so that a NAT in front of the client keeps a
// binding open toward each and a takeover from any of them gets through (README "Clients behind
// NAT"). Common UDP NAT timeouts: Linux conntrack 30 s for a flow seen one way (120-180 s once
// answered), home routers from 30 s; RFC 4787 asks for at least 2 min. The default, 5 s (SCTP's
// HB.interval), is well below all of them.
import { LocalUsageError } from '../transport-abstraction/errors.js';

/** Seconds (0.1-600, decimals allowed) to milliseconds; undefined when the option is absent. */
export function keepaliveOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0.1 || seconds > 600) throw new LocalUsageError(`--keepalive must be a number of seconds from 0.1 to 600, not "${text}"`);
  return Math.round(seconds * 1000);
}
