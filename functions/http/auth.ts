import type { MiddlewareHandler } from 'hono'
import { unauthenticated } from '../core/errors'
import { authorize } from '../core/sessions'
import type { AppEnv } from './env'

const BEARER = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i

/**
 * Verifies `Authorization: Bearer <access token>` and its live session; with `scope`, the
 * token must also carry that scope, and the caller's current role grant it (403 otherwise).
 */
export function requireAuth(scope?: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('Authorization')
    if (!header) throw unauthenticated('token_missing', 'An Authorization: Bearer token is required.')
    const token = BEARER.exec(header)?.[1]
    if (!token) throw unauthenticated('token_invalid', 'The Authorization header must be "Bearer <token>".')
    c.set('auth', await authorize(c.var.db, c.var.config, token, c.var.now(), scope))
    await next()
  }
}
