// The local stand-in for Neon's two front doors, for development, tests and the bench:
//  - a plain WebSocket→TCP relay: the Neon driver's Pool/Client speaks the Postgres protocol
//    over a WebSocket (neonConfig.wsProxy), a local Postgres only over TCP; each WebSocket
//    gets its own TCP connection to the one configured target;
//  - Neon's SQL-over-HTTP endpoint (POST /sql, what `neon()` and drizzle-orm/neon-http send,
//    selected with neonConfig.fetchEndpoint): one query or one batch per request, run on a
//    `pg` pool to the same target. The protocol is read from the driver's own source
//    (@neondatabase/serverless 1.2, `neon()`/`execute`): see handleSql below.
import http from 'node:http'
import net from 'node:net'
import pg from 'pg'
import { WebSocketServer } from 'ws'

// Postgres Terminate: 'X' followed by the int32 length 4.
const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4])

// The driver may coalesce Terminate with what precedes it, so look at the end of the message.
// A false positive would need a message whose last five bytes happen to be these, and the
// frontend always ends a message with a complete protocol message; Terminate is its last.
const endsWithTerminate = (buf) => buf.length >= 5 && buf.subarray(buf.length - 5).equals(TERMINATE)

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

// ---- SQL over HTTP (Neon's protocol, as @neondatabase/serverless 1.2 speaks it) ----
//
// Request:  POST .../sql, body {query, params} or, for transaction([...]), {queries: [{query, params}]}.
//   Neon-Connection-String: the database URL (only its user, password and database are used
//     here: the host is always the relay's target, so this never becomes an open proxy);
//   Neon-Raw-Text-Output: true, Neon-Array-Mode: true (the driver always sends both and parses
//     the text itself with its own type parsers);
//   Neon-Batch-Isolation-Level (ReadUncommitted|ReadCommitted|RepeatableRead|Serializable),
//   Neon-Batch-Read-Only, Neon-Batch-Deferrable: for batches only.
//   Params arrive already serialized by the driver (strings, null; bytea as "\x<hex>").
// Response 200: {fields: [{name, dataTypeID, ...}], command, rowCount, rows: [[text|null, ...]],
//   rowAsArray: true}, or {results: [that, ...]} for a batch, which runs in one transaction.
// Response 400: {message, code, detail, constraint, ...}: the driver copies these fields onto
//   its NeonDbError, so a unique violation still reaches our code as SQLSTATE 23505.

const ISOLATION = {
  ReadUncommitted: 'read uncommitted',
  ReadCommitted: 'read committed',
  RepeatableRead: 'repeatable read',
  Serializable: 'serializable',
}
// NeonDbError's fields (the driver's `hi` list), copied from pg's DatabaseError.
const ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
]
// Every value as Postgres sent it (text): the driver parses it, as it does Neon's answers.
const rawText = { getTypeParser: () => (value) => value }

class BadRequest extends Error {}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function parseRequest(text) {
  let body
  try {
    body = JSON.parse(text)
  } catch {
    throw new BadRequest('request body is not JSON')
  }
  const one = (q) => {
    if (!q || typeof q.query !== 'string') throw new BadRequest('expected {query, params}')
    const params = q.params ?? []
    if (!Array.isArray(params) || params.some((p) => p !== null && typeof p !== 'string' && typeof p !== 'number' && typeof p !== 'boolean'))
      throw new BadRequest('params must be an array of strings, numbers, booleans or null')
    return { query: q.query, params }
  }
  if (Array.isArray(body?.queries)) return { batch: body.queries.map(one) }
  return { single: one(body) }
}

async function runQuery(client, { query, params }) {
  // Extended protocol even without params, as Neon does: one statement per query.
  const result = await client.query({ text: query, values: params, rowMode: 'array', types: rawText, queryMode: 'extended' })
  return {
    fields: result.fields.map((f) => ({
      name: f.name,
      dataTypeID: f.dataTypeID,
      tableID: f.tableID,
      columnID: f.columnID,
      dataTypeSize: f.dataTypeSize,
      dataTypeModifier: f.dataTypeModifier,
      format: 'text',
    })),
    command: result.command,
    rowCount: result.rowCount,
    rows: result.rows,
    rowAsArray: true,
  }
}

