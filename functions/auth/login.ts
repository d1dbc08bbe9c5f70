import * as z from 'zod/mini'
import { passwordLogin } from '../core/login'
import { endpoint } from '../http/endpoint'
import { loginBody, services, tokenResponse } from '../http/respond'
import { anyPassword, email, loginResult, twoFactorChallenge } from '../http/schemas'

// POST /api/v1/auth/login
export const login = endpoint(
  {
    summary: 'Log in with email and password',
    description: 'When the user has 2FA on, the answer is a challenge (`requires_2fa`) to complete at /api/v1/auth/2fa/verify.',
    auth: false,
    body: z.object({ email, password: anyPassword }),
    responses: {
      200: { description: 'Tokens, or a 2FA challenge', schema: z.union([loginResult, twoFactorChallenge]) },
      429: { description: 'Too many attempts from this IP, or the account is locked for now (Retry-After)' },
    },
  },
  async (c) => {
    const { email, password } = c.req.valid('json')
    const outcome = await passwordLogin(services(c), email, password)
    if (outcome.kind === 'two_factor') return tokenResponse(c, { requires_2fa: true, session_token: outcome.sessionToken })
    return tokenResponse(c, loginBody(outcome.account, outcome.tokens))
  },
)
