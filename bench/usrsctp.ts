// usrsctp's example programs (Debian libusrsctp-examples): where they live and how to read tsctp's
// summary. Used by the usrsctp benchmark and, through test/helpers/peers.ts, by the interop tests.

/** Debian's libusrsctp-examples (0.9.5.0). Every program binds its UDP socket to 0.0.0.0 and [::]. */
export const USRSCTP = {
  /** echo_server [local_encaps_port [remote_encaps_port]]: SCTP port 7, echoes each complete message (≤ 10240 bytes). */
  echoServer: '/usr/lib/usrsctp/echo_server',
  /** discard_server [local_encaps_port [remote_encaps_port]]: SCTP port 9; stdout floods with debug lines. */
  discardServer: '/usr/lib/usrsctp/discard_server',
  /** client remote_addr remote_port local_port local_encaps_port remote_encaps_port: stdin lines out, data to stdout. */
  client: '/usr/lib/usrsctp/client',
  /** tsctp [-E local_encaps] [-U remote_encaps] [-l len] [-n count | -T secs] [-L local_ip] [-p port] [address] */
  tsctp: '/usr/lib/usrsctp/tsctp',
  /** http_client remote_addr remote_port [local_port] [local_encaps] [remote_encaps] [uri]: HTTP/1.0 GET, response to stdout among debug lines. */
  httpClient: '/usr/lib/usrsctp/http_client',
} as const;

/** tsctp's receiver summary line: "length, messages, recv calls, bytes, seconds, B/s, notifications". */
export const TSCTP_SERVER_SUMMARY = /^(\d+), (\d+), (\d+), (\d+), ([\d.]+), ([\d.]+), (\d+)$/;

export interface TsctpSummary {
  readonly messageLength: number;
  readonly messages: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly bytesPerSecond: number;
}

/** The last receiver summary in tsctp server output, if any. */
export function parseTsctpServer(text: string): TsctpSummary | undefined {
  let found: TsctpSummary | undefined;
  for (const line of text.split('\n')) {
    const m = TSCTP_SERVER_SUMMARY.exec(line);
    if (m) {
      found = { messageLength: Number(m[1]), messages: Number(m[2]), bytes: Number(m[4]), seconds: Number(m[5]), bytesPerSecond: Number(m[6]) };
    }
  }
  return found;
}