function beginStatement(headers) {
  const parts = ['begin']
  const isolation = headers['neon-batch-isolation-level']
  if (isolation !== undefined) {
    if (!ISOLATION[isolation]) throw new BadRequest(`unknown Neon-Batch-Isolation-Level: ${isolation}`)
    parts.push(`isolation level ${ISOLATION[isolation]}`)
  }
  if (headers['neon-batch-read-only'] === 'true') parts.push('read only')
  if (headers['neon-batch-deferrable'] === 'true') parts.push('deferrable')
  return parts.join(' ')
}

/** A `pg` pool per user/password/database, all to the relay's one target. */
function createPools(target) {
  const pools = new Map()
  return {
    get(connectionString) {
      let url
      try {
        url = new URL(connectionString)
      } catch {
        throw new BadRequest('Neon-Connection-String is not a URL')
      }
      const config = {
        host: target.host,
        port: target.port,
        user: decodeURIComponent(url.username) || 'postgres',
        password: decodeURIComponent(url.password) || undefined,
        database: decodeURIComponent(url.pathname.slice(1)) || 'postgres',
      }
      const key = JSON.stringify(config)
      let pool = pools.get(key)
      if (!pool) {
        pool = new pg.Pool({ ...config, max: 20, idleTimeoutMillis: 10_000 })
        pool.on('error', () => {}) // an idle client's error: the next query reports its own
        pools.set(key, pool)
      }
      return pool
    },
    end: () => Promise.all([...pools.values()].map((p) => p.end().catch(() => {}))),
    /** Clients of every pool: open, idle (open and not checked out), and requests waiting for one. */
    stats() {
      const total = { open: 0, idle: 0, waiting: 0 }
      for (const p of pools.values()) {
        total.open += p.totalCount
        total.idle += p.idleCount
        total.waiting += p.waitingCount
      }
      return total
    },
  }
}

function send(res, status, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json' })
  res.end(text)
}

/**
 * @param {{ target: { host: string, port: number }, host?: string, port?: number, serialize?: boolean, delayMs?: number }} options
 *   serialize: give the server one client at a time, from a client's first message until the
 *   server is idle again (ReadyForQuery 'I'); an HTTP request holds the turn for its whole
 *   query or batch. For pglite-server: PGlite is a single backend, and the server interleaves
 *   the messages of concurrent extended-protocol cycles (Parse of one client, then Bind of
 *   another: "unnamed prepared statement does not exist").
 *   delayMs (the bench's --db-rtt): a database far away. Added once to every answer the
 *   database sends a WebSocket client (one per protocol round trip), once to every HTTP
 *   request, and once more to every new connection (TCP to the relay, or the relay's TCP to
 *   the database for a WebSocket), so connection set-up and reuse are charged as they would be.
 */
