import type { Context } from 'hono'
import type { IssuedTokens } from '../core/sessions'
import { NO_STORE } from '../http/respond'

// The /v1 dialect wraps every success as {success: true, data}; its errors are in v1/dialect.ts.
export const ok = (c: Context, data: unknown, status: 200 | 201 = 200) => c.json({ success: true, data }, status, NO_STORE)

/** The /v1 dialect's sign-in answer (login, refresh, 2FA verify, passkey login). */
export const v1Login = (user: { id: string; fullName: string; email: string }, tokens: IssuedTokens) => ({
  token: tokens.accessToken,
  token_type: 'Bearer' as const,
  expires_in: tokens.expiresIn,
  refresh_token: tokens.refreshToken,
  user: { id: user.id, name: user.fullName, email: user.email },
})
