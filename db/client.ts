import { Pool, neonConfig } from '@neondatabase/serverless'
import { drizzle } from 'drizzle-orm/neon-serverless'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import type * as schema from './schema'

/** Any drizzle Postgres database over our schema: Neon in the Worker, PGlite in tests. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>

export interface DatabaseHandle {
  db: Database
  /** Ends the connection; in a Worker pass it to `ctx.waitUntil`. */
  close: () => Promise<void>
}

export interface DatabaseOptions {
  url: string
  /**
   * `host:port` of a plain-WebSocket→TCP relay (scripts/relay.mjs) for a local Postgres.
   * Unset in production, where the driver speaks to Neon's own WebSocket endpoint.
   */
  wsProxy?: string
}

/**
 * Opens a database for one request. Workers cannot keep a socket across requests, so a
 * `Pool` is created per request; the connection itself opens lazily on the first query.
 */
export function openDatabase({ url, wsProxy }: DatabaseOptions): DatabaseHandle {
  if (wsProxy) localRelay(wsProxy)
  const pool = new Pool({ connectionString: url })
  pool.on('error', () => {}) // an idle client's error must not crash the isolate; queries report their own
  // No `schema` here: nothing uses db.query, and drizzle would rebuild its relational
  // config from the schema on every request (a Pool, and so a drizzle, per request).
  return { db: drizzle({ client: pool }) as unknown as Database, close: () => pool.end() }
}

function localRelay(wsProxy: string) {
  // The relay speaks plain ws:// and plain Postgres: no TLS inside the socket, no pipelining
  // of the startup (pipelining only works with Neon's proxy).
  neonConfig.wsProxy = (host, port) => `${wsProxy}/?address=${host}:${port}`
  neonConfig.useSecureWebSocket = false
  neonConfig.pipelineTLS = false
  neonConfig.pipelineConnect = false
}

/** The rows of a raw `db.execute(sql...)`: every driver we use answers `{ rows }`. */
export const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows
