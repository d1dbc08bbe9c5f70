import { Pool, neonConfig } from '@neondatabase/serverless'
import { betterAuth } from 'better-auth'
import { drizzleAdapter } from 'better-auth/adapters/drizzle'
import { jwt, twoFactor } from 'better-auth/plugins'
import { drizzle } from 'drizzle-orm/neon-serverless'
import * as schema from './schema'

export interface Env {
  DATABASE_URL: string
  /** `host:port` of the WebSocket→Postgres relay, as for Gatehouse. */
  DB_WS_PROXY?: string
  BETTER_AUTH_SECRET: string
  BETTER_AUTH_URL: string
}

/**
 * Better Auth as its Workers guides set it up: a Pool and an auth instance per request
 * (a Worker cannot keep a socket across requests), the drizzle adapter, email+password,
 * twoFactor and jwt. Everything else is left at Better Auth's defaults.
 */
export function createAuth(env: Env) {
  if (env.DB_WS_PROXY) {
    // The same driver settings as Gatehouse's db/client.ts for the local relay.
    neonConfig.wsProxy = (host, port) => `${env.DB_WS_PROXY}/?address=${host}:${port}`
    neonConfig.useSecureWebSocket = false
    neonConfig.pipelineTLS = false
    neonConfig.pipelineConnect = false
  }
  const pool = new Pool({ connectionString: env.DATABASE_URL })
  pool.on('error', () => {})
  const auth = betterAuth({
    appName: 'bench',
    baseURL: env.BETTER_AUTH_URL,
    secret: env.BETTER_AUTH_SECRET,
    database: drizzleAdapter(drizzle({ client: pool, schema }), { provider: 'pg', schema }),
    emailAndPassword: { enabled: true },
    plugins: [twoFactor(), jwt()],
    // Its in-memory limiter allows a few sign-ins per 10 s per IP: it would measure the
    // limiter, not the login path. Gatehouse's login benchmark does not hit a limiter either.
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
  })
  return { auth, close: () => pool.end() }
}

/** For `npx auth generate` (schema generation only; no connection is opened). */
export const auth = createAuth({
  DATABASE_URL: 'postgres://generate@127.0.0.1/generate',
  BETTER_AUTH_SECRET: 'generate-only-'.padEnd(40, 'x'),
  BETTER_AUTH_URL: 'http://127.0.0.1',
}).auth
