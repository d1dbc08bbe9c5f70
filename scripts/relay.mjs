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
export async function startRelay({ target, host = '127.0.0.1', port = 0 }) {
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
    tcp.on('data', (data) => {
      if (ws.readyState === ws.OPEN) ws.send(data)
    })
    const closeWs = () => {
      sockets.delete(tcp)
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close()
    }
    tcp.on('close', closeWs)
    tcp.on('error', () => {
      tcp.destroy()
      closeWs()
    })

    ws.on('message', (data) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
      if (tcp.connecting) pending.push(buf)
      else if (!tcp.destroyed) tcp.write(buf)
      // pglite-server does not hang up after Terminate and the driver waits for the hang-up
      // (pool.end() would never resolve), so end the TCP side here as a real Postgres would.
      if (endsWithTerminate(buf)) {
        terminated = true
        if (!tcp.connecting) tcp.end()
      }
    })
    ws.on('close', () => tcp.end())
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
