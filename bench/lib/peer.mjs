import { join } from 'node:path'
import { migrateFolder, migrateGatehouse, startRelayProcess } from './database.mjs'
import { startPostgres } from './postgres.mjs'
import { ROOT, startWorker } from './workers.mjs'

/** The Better Auth peer Worker the benches compare against. */
export const PEER = join(ROOT, 'bench/peers/better-auth')

/**
 * A throwaway Postgres on 127.0.0.1 with Gatehouse's and the peer's databases, migrated,
 * behind the relay both Workers reach it through (`relay.wsProxy` for DB_WS_PROXY).
 */
export async function startDatabases() {
  const pg = await startPostgres(['gatehouse', 'better_auth'])
  const relay = await startRelayProcess(pg.port)
  await migrateGatehouse(pg.url('gatehouse'), relay.wsProxy)
  await migrateFolder(pg.url('better_auth'), relay.wsProxy, join(PEER, 'drizzle'))
  return { pg, relay }
}

/** Better Auth under wrangler dev, on its own database, with a fresh secret. */
export function startBetterAuth(pg, wsProxy) {
  return startWorker({
    name: 'better-auth',
    dir: PEER,
    vars: (url) => ({
      DATABASE_URL: pg.url('better_auth'),
      DB_WS_PROXY: wsProxy,
      BETTER_AUTH_SECRET: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url'),
      BETTER_AUTH_URL: url,
    }),
  })
}
