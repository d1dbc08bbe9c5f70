import { fileURLToPath } from 'node:url'
import { Pool } from '@neondatabase/serverless'
import { drizzle } from 'drizzle-orm/neon-serverless'
import { migrate as drizzleMigrate } from 'drizzle-orm/neon-serverless/migrator'
import { migrate, useRelay } from '../../scripts/migrate.mjs'
import { start, waitFor } from './processes.mjs'

/**
 * Starts the relay process; resolves with its `host:port` for DB_WS_PROXY, and `setDelay(ms)`:
 * the delay of every exchange with the database from then on (--db-rtt).
 */
export async function startRelayProcess(postgresPort) {
  const entry = start('relay', process.execPath, [fileURLToPath(new URL('./relay-process.mjs', import.meta.url)), String(postgresPort)], {
    stdin: 'pipe',
  })
  const line = await waitFor('the relay', () => entry.output.match(/\{"wsProxy".*\}/)?.[0], { entry, timeoutMs: 10_000 })
  const setDelay = async (ms) => {
    const seen = (entry.output.match(/delay \d+ set/g) ?? []).length
    entry.child.stdin.write(`delay ${ms}\n`)
    await waitFor('the relay delay', () => (entry.output.match(/delay \d+ set/g) ?? []).length > seen || undefined, { entry, timeoutMs: 5_000 })
  }
  return { wsProxy: JSON.parse(line).wsProxy, setDelay }
}

/** Gatehouse's migrations, as production applies them (scripts/migrate.mjs). */
export const migrateGatehouse = (url, wsProxy) => migrate({ url, wsProxy })

/** The peer's drizzle-kit migrations, through the same driver and relay. */
export async function migrateFolder(url, wsProxy, migrationsFolder) {
  useRelay(wsProxy)
  const pool = new Pool({ connectionString: url })
  pool.on('error', () => {})
  try {
    await drizzleMigrate(drizzle({ client: pool }), { migrationsFolder })
  } finally {
    await pool.end()
  }
}
