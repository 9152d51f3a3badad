#!/usr/bin/env node
// A third-party SCTP peer for interop tests: the npm `sctp` package (v1.0.0, RFC 4960 in plain JS)
// in its UDP mode (`udpTransport` + `udpPeer`). Run it as a child process so the package's globals
// (timers, its port pool) never leak into the test process.
//
//   node test/helpers/node-sctp-peer.cjs --role client|server
//        --local ADDR:UDPPORT        UDP address to bind (port 0 = any free port)
//        --peer ADDR:UDPPORT         the only UDP address this peer talks to (node-sctp sends every
//                                    packet there, whatever the source of what it receives)
//        --local-sctp-port N         SCTP port of this end (default 5001)
//        --peer-sctp-port N          SCTP port of the other end (default 5001); a server accepts an
//                                    association only from this SCTP port (node-sctp's "passive" mode)
//        [--send FILE]               after the association is up, send FILE in --chunk-size messages
//        [--chunk-size N]            bytes per SCTP user message (default 1200)
//        [--echo]                    send back every message received
//        [--expect N]                after N bytes arrived, print HASH and close (SHUTDOWN)
//        [--close-after-send]        close (SHUTDOWN) once FILE is sent and acknowledged
//
// Line protocol on stdout (one event per line; everything else goes to stderr):
//   LISTENING <udpPort>            UDP socket bound (for --local port 0, the port chosen)
//   CONNECTED                      association ESTABLISHED (COMMUNICATION UP)
//   SENT <bytes> <sha256hex>       the whole --send FILE was accepted by the association
//   HASH <sha256hex> <bytes>       what was received, once --expect is reached or the peer ended
//   DONE                           association over (shutdown complete or peer shut down); exit 0
//   ERROR <message>                something failed; exit 1
'use strict'

const dgram = require('node:dgram')
const fs = require('node:fs')
const crypto = require('node:crypto')
const path = require('node:path')

function parseArgs (argv) {
  const opts = {
    role: undefined,
    local: undefined,
    peer: undefined,
    localSctpPort: 5001,
    peerSctpPort: 5001,
    send: undefined,
    chunkSize: 1200,
    echo: false,
    expect: undefined,
    closeAfterSend: false
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) fail(`missing value for ${a}`)
      return argv[++i]
    }
    switch (a) {
      case '--role': opts.role = next(); break
      case '--local': opts.local = parseUdp(next()); break
      case '--peer': opts.peer = parseUdp(next()); break
      case '--local-sctp-port': opts.localSctpPort = Number(next()); break
      case '--peer-sctp-port': opts.peerSctpPort = Number(next()); break
      case '--send': opts.send = next(); break
      case '--chunk-size': opts.chunkSize = Number(next()); break
      case '--echo': opts.echo = true; break
      case '--expect': opts.expect = Number(next()); break
      case '--close-after-send': opts.closeAfterSend = true; break
      default: fail(`unknown argument ${a}`)
    }
  }
  if (opts.role !== 'client' && opts.role !== 'server') fail('--role client|server is required')
  if (!opts.local || !opts.peer) fail('--local and --peer are required')
  return opts
}

function parseUdp (text) {
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text)
  if (!m) fail(`not ADDR:PORT: ${text}`)
  return { address: m[1], port: Number(m[2]) }
}

function line (text) {
  process.stdout.write(text + '\n')
}

function fail (message) {
  line(`ERROR ${String(message).replace(/\s+/g, ' ')}`)
  process.exit(1)
}

const opts = parseArgs(process.argv.slice(2))
if (!/^127\./.test(opts.local.address) || !/^127\./.test(opts.peer.address)) {
  fail('this peer only talks on 127.0.0.0/8')
}

// Loaded after argument checks; resolved from the project so the test tree needs no copy.
const sctp = require(require.resolve('sctp', { paths: [path.resolve(__dirname, '..', '..')] }))

const received = crypto.createHash('sha256')
let receivedBytes = 0
let hashPrinted = false
let finished = false

function printHash () {
  if (hashPrinted) return
  hashPrinted = true
  line(`HASH ${received.digest('hex')} ${receivedBytes}`)
}

function finish () {
  if (finished) return
  finished = true
  printHash()
  line('DONE')
  // node-sctp keeps a cookie-rotation setInterval alive forever: leave explicitly, after stdout drains.
  process.stdout.write('', () => process.exit(0))
}

const udp = dgram.createSocket({ type: 'udp4' })
udp.on('error', (err) => fail(`udp: ${err.message}`))

udp.bind(opts.local.port, opts.local.address, () => {
  line(`LISTENING ${udp.address().port}`)
  const socket = sctp.connect({
    passive: opts.role === 'server',
    localPort: opts.localSctpPort,
    port: opts.peerSctpPort,
    udpTransport: udp,
    // node-sctp reads udpPeer.address (its README says "host", the code reads "address").
    udpPeer: { address: opts.peer.address, port: opts.peer.port },
    MIS: 10,
    OS: 10
  })

  socket.on('error', (err) => fail(`sctp: ${err && err.message ? err.message : 'association error'}`))

  socket.on('connect', () => {
    line('CONNECTED')
    if (opts.send) sendFile(socket)
  })

  socket.on('data', (buffer) => {
    received.update(buffer)
    receivedBytes += buffer.length
    if (opts.echo) socket.write(Buffer.from(buffer))
    if (opts.expect !== undefined && receivedBytes >= opts.expect) {
      printHash()
      closeGracefully(socket)
    }
  })

  // 'end' is emitted on SHUTDOWN COMPLETE and on COMMUNICATION LOST (ABORT, peer shut down).
  socket.on('end', finish)
})

// node-sctp sends SHUTDOWN at once (without its cumulative TSN doing the work of a SACK), and a
// node-sctp in SHUTDOWN-RECEIVED never answers while its own data is unacknowledged. So acknowledge
// what we hold first (its SACK goes out through a 0 ms timer), then shut down.
// It also sends SHUTDOWN while its own DATA is still unacknowledged (RFC 4960 §9.2 says wait in
// SHUTDOWN-PENDING), so wait until its flight is empty. This runs from a 'data' handler, before
// node-sctp has scheduled the SACK for that chunk: hence the first turn of the timer.
function closeGracefully (socket) {
  const step = () => {
    const association = socket.association
    if (association && (association.flightsize > 0 || association.queue.length > 0)) {
      setTimeout(step, 5)
      return
    }
    if (association && association._sack_timer) association._sack()
    setTimeout(() => socket.end(), 5)
  }
  setTimeout(step, 1)
}

function sendFile (socket) {
  const data = fs.readFileSync(opts.send)
  const hash = crypto.createHash('sha256').update(data).digest('hex')
  let offset = 0
  // One write = one SCTP user message; the Writable serialises writes and node-sctp calls back
  // when its congestion window has room again.
  const done = () => {
    line(`SENT ${data.length} ${hash}`)
    if (opts.closeAfterSend) closeGracefully(socket)
  }
  if (data.length === 0) return done()
  const pump = () => {
    while (offset < data.length) {
      const piece = data.subarray(offset, Math.min(offset + opts.chunkSize, data.length))
      offset += piece.length
      // The last write's callback runs once node-sctp has queued it (cwnd has room again).
      const ok = socket.write(piece, offset >= data.length ? done : undefined)
      if (!ok && offset < data.length) {
        socket.once('drain', pump)
        return
      }
    }
  }
  pump()
}
