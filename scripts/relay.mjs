// A plain WebSocket→TCP relay for local development and tests: the Neon driver in the Worker
// speaks the Postgres protocol over a WebSocket (neonConfig.wsProxy), a local Postgres only
// over TCP. Each WebSocket gets its own TCP connection to the one configured target.
import net from 'node:net'
import { WebSocketServer } from 'ws'

// Postgres Terminate: 'X' followed by the int32 length 4.
const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4])

// The driver may coalesce Terminate with what precedes it, so look at the end of the message.
// A false positive would need a message whose last five bytes happen to be these, and the
// frontend always ends a message with a complete protocol message; Terminate is its last.
const endsWithTerminate = (buf) => buf.length >= 5 && buf.subarray(buf.length - 5).equals(TERMINATE)

/** @param {{ target: { host: string, port: number }, host?: string, port?: number }} options */
/**
 * Calls `onReady(status)` for every ReadyForQuery ('Z') in a stream of server messages, which
 * may split or join messages anywhere. status: 'I' idle, 'T' in a transaction, 'E' failed one.
 */
function watchReadyForQuery(onReady) {
  let head = [] // a header (type byte + int32 length) split across chunks
  let left = 0 // body bytes of the current message not yet seen
  let type = 0
  return (chunk) => {
    for (let i = 0; i < chunk.length; ) {
      if (left > 0) {
        if (type === 0x5a) onReady(String.fromCharCode(chunk[i]))
        const n = Math.min(left, chunk.length - i)
        left -= n
        i += n
        continue
      }
      head.push(chunk[i++])
      if (head.length === 5) {
        type = head[0]
        left = Buffer.from(head.slice(1)).readInt32BE(0) - 4
        head = []
      }
    }
  }
}

/** A lock: `acquire()` resolves to its `release` once every earlier holder has released. */
function createLock() {
  let tail = Promise.resolve()
  return () => {
    let release
    const released = new Promise((resolve) => (release = resolve))
    const acquired = tail.then(() => release)
    tail = tail.then(() => released)
    return acquired
  }
}

/**
 * @param {{ target: { host: string, port: number }, host?: string, port?: number, serialize?: boolean }} options
 *   serialize: give the server one client at a time, from a client's first message until the
 *   server is idle again (ReadyForQuery 'I'). For pglite-server: PGlite is a single backend,
 *   and the server interleaves the messages of concurrent extended-protocol cycles (Parse of
 *   one client, then Bind of another: "unnamed prepared statement does not exist").
 */
export async function startRelay({ target, host = '127.0.0.1', port = 0, serialize = false }) {
  const acquire = serialize ? createLock() : undefined
  const sockets = new Set()
  const wss = new WebSocketServer({ host, port, perMessageDeflate: false })
  wss.on('error', () => {})

  wss.on('connection', (ws) => {
    // The ?address= the driver sends is ignored on purpose: this relay must never become an
    // open proxy to whatever host a client names.
    const tcp = net.connect({ host: target.host, port: target.port })
    tcp.setNoDelay(true)
    sockets.add(tcp)
    const pending = [] // what the client sent before the TCP connection was up
    let terminated = false

    tcp.on('connect', () => {
      for (const chunk of pending) tcp.write(chunk)
      pending.length = 0
      if (terminated) tcp.end()
    })
    // While serializing: the lock's release function when this client holds it.
    let release
    const releaseTurn = () => {
      release?.()
      release = undefined
    }
    const watch = watchReadyForQuery((status) => status === 'I' && releaseTurn())
    tcp.on('data', (data) => {
      if (acquire) watch(data)
      if (ws.readyState === ws.OPEN) ws.send(data)
    })
    let closed = false
    const closeWs = () => {
      closed = true
      releaseTurn()
      sockets.delete(tcp)
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close()
    }
    tcp.on('close', closeWs)
    tcp.on('error', () => {
      tcp.destroy()
      closeWs()
    })

    const forward = (buf) => {
      if (tcp.connecting) pending.push(buf)
      else if (!tcp.destroyed) tcp.write(buf)
      // pglite-server does not hang up after Terminate and the driver waits for the hang-up
      // (pool.end() would never resolve), so end the TCP side here as a real Postgres would.
      if (endsWithTerminate(buf)) {
        terminated = true
        if (!tcp.connecting) tcp.end()
      }
    }
    let queue = Promise.resolve() // keeps this client's messages in order while it waits its turn
    ws.on('message', (data) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
      if (!acquire) return forward(buf)
      queue = queue.then(async () => {
        if (!release) {
          const turn = await acquire()
          if (closed) return turn() // hung up while waiting: pass the turn on
          release = turn
        }
        forward(buf)
      })
    })
    ws.on('close', () => {
      closed = true
      tcp.end()
      releaseTurn()
    })
    ws.on('error', () => tcp.destroy())
  })

  await new Promise((resolve, reject) => {
    wss.once('listening', resolve)
    wss.once('error', reject)
  })
  const address = wss.address()
  return {
    host: address.address,
    port: address.port,
    wsProxy: `${address.address}:${address.port}`,
    /** TCP connections open now: 0 once every client has hung up (tests check for leaks). */
    get connections() {
      return sockets.size
    },
    close: () =>
      new Promise((resolve) => {
        for (const tcp of sockets) tcp.destroy()
        for (const client of wss.clients) client.terminate()
        wss.close(() => resolve())
      }),
  }
}
