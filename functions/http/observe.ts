import type { MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'
import { createLogger } from '../core/log'
import type { LogSink } from '../core/log'
import type { AppEnv } from './env'

export const REQUEST_ID_HEADER = 'X-Request-Id'

// Cloudflare's edge sets CF-Ray on every request (`8f1c2d3e4a5b6c7d-LHR`): the id its own
// dashboards and support know the request by. Anything else there (a local client) is
// replaced rather than written into logs as given.
const RAY = /^[A-Za-z0-9-]{1,64}$/

/** The request's id: CF-Ray from the edge, or a fresh one (local development, tests). */
export function requestId(ray: string | undefined): string {
  return ray && RAY.test(ray) ? ray : crypto.randomUUID()
}

/**
 * Gives the request an id (`c.var.requestId`, the `X-Request-Id` response header) and a
 * logger bound to it (`c.var.log`), and writes one line when the response is ready:
 * method, route pattern (never the path's query string), status, duration, the caller's
 * user and organization when authenticated, and the error code and its log-only detail.
 */
export function observe(sink: LogSink): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = Date.now()
    const id = requestId(c.req.header('CF-Ray'))
    c.set('requestId', id)
    c.set('log', createLogger(sink, { request_id: id }))
    await next()
    c.header(REQUEST_ID_HEADER, id)
    // The endpoint's pattern: middleware and each dialect's catch-all are registered for ALL.
    const route = matchedRoutes(c).findLast((r) => r.method !== 'ALL')?.path ?? null
    const status = c.res.status
    const auth = c.var.auth?.principal ?? c.var.subject
    const failure = c.var.failure
    const fields = {
      method: c.req.method,
      route,
      status,
      duration_ms: Date.now() - started,
      ...(auth && { user_id: auth.userId, org_id: auth.orgId }),
      ...failure,
    }
    if (status >= 500) c.var.log.error('request failed', fields)
    else c.var.log.info('request', fields)
  }
}
