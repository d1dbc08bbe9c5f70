import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Pool } from '@neondatabase/serverless'
import { drizzle } from 'drizzle-orm/pglite'
import { migrate as pgliteMigrate } from 'drizzle-orm/pglite/migrator'
import { inject } from 'vitest'
import { migrate, useRelay } from '../../scripts/migrate.mjs'
import { startPglite } from '../../scripts/pglite-server.mjs'
import { startRelay } from '../../scripts/relay.mjs'
import { startFaultProxy } from './fault-proxy'
import { backendsOf } from './pg-activity.mjs'
import type { FaultProxy } from './fault-proxy'

export interface TestPostgres {
  /** The database's URL; its host and port only matter to the relay. */
  url: string
  /** `host:port` of the WebSocket relay to it, for DB_WS_PROXY / openDatabase({ wsProxy }). */
  wsProxy: string
  /** The relay's Neon SQL-over-HTTP endpoint, for DB_HTTP_ENDPOINT / neonConfig.fetchEndpoint. */
  sqlEndpoint: string
  /** What the relay has served so far: SQL-over-HTTP requests and WebSockets (round-trip tests). */
  counts(): { httpRequests: number; webSockets: number }
  /** With `{ faults: true }`: the proxy between the relay and Postgres, and what to check leaks with. */
  faults?: FaultLink
  close(): Promise<void>
}

export interface FaultLink {
  proxy: FaultProxy
  /** The relay's SQL-over-HTTP clients (open, idle, waiting) and its WebSockets' TCP connections open now. */
  relay(): { open: number; idle: number; waiting: number; webSockets: number }
  /** This database's server processes by state (`idle`, `active`, `idle in transaction`, …), seen from outside the proxy. */
  backends(): Promise<Record<string, number>>
  /**
   * Loses the relay's answer to the next SQL-over-HTTP request with a statement matching
   * `sql`, after the database committed it: the Worker's `fetch` fails, as when the link to
   * Neon's endpoint drops. `fired()` says whether it happened.
   */
  loseAnswer(sql: RegExp): { fired: () => boolean; stop: () => void }
}

export interface TestPostgresOptions {
  /**
   * Put a fault proxy (./fault-proxy.ts) between the relay and Postgres. Real Postgres only
   * (TEST_DATABASE_URL): PGlite has one backend, and its server does not roll back a cut link.
   */
  faults?: boolean
}

/**
 * A fresh, migrated database for one test file, reached through the relay as the Worker
 * reaches Neon: a new database on TEST_DATABASE_URL (a real Postgres) when that is set,
 * otherwise an in-memory PGlite served over the Postgres protocol.
 */
export async function startTestPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  if (options.faults && !process.env.TEST_DATABASE_URL) throw new Error('a fault proxy needs a real Postgres: run this with `npm run test:postgres`')
  return process.env.TEST_DATABASE_URL ? freshDatabaseOn(process.env.TEST_DATABASE_URL, options) : freshPglite()
}

async function freshPglite(): Promise<TestPostgres> {
  const pg = await startPglite({ template: await pgliteTemplate() })
  try {
    const relay = await startRelay({ target: pg, serialize: true })
    return {
      url: pg.url,
      wsProxy: relay.wsProxy,
      sqlEndpoint: relay.sqlEndpoint,
      counts: relay.counts,
      close: async () => {
        await relay.close()
        await pg.close()
      },
    }
  } catch (error) {
    await pg.close()
    throw error
  }
}

async function freshDatabaseOn(serverUrl: string, options: TestPostgresOptions): Promise<TestPostgres> {
  const server = new URL(serverUrl)
  const target = { host: server.hostname, port: Number(server.port || 5432) }
  const proxy = options.faults ? await startFaultProxy(target) : undefined
  const relay = await startRelay({ target: proxy ?? target })
  useRelay(relay.wsProxy)
  // Unique across parallel test workers and repeated runs; a plain identifier, no quoting games.
  const name = `gatehouse_test_${process.pid}_${randomBytes(4).toString('hex')}`
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const admin = async (sql: string) => {
    const pool = new Pool({ connectionString: serverUrl })
    try {
      await pool.query(sql)
    } finally {
      await pool.end()
    }
  }
  try {
    await admin(`CREATE DATABASE ${name}`)
    await migrate({ url: url.href, wsProxy: relay.wsProxy })
  } catch (error) {
    await relay.close()
    await proxy?.close()
    throw error
  }
  const faults: FaultLink | undefined = proxy && {
    proxy,
    relay: () => ({ ...relay.pool(), webSockets: relay.connections }),
    backends: () => backendsOf(serverUrl, name),
    loseAnswer(sql) {
      let fired = false
      relay.loseAnswers((request: { single?: { query: string }; batch?: { query: string }[] }) => {
        if (fired || !(request.batch ?? [request.single!]).some((q) => sql.test(q.query))) return false
        fired = true
        return true
      })
      return { fired: () => fired, stop: () => relay.loseAnswers(undefined) }
    },
  }
  return {
    url: url.href,
    wsProxy: relay.wsProxy,
    sqlEndpoint: relay.sqlEndpoint,
    counts: relay.counts,
    faults,
    close: async () => {
      try {
        // FORCE (Postgres 13+): a connection the Worker has not closed yet must not keep it alive.
        await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await relay.close()
        await proxy?.close()
      }
    },
  }
}

/**
 * A dumped, migrated PGlite database to copy from (~1 s instead of 4–5 s of initdb and the
 * migrations). vitest's global setup provides one; without it, build one and keep it under
 * node_modules/.cache, keyed by the migrations, for the next test file and the next run.
 */
async function pgliteTemplate(): Promise<string> {
  try {
    // Loosely typed: this file must not depend on the global setup's type declarations.
    const provided = (inject as (key: string) => unknown)('pgliteTemplate')
    if (typeof provided === 'string' && existsSync(provided)) return provided
  } catch {
    // not running under vitest, or nothing provided
  }
  const folder = 'db/migrations'
  const hash = createHash('sha256')
  for (const file of readdirSync(folder, { recursive: true }).map(String).sort()) {
    if (file.endsWith('.sql') || file.endsWith('_journal.json')) hash.update(file).update(readFileSync(join(folder, file)))
  }
  const dir = 'node_modules/.cache/gatehouse'
  const file = join(dir, `pglite-${hash.digest('hex').slice(0, 16)}.tar`)
  if (existsSync(file)) return file
  const pg = await PGlite.create()
  try {
    await pgliteMigrate(drizzle({ client: pg }), { migrationsFolder: folder })
    const dump = await pg.dumpDataDir('none')
    mkdirSync(dir, { recursive: true })
    // Write then rename: a parallel test worker never reads a half-written template.
    const partial = `${file}.${process.pid}.partial`
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()))
    renameSync(partial, file)
  } finally {
    await pg.close()
  }
  return file
}