export async function startRelay({ target, host = '127.0.0.1', port = 0, serialize = false, delayMs = 0 }) {
  const acquire = serialize ? createLock() : undefined
  const sockets = new Set()
  const pools = createPools(target)
  let delay = delayMs
  const later = (fn) => (delay > 0 ? setTimeout(fn, delay) : fn())
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
  const fresh = new WeakSet() // TCP connections to the relay that have not carried a request yet
  // What the clients asked for so far: SQL-over-HTTP requests, and WebSockets opened.
  const counts = { httpRequests: 0, webSockets: 0 }
  let loseAnswer // tests only (loseAnswers): (request) => true drops that request's answer

  async function handleSql(req, res) {
    if (req.method !== 'POST' || !new URL(req.url, 'http://relay').pathname.endsWith('/sql')) return send(res, 404, 'not found')
    counts.httpRequests++
    const wait = (fresh.has(req.socket) ? 2 : 1) * delay
    fresh.delete(req.socket)
    const delayed = wait > 0 ? sleep(wait) : undefined
    let status = 200
    let answer
    let request
    try {
      const connectionString = req.headers['neon-connection-string']
      if (typeof connectionString !== 'string') throw new BadRequest('Neon-Connection-String is missing')
      request = parseRequest(await readBody(req))
      const begin = request.batch ? beginStatement(req.headers) : undefined
      const pool = pools.get(connectionString)
      const release = acquire ? await acquire() : undefined
      try {
        const client = await pool.connect()
        let broken
        // pg emits a checked-out client's lost connection as an 'error' event, besides failing
        // its query: unheard, that event would be an uncaught exception and end the relay.
        const lost = (error) => (broken = error)
        client.on('error', lost)
        try {
          if (request.single) answer = await runQuery(client, request.single)
          else {
            await client.query(begin)
            try {
              const results = []
              for (const q of request.batch) results.push(await runQuery(client, q))
              await client.query('commit')
              answer = { results }
            } catch (error) {
              await client.query('rollback').catch((e) => (broken = e))
              throw error
            }
          }
        } catch (error) {
          if (!(error instanceof pg.DatabaseError)) broken = error
          throw error
        } finally {
          client.off('error', lost)
          client.release(broken)
        }
      } finally {
        release?.()
      }
    } catch (error) {
      if (error instanceof BadRequest) [status, answer] = [400, { message: error.message }]
      else if (error instanceof pg.DatabaseError) {
        status = 400
        answer = { message: error.message }
        for (const field of ERROR_FIELDS) if (error[field] !== undefined) answer[field] = error[field]
      } else [status, answer] = [502, `the database could not be reached: ${error.message}`]
    }
    await delayed
    // A test's fault: the database answered (and committed), and the answer is lost on its way.
    if (status === 200 && loseAnswer?.(request)) return req.socket.destroy()
    send(res, status, answer)
  }

  const server = http.createServer((req, res) => {
    handleSql(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'relay error')
    })
  })
  server.keepAliveTimeout = 60_000
  server.on('connection', (socket) => {
    fresh.add(socket)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('clientError', (_error, socket) => socket.destroy())
  const wss = new WebSocketServer({ server, perMessageDeflate: false })
  wss.on('error', () => {})
  const tcpSockets = new Set()

  wss.on('connection', (ws) => {
    counts.webSockets++
    // The ?address= the driver sends is ignored on purpose: this relay must never become an
    // open proxy to whatever host a client names.
    const tcp = new net.Socket()
    tcp.setNoDelay(true)
    tcpSockets.add(tcp)
    const pending = [] // what the client sent before the TCP connection was up
    let terminated = false
    let connecting = true
    // A new connection across the ocean: one more delay before it is up.
    later(() => {
      if (!tcp.destroyed) tcp.connect({ host: target.host, port: target.port })
    })

    tcp.on('connect', () => {
      connecting = false
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
      later(() => {
        if (ws.readyState === ws.OPEN) ws.send(data)
      })
    })
    let closed = false
    const closeWs = () => {
      closed = true
      releaseTurn()
      tcpSockets.delete(tcp)
      // After the data still on its way (a delayed link delivers it before the hang-up).
      later(() => {
        if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close()
      })
    }
    tcp.on('close', closeWs)
    tcp.on('error', () => {
      tcp.destroy()
      closeWs()
    })

    const forward = (buf) => {
      if (connecting) pending.push(buf)
      else if (!tcp.destroyed) tcp.write(buf)
      // pglite-server does not hang up after Terminate and the driver waits for the hang-up
      // (pool.end() would never resolve), so end the TCP side here as a real Postgres would.
      if (endsWithTerminate(buf)) {
        terminated = true
        if (!connecting) tcp.end()
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
      if (connecting) tcp.destroy()
      else tcp.end()
      tcpSockets.delete(tcp)
      releaseTurn()
    })
    ws.on('error', () => tcp.destroy())
  })

  await new Promise((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
    server.listen(port, host)
  })
  const address = server.address()
  return {
    host: address.address,
    port: address.port,
    wsProxy: `${address.address}:${address.port}`,
    /** For neonConfig.fetchEndpoint: Neon's SQL-over-HTTP endpoint, served here. */
    sqlEndpoint: `http://${address.address}:${address.port}/sql`,
    /** Requests and WebSockets so far: tests count round trips with it. */
    counts: () => ({ ...counts }),
    /**
     * Tests only: for each SQL-over-HTTP request the database answered, `lose(request)`
     * (`{single: {query, params}}` or `{batch: [...]}`) decides whether the answer is lost:
     * the connection is cut instead, as a dropped link after Neon's commit would be.
     * `undefined` stops it.
     */
    loseAnswers(lose) {
      loseAnswer = lose
    },
    /** Changes the delay of `delayMs` from now on (the bench measures with and without it). */
    setDelay(ms) {
      delay = ms
    },
    /** The SQL-over-HTTP pools' clients: a checked-out client (open − idle) after the requests are answered is a leak. */
    pool: () => pools.stats(),
    /** TCP connections from WebSockets open now: 0 once every client has hung up (tests check for leaks). */
    get connections() {
      return tcpSockets.size
    },
    close: async () => {
      for (const tcp of tcpSockets) tcp.destroy()
      for (const client of wss.clients) client.terminate()
      await new Promise((resolve) => wss.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(() => resolve()))
      await pools.end()
    },
  }
}
