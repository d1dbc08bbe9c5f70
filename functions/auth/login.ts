import * as z from 'zod/mini'
import { passwordLogin } from '../core/login'
import { operation } from '../http/endpoint'
import { services, signInResponse } from '../http/respond'
import { anyPassword, email, loginResult, twoFactorChallenge } from '../http/schemas'

// POST /api/v1/auth/login (and /v1: v1/routes.ts)
export const login = operation(
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
  (c) => {
    const { email, password } = c.req.valid('json')
    return passwordLogin(services(c), email, password)
  },
  signInResponse,
)
