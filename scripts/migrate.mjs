// Applies db/migrations (drizzle-kit's output) with drizzle-orm's own migrator over the
// Neon driver: the same driver the Worker uses, and no `pg` dependency (drizzle-kit's
// `migrate` refuses a non-Neon URL without it).
//   node scripts/migrate.mjs        uses DATABASE_URL, and DB_WS_PROXY for a local relay
import { fileURLToPath } from 'node:url'
import { Pool, neonConfig } from '@neondatabase/serverless'
import { drizzle } from 'drizzle-orm/neon-serverless'
import { migrate as drizzleMigrate } from 'drizzle-orm/neon-serverless/migrator'
import ws from 'ws'

const migrationsFolder = fileURLToPath(new URL('../db/migrations', import.meta.url))

/**
 * The relay settings of db/client.ts, for Node (which has no WebSocket of its own on 20).
 * @param {string} [wsProxy]
 */
export function useRelay(wsProxy) {
  neonConfig.webSocketConstructor = ws
  if (!wsProxy) return
  neonConfig.wsProxy = (host, port) => `${wsProxy}/?address=${host}:${port}`
  neonConfig.useSecureWebSocket = false
  neonConfig.pipelineTLS = false
  neonConfig.pipelineConnect = false
}

/** @param {{ url: string, wsProxy?: string }} options */
export async function migrate({ url, wsProxy }) {
  useRelay(wsProxy)
  const pool = new Pool({ connectionString: url })
  pool.on('error', () => {}) // an idle client's error is reported by the query that meets it
  try {
    await drizzleMigrate(drizzle({ client: pool }), { migrationsFolder })
  } finally {
    await pool.end()
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.env.DATABASE_URL
  if (!url) {
    console.error('DATABASE_URL is not set')
    process.exit(1)
  }
  await migrate({ url, wsProxy: process.env.DB_WS_PROXY })
  console.log(`Migrations applied to ${new URL(url).host}`)
}
