import { fileURLToPath } from 'node:url'
import { Pool } from '@neondatabase/serverless'
import { drizzle } from 'drizzle-orm/neon-serverless'
import { migrate as drizzleMigrate } from 'drizzle-orm/neon-serverless/migrator'
import { migrate, useRelay } from '../../scripts/migrate.mjs'
import { start, waitFor } from './processes.mjs'

/** Starts the relay process; resolves with its `host:port` for DB_WS_PROXY. */
export async function startRelayProcess(postgresPort) {
  const entry = start('relay', process.execPath, [fileURLToPath(new URL('./relay-process.mjs', import.meta.url)), String(postgresPort)])
  const line = await waitFor('the relay', () => entry.output.match(/\{"wsProxy".*\}/)?.[0], { entry, timeoutMs: 10_000 })
  return JSON.parse(line).wsProxy
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
