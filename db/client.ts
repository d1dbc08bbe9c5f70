import { Pool, neon, neonConfig } from '@neondatabase/serverless'
import type { PoolClient } from '@neondatabase/serverless'
import { drizzle as drizzleHttp } from 'drizzle-orm/neon-http'
import type { NeonHttpDatabase } from 'drizzle-orm/neon-http'
import { drizzle as drizzleWebSocket } from 'drizzle-orm/neon-serverless'
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from './schema'

// How a request reaches Postgres (docs/edge-latency.md):
//  - Over HTTP (`neon()` and drizzle-orm/neon-http): one statement is one `fetch`, one round
//    trip, with no connection to open first (Cloudflare's fetch reuses its connections to
//    Neon). `db.batch([...])` sends several statements in one `fetch`, run by Neon in one
//    transaction: the unit of work of a request whose statements need not see each other's
//    results in between. Every request path uses this.
//  - Over a WebSocket (`Pool`), only through `transaction(db, work)`: an interactive
//    transaction for the few flows that must decide between statements. It pays a
//    connection set-up and one round trip per statement, so no hot path uses it.

/** Any executor of our schema: the request's database, or an interactive transaction. Queries take this. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>

/** The request's database (neon-http): `batch([...])` is several statements in one round trip and one transaction. */
export type RequestDatabase = NeonHttpDatabase<typeof schema>

export interface DatabaseOptions {
  url: string
  /**
   * `host:port` of the local relay (scripts/relay.mjs): a plain-WebSocket→TCP relay and
   * Neon's SQL-over-HTTP endpoint (`/sql`) in one, for a local Postgres or PGlite. Unset in
   * production, where the driver speaks to Neon's own endpoints.
   */
  localRelay?: string
}

// How to open a WebSocket pool for the database a request database talks to.
const poolOf = new WeakMap<object, () => Pool>()
// One drizzle per database and isolate: neon-http holds no connection, so nothing is per request
// (and the relational config is built once, not per request).
const databases = new Map<string, RequestDatabase>()

/** The database for requests: cheap to call on every request (one instance per isolate). */
export function openDatabase({ url, localRelay }: DatabaseOptions): RequestDatabase {
  if (localRelay) useLocalRelay(localRelay)
  const key = `${url} ${localRelay ?? ''}`
  let db = databases.get(key)
  if (!db) {
    db = drizzleHttp({ client: neon(url), schema })
    poolOf.set(db, () => {
      const pool = new Pool({ connectionString: url })
      pool.on('error', () => {}) // an idle client's error must not crash the isolate; queries report their own
      // A checked-out client's lost connection is an 'error' event too, besides failing its
      // query: unheard, it is an uncaught exception (test/postgres/faults.test.ts).
      pool.on('connect', (client: PoolClient) => client.on('error', () => {}))
      return pool
    })
    databases.set(key, db)
  }
  return db
}

/** Statements of a batch: built from the database they will run on, not yet awaited. */
export type Statements = readonly [BatchItem<'pg'>, ...BatchItem<'pg'>[]]

const isRequestDatabase = (db: Database): db is RequestDatabase => poolOf.has(db)

/**
 * The statements of one unit of work that need not see each other's results: one round trip
 * and one transaction on a request database (neon-http `batch`), or in order when `db` is
 * already a transaction. A failing statement (a unique violation, say) writes nothing.
 */
export async function batch<T extends Statements>(db: Database, statements: T): Promise<BatchResponse<T>> {
  if (isRequestDatabase(db)) return db.batch(statements)
  const results: unknown[] = []
  // Inside a transaction already: drizzle's query builders are promises of their result.
  for (const statement of statements) results.push(await (statement as unknown as PromiseLike<unknown>))
  return results as BatchResponse<T>
}

/**
 * Runs `work` in an interactive transaction: over a WebSocket opened for it when `db` is a
 * request database, or inside `db` when that is already a transaction. Only for decisions
 * that must happen between statements; everything else is one statement or one `batch`.
 */
export async function transaction<T>(db: Database, work: (tx: Database) => Promise<T>): Promise<T> {
  const open = poolOf.get(db)
  if (!open) return db.transaction(work)
  const pool = open()
  try {
    return await drizzleWebSocket({ client: pool, schema }).transaction(work)
  } finally {
    // The socket's close need not delay the answer: the pool's end resolves once Postgres hangs up.
    pool.end().catch(() => {})
  }
}

function useLocalRelay(relay: string) {
  // The relay speaks plain ws:// and http://, and plain Postgres: no TLS inside the socket,
  // no pipelining of the startup (pipelining only works with Neon's proxy).
  neonConfig.wsProxy = (host, port) => `${relay}/?address=${host}:${port}`
  neonConfig.useSecureWebSocket = false
  neonConfig.pipelineTLS = false
  neonConfig.pipelineConnect = false
  neonConfig.fetchEndpoint = `http://${relay}/sql`
}

/** The rows of a raw `db.execute(sql...)`: every driver we use answers `{ rows }`. */
export const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows
