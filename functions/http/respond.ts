import type { Context } from 'hono'
import type { Account } from '../../db/queries/accounts'
import type { LoginOutcome } from '../core/login'
import type { Services } from '../core/services'
import type { IssuedTokens } from '../core/sessions'
import type { AppEnv } from './env'

/** The domain services for this request. */
// biome-ignore lint/suspicious/noExplicitAny: any route's context, whatever its path and validated input
export const services = (c: Context<AppEnv, any, any>): Services => {
  const ctx = executionContext(c)
  return {
    db: c.var.db,
    config: c.var.config,
    now: c.var.now(),
    argon2: c.var.argon2,
    fetch: c.var.fetch,
    client: c.var.client,
    log: c.var.log,
    waitUntil:
      ctx &&
      ((promise) => {
        c.var.afterResponse(promise)
        ctx.waitUntil(promise)
      }),
  }
}

function executionContext(c: Context) {
  try {
    return c.executionCtx
  } catch {
    return undefined // app.request in tests has none
  }
}

// RFC 6749 §5.1: responses carrying tokens must not be cached.
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' }

// biome-ignore lint/suspicious/noExplicitAny: any route's context, whatever its path and validated input
export function tokenResponse(c: Context<AppEnv, any, any>, body: object, status: 200 | 201 = 200): Response {
  // A sign-in's log line names who signed in, as an authenticated request's does.
  const { user_id, organization_id } = body as { user_id?: unknown; organization_id?: unknown }
  if (typeof user_id === 'string' && typeof organization_id === 'string') c.set('subject', { userId: user_id, orgId: organization_id })
  return c.json(body, status, NO_STORE)
}

/** The auth API's login response. */
export const loginBody = (account: Account, tokens: IssuedTokens) => ({
  access_token: tokens.accessToken,
  token_type: 'bearer' as const,
  expires_in: tokens.expiresIn,
  refresh_token: tokens.refreshToken,
  user_id: account.user.id,
  email: account.user.email,
  full_name: account.user.fullName,
  organization_id: account.org.id,
  organization_name: account.org.name,
})

/** A sign-in's answer in the auth API: tokens, or the 2FA challenge (password and passkey login). */
// biome-ignore lint/suspicious/noExplicitAny: any route's context, whatever its path and validated input
export function signInResponse(c: Context<AppEnv, any, any>, outcome: LoginOutcome): Response {
  if (outcome.kind === 'two_factor') return tokenResponse(c, { requires_2fa: true, session_token: outcome.sessionToken })
  return tokenResponse(c, loginBody(outcome.account, outcome.tokens))
}
