import type { MiddlewareHandler } from 'hono'
import { openDatabase } from '../../db/client'
import type { RequestDatabase } from '../../db/client'
import type { Bindings } from '../config'
import { getConfig } from '../config'
import { loadArgon2 } from '../core/argon2'
import type { LogSink } from '../core/log'
import type { AppEnv } from './env'

export interface AppDependencies {
  /** How a request reaches the database; tests point it at their own. */
  openDatabase?: (env: Bindings) => RequestDatabase
  now?: () => Date
  fetch?: typeof fetch
  /** Where log lines go (default: the console, which Workers Logs collects). */
  log?: LogSink
}

/** How the Worker reaches its database for one request (or one service-binding call). */
export const openRequestDatabase = (env: Bindings) => openDatabase({ url: env.DATABASE_URL, localRelay: env.DB_WS_PROXY })

/**
 * What every request of every dialect finds in `c.var`: the configuration, the clock, the
 * database, the client, and a way to keep work alive after the response. Each dialect runs
 * it inside its own sub-app, so a broken configuration is answered in the caller's dialect.
 */
export function requestSetup(deps: AppDependencies): MiddlewareHandler<AppEnv> {
  const open = deps.openDatabase ?? openRequestDatabase
  // One function per app, not per request: per-isolate caches (OAuth providers' JWKS) key on it.
  const fetcher: typeof fetch = deps.fetch ?? ((input, init) => fetch(input, init))
  const now = deps.now ?? (() => new Date())
  return async (c, next) => {
    c.set('config', await getConfig(c.env))
    c.set('now', now)
    c.set('argon2', loadArgon2)
    c.set('fetch', fetcher)
    // CF-Connecting-IP is set by Cloudflare's edge and cannot be forged by the client.
    c.set('client', { ip: c.req.header('CF-Connecting-IP') ?? null, userAgent: c.req.header('User-Agent')?.slice(0, 512) ?? null })
    // Over HTTP: nothing to open or close per request (db/client.ts).
    c.set('db', open(c.env))
    // Work after the response (a mail sent through the provider) is kept alive with waitUntil.
    const pending: Promise<unknown>[] = []
    c.set('afterResponse', (promise) => void pending.push(promise))
    try {
      await next()
    } catch (error) {
      // Hono passes only Error instances to onError, and the Neon driver rejects with the
      // WebSocket's ErrorEvent when it cannot connect: wrap, so onError can answer 503.
      throw error instanceof Error ? error : new Error('non-Error rejection', { cause: error })
    } finally {
      if (pending.length) {
        const settled = Promise.allSettled(pending)
        let ctx: { waitUntil(promise: Promise<unknown>): void } | undefined
        try {
          ctx = c.executionCtx
        } catch {}
        if (ctx) ctx.waitUntil(settled)
        else await settled
      }
    }
  }
}
