import { neon, neonConfig } from '@neondatabase/serverless'
import { drizzle as drizzleHttp } from 'drizzle-orm/neon-http'
import type { NeonHttpDatabase } from 'drizzle-orm/neon-http'
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { sql } from 'drizzle-orm'
import type { SQL, SQLWrapper } from 'drizzle-orm'
import { isRequirementUnmet } from './errors'
import * as schema from './schema'

// How a request reaches Postgres (docs/edge-latency.md):
//  - Over HTTP (`neon()` and drizzle-orm/neon-http): one statement is one `fetch`, one round
//    trip, with no connection to open first (Cloudflare's fetch reuses its connections to
//    Neon). `db.batch([...])` sends several statements in one `fetch`, run by Neon in one
//    transaction: the unit of work of a request whose statements need not see each other's
//    results in between. Every request path uses this, and nothing else: no WebSocket, no
//    interactive transaction. A decision between two statements of one unit of work is a
//    `required` statement in its batch (migration 0007's `gatehouse_require`): when the change
//    it guards did not happen, the batch raises and writes nothing, as a rollback would.

/** Any executor of our schema. Queries take this; request paths hold a `RequestDatabase`. */
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

// The request databases, whose `batch` is one round trip and one transaction.
const requestDatabases = new WeakSet<object>()
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
    requestDatabases.add(db)
    databases.set(key, db)
  }
  return db
}

/**
 * A condition in SQL, read when the statement that holds it runs: what a write later in a batch
 * waits on (a window within its limit, an invitation written), so it writes nothing otherwise.
 */
export type Condition = SQL

/** Statements of a batch: built from the database they will run on, not yet awaited. */
export type Statements = readonly [BatchItem<'pg'>, ...BatchItem<'pg'>[]]

const isRequestDatabase = (db: Database): db is RequestDatabase => requestDatabases.has(db)

/**
 * The statements of one unit of work that need not see each other's results: one round trip
 * and one transaction on a request database (neon-http `batch`). A failing statement (a
 * unique violation, say) writes nothing. On an in-process driver without batches (a test's
 * PGlite), the statements run in turn, without that atomicity.
 */
export async function batch<T extends Statements>(db: Database, statements: T): Promise<BatchResponse<T>> {
  if (isRequestDatabase(db)) return db.batch(statements)
  const results: unknown[] = []
  // drizzle's query builders are promises of their result.
  for (const statement of statements) results.push(await (statement as unknown as PromiseLike<unknown>))
  return results as BatchResponse<T>
}

/**
 * A statement of a batch that changes rows and must change at least one: otherwise it raises
 * (SQLSTATE GH001, `gatehouse_require` of migration 0007) and the whole batch is undone, as
 * an interactive transaction's rollback would. `change` is an `update`/`insert`/`delete …
 * returning`. Statements after it in the batch run only once it changed something, in the
 * same transaction, each seeing what the ones before it wrote: the decision between two
 * statements, inside one round trip.
 */
export const required = (db: Database, change: SQLWrapper): BatchItem<'pg'> =>
  db.execute(sql`with changed as (${change.getSQL()}) select gatehouse_require(count(*) > 0) as ok from changed`) as BatchItem<'pg'>

/**
 * `batch`, with `required` statements in it: the results, or undefined when a requirement
 * was not met (and nothing was written).
 */
export async function allOrNothing<T extends Statements>(db: Database, statements: T): Promise<BatchResponse<T> | undefined> {
  try {
    return await batch(db, statements)
  } catch (error) {
    if (isRequirementUnmet(error)) return undefined
    throw error
  }
}

function useLocalRelay(relay: string) {
  // The relay speaks plain http:// (its SQL-over-HTTP endpoint).
  neonConfig.fetchEndpoint = `http://${relay}/sql`
}

/** The rows of a raw `db.execute(sql...)`: every driver we use answers `{ rows }`. */
export const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows
