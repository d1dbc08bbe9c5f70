import { Hono } from 'hono'
import { openDatabase } from '../db/client'
import type { DatabaseHandle } from '../db/client'
import { login } from './auth/login'
import { logout } from './auth/logout'
import { getMe, patchMe } from './auth/me'
import { refresh } from './auth/refresh'
import { register } from './auth/register'
import type { Bindings } from './config'
import { getConfig } from './config'
import { loadArgon2 } from './core/argon2'
import type { AppEnv } from './http/env'
import { notFound, onError } from './http/errors'
import { health } from './service/health'
import { jwks } from './service/jwks'
import { docsPage, openApiDocument } from './service/openapi'
import type { Route } from './service/openapi'
import { v1LoginEndpoint } from './v1/login'
import { v1Logout } from './v1/logout'
import { v1Me } from './v1/me'
import { v1Refresh } from './v1/refresh'

/** Every endpoint, once: registered on the app and described in /openapi.json from here. */
export const routes: readonly Route[] = [
  ['post', '/api/v1/auth/register', register],
  ['post', '/api/v1/auth/login', login],
  ['post', '/api/v1/auth/refresh', refresh],
  ['post', '/api/v1/auth/logout', logout],
  ['get', '/api/v1/auth/me', getMe],
  ['patch', '/api/v1/auth/me', patchMe],

  ['post', '/v1/login', v1LoginEndpoint],
  ['post', '/v1/refresh', v1Refresh],
  ['post', '/v1/logout', v1Logout],
  ['get', '/v1/me', v1Me],

  ['get', '/health', health],
  ['get', '/.well-known/jwks.json', jwks],
]

export interface AppDependencies {
  /** How a request reaches the database; tests hand in PGlite. */
  openDatabase?: (env: Bindings) => DatabaseHandle
  now?: () => Date
  fetch?: typeof fetch
}

export function createApp(deps: AppDependencies = {}) {
  const open = deps.openDatabase ?? ((env: Bindings) => openDatabase({ url: env.DATABASE_URL, wsProxy: env.DB_WS_PROXY }))
  const app = new Hono<AppEnv>()

  app.use(async (c, next) => {
    c.set('config', await getConfig(c.env))
    c.set('now', deps.now ?? (() => new Date()))
    c.set('argon2', loadArgon2)
    c.set('fetch', deps.fetch ?? ((input, init) => fetch(input, init)))
    // CF-Connecting-IP is set by Cloudflare's edge and cannot be forged by the client.
    c.set('client', { ip: c.req.header('CF-Connecting-IP') ?? null, userAgent: c.req.header('User-Agent')?.slice(0, 512) ?? null })
    const { db, close } = open(c.env)
    c.set('db', db)
    try {
      await next()
    } catch (error) {
      // Hono passes only Error instances to onError, and the Neon driver rejects with the
      // WebSocket's ErrorEvent when it cannot connect: wrap, so onError can answer 503.
      throw error instanceof Error ? error : new Error('non-Error rejection', { cause: error })
    } finally {
      const closing = close().catch(() => {})
      // The connection closes after the response is sent; outside a Worker, wait for it.
      let ctx: { waitUntil(promise: Promise<unknown>): void } | undefined
      try {
        ctx = c.executionCtx
      } catch {}
      if (ctx) ctx.waitUntil(closing)
      else await closing
    }
  })

  for (const [method, path, endpoint] of routes) app.on(method.toUpperCase(), [path], ...endpoint.handlers)

  let document: ReturnType<typeof openApiDocument> | undefined
  app.get('/openapi.json', (c) => c.json((document ??= openApiDocument(routes))))
  app.get('/docs', (c) => c.html(docsPage))

  app.onError(onError)
  app.notFound(notFound)
  return app
}
