// PGlite (Postgres compiled to WebAssembly) served over the Postgres wire protocol, so the
// Worker can use it through scripts/relay.mjs exactly as it uses Neon. PGlite cannot run
// inside workerd itself (no runtime WebAssembly compilation there).
import { readFile } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

/**
 * @param {{ dataDir?: string, template?: string, port?: number, host?: string }} [options]
 *   dataDir: a folder to persist to; unset keeps the database in memory.
 *   template: a file written by dumpDataDir() (e.g. an already migrated database) to start
 *   from; loading one takes ~1 s where a fresh PGlite.create() runs initdb for 2–5 s.
 */
export async function startPglite({ dataDir, template, port = 0, host = '127.0.0.1' } = {}) {
  const loadDataDir = template ? new Blob([await readFile(template)]) : undefined
  const db = await PGlite.create({ dataDir, loadDataDir })
  // The default of 1 connection makes concurrent requests fail ("Too many connections").
  // PGlite itself runs one query at a time; the server queues the rest and keeps an open
  // transaction to the connection that began it.
  const server = new PGLiteSocketServer({ db, host, port, maxConnections: 200 })
  try {
    await server.start()
  } catch (error) {
    await db.close()
    throw error
  }
  const [, boundPort] = server.getServerConn().split(':')
  return {
    db,
    host,
    port: Number(boundPort),
    url: `postgres://postgres:postgres@${host}:${boundPort}/postgres`,
    /** Dumps the database to a tar Blob (see `template`). */
    dump: () => db.dumpDataDir('none'),
    // Stop the server first so no handler runs a query on a closed database; an unclosed
    // PGlite keeps the process alive.
    close: async () => {
      await server.stop()
      await db.close()
    },
  }
}
