import net from 'node:net'

/**
 * A TCP proxy between the relay (scripts/relay.mjs, our stand-in for Neon's endpoints) and
 * Postgres that reads the Postgres protocol and can cut the link at a chosen point of a
 * chosen transaction. The relay then fails that request as Neon's endpoint would when its
 * own link to the database drops, so the Worker sees exactly what it would in production:
 * its query or batch fails, and it cannot tell whether the database committed.
 *
 * A fault is armed for one transaction, recognized by a statement whose SQL matches `sql`:
 *  - `before-commit`: the message that would commit it (a `commit`, or the Sync of a
 *    statement outside a transaction block) never reaches Postgres; the connection is cut, so
 *    Postgres rolls back whatever the transaction did;
 *  - `after-commit`: Postgres commits; the connection is cut when its answer
 *    (ReadyForQuery) arrives, before any of that answer is passed on.
 * The fault fires once, then the proxy forwards everything again.
 */
export interface Fault {
  sql: RegExp
  at: 'before-commit' | 'after-commit'
}

export interface FaultProxy {
  host: string
  port: number
  /** Arms one fault, for the next transaction with a statement matching `fault.sql`. */
  arm(fault: Fault): { fired: () => boolean }
  disarm(): void
  /** Records every statement's SQL sent to Postgres while `work` runs (to choose a fault's `sql`). */
  trace(work: () => Promise<unknown>): Promise<string[]>
  /** Connections to Postgres open now. */
  readonly connections: number
  close(): Promise<void>
}

/**
 * Splits a stream of Postgres messages (type byte + int32 length + body) into whole
 * messages, however TCP chunks them. `untypedFirst`: the client's startup message has no type byte.
 */
function messageReader(untypedFirst: boolean) {
  let pending = Buffer.alloc(0)
  let untyped = untypedFirst
  return (chunk: Buffer): Buffer[] => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
    const messages: Buffer[] = []
    for (;;) {
      const head = untyped ? 0 : 1
      if (pending.length < head + 4) break
      const length = head + pending.readInt32BE(head)
      if (pending.length < length) break
      messages.push(pending.subarray(0, length))
      pending = pending.subarray(length)
      // SSLRequest/GSSENCRequest would be followed by another untyped message; the relay asks for neither.
      untyped = false
    }
    return messages
  }
}

const type = (message: Buffer) => String.fromCharCode(message[0]!)
// Parse: name\0 query\0 ...; Query: query\0.
function sqlOf(message: Buffer): string | undefined {
  if (type(message) === 'Q') return message.subarray(5, message.indexOf(0, 5)).toString('utf8')
  if (type(message) === 'P') {
    const query = message.indexOf(0, 5) + 1
    return message.subarray(query, message.indexOf(0, query)).toString('utf8')
  }
  return undefined
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let armed: (Fault & { fired: boolean }) | undefined
  const links = new Set<{ client: net.Socket; server: net.Socket }>()
  let traced: string[] | undefined

  const server = net.createServer((client) => {
    const upstream = net.connect(target)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    const link = { client, server: upstream }
    links.add(link)
    const cut = () => {
      client.destroy()
      upstream.destroy()
    }
    const closed = () => {
      cut()
      links.delete(link)
    }
    client.on('close', closed)
    upstream.on('close', closed)
    client.on('error', cut)
    upstream.on('error', cut)

    // This connection's view of the armed fault: its statement was seen in the open transaction.
    let mine: typeof armed
    let inBlock = false // the last ReadyForQuery said 'T' or 'E'
    let committing = false // the commit went through; waiting for its ReadyForQuery
    let failed = false // an ErrorResponse since the commit: nothing was committed

    const fromClient = messageReader(true)
    client.on('data', (chunk: Buffer) => {
      const out: Buffer[] = []
      for (const message of fromClient(chunk)) {
        const sql = sqlOf(message)
        if (sql !== undefined) traced?.push(sql)
        if (armed && !armed.fired && !mine && sql !== undefined && armed.sql.test(sql)) mine = armed
        const commits = (type(message) === 'Q' && /^\s*commit\b/i.test(sql ?? '')) || (type(message) === 'S' && !inBlock)
        if (mine && commits && armed === mine && !mine.fired) {
          if (mine.at === 'before-commit') {
            mine.fired = true
            // What came before the commit still goes: Postgres runs it, then loses the link.
            if (out.length) upstream.write(Buffer.concat(out))
            upstream.end()
            client.destroy()
            return
          }
          committing = true
          failed = false
        }
        out.push(message)
      }
      if (out.length && !upstream.destroyed) upstream.write(Buffer.concat(out))
    })

    const fromServer = messageReader(false)
    upstream.on('data', (chunk: Buffer) => {
      const out: Buffer[] = []
      for (const message of fromServer(chunk)) {
        const t = type(message)
        if (t === 'E') failed = true
        if (t === 'Z') {
          inBlock = message[5] !== 0x49 // 'I'
          if (committing && mine) {
            committing = false
            if (!failed) {
              mine.fired = true
              cut()
              return
            }
          }
          // A transaction that ended without the fault firing (rolled back, or not the one).
          if (!inBlock) mine = undefined
        }
        out.push(message)
      }
      if (out.length && !client.destroyed) client.write(Buffer.concat(out))
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as net.AddressInfo
  return {
    host: '127.0.0.1',
    port,
    arm(fault) {
      const state = { ...fault, fired: false }
      armed = state
      return { fired: () => state.fired }
    },
    disarm() {
      armed = undefined
    },
    async trace(work) {
      const log: string[] = []
      traced = log
      try {
        await work()
      } finally {
        traced = undefined
      }
      return log
    },
    get connections() {
      return links.size
    },
    async close() {
      for (const link of links) {
        link.client.destroy()
        link.server.destroy()
      }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
