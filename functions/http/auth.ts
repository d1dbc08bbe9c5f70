import type { Context, MiddlewareHandler } from 'hono'
import type { RequestDatabase } from '../../db/client'
import { unauthenticated } from '../core/errors'
import { authorize } from '../core/sessions'
import type { Caller, CallerReads } from '../core/sessions'
import type { AppEnv } from './env'

const BEARER = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i

/**
 * Verifies `Authorization: Bearer <access token>` and its live session; with `scope`, the
 * token must also carry that scope, and the caller's current role grant it (403 otherwise).
 * `reads` run in the session check's round trip (`authenticate`); their results land in
 * `c.var.reads`, and only once the caller passed.
 */
export function requireAuth(
  scope?: string,
  reads?: (db: RequestDatabase, caller: Caller, c: Context<AppEnv>) => CallerReads,
  /** The body's validation, run first for `reads` (`bodyOf`); its refusal is answered after the session check. */
  body?: MiddlewareHandler<AppEnv>,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('Authorization')
    if (!header) throw unauthenticated('token_missing', 'An Authorization: Bearer token is required.')
    const token = BEARER.exec(header)?.[1]
    if (!token) throw unauthenticated('token_invalid', 'The Authorization header must be "Bearer <token>".')
    let refused: { error: unknown } | undefined
    if (body) await body(c, async () => {}).catch((error: unknown) => (refused = { error }))
    const { reads: results, ...auth } = await authorize(
      { db: c.var.db, config: c.var.config, now: c.var.now() },
      token,
      scope,
      reads && ((db, caller) => reads(db, caller, c)),
    )
    c.set('auth', auth)
    if (results) c.set('reads', results)
    if (refused) throw refused.error
    await next()
  }
}
