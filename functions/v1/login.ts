import * as z from 'zod/mini'
import { passwordLogin } from '../core/login'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { anyPassword, email, twoFactorChallenge } from '../http/schemas'
import { ok, v1Login } from './envelope'
import { v1LoginResult } from './schemas'

// POST /v1/login
export const v1LoginEndpoint = endpoint(
  {
    summary: 'Log in (the /v1 dialect)',
    auth: false,
    body: z.object({ email, password: anyPassword }),
    responses: {
      200: { description: 'Token, or a 2FA challenge', schema: z.union([v1LoginResult, twoFactorChallenge]) },
      429: { description: 'Too many attempts from this IP, or the account is locked for now (Retry-After)' },
    },
  },
  async (c) => {
    const { email, password } = c.req.valid('json')
    const outcome = await passwordLogin(services(c), email, password)
    if (outcome.kind === 'two_factor') return ok(c, { requires_2fa: true, session_token: outcome.sessionToken })
    const { user } = outcome.account
    return ok(c, v1Login({ id: user.id, name: user.fullName, email: user.email }, outcome.tokens))
  },
)
