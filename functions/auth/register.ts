import * as z from 'zod/mini'
import { AuthError } from '../core/errors'
import { checkNewPassword } from '../core/password-policy'
import { hashPassword } from '../core/passwords'
import { limitClient } from '../core/rate-limit'
import { registerAccount } from '../core/registration'
import { endpoint } from '../http/endpoint'
import { loginBody, services, tokenResponse } from '../http/respond'
import { email, loginResult, name, password } from '../http/schemas'

// POST /api/v1/auth/register
export const register = endpoint(
  {
    summary: 'Create an account, its organization, and a first session',
    auth: false,
    body: z.object({ email, password, full_name: name, organization_name: name }),
    responses: {
      201: { description: 'The new owner, signed in', schema: loginResult },
      429: { description: 'Too many registrations from this IP (Retry-After)' },
    },
  },
  async (c) => {
    const input = c.req.valid('json')
    const s = services(c)
    // First, alone: an attacker over the limit must not get argon2 to run for them.
    await limitClient(s, 'register')
    await checkNewPassword(s, input.password, { field: 'password', email: input.email, fullName: input.full_name })
    const created = await registerAccount(s, {
      email: input.email,
      fullName: input.full_name,
      organizationName: input.organization_name,
      passwordHash: hashPassword(await s.argon2(), input.password),
    })
    if (!created) throw new AuthError('email_taken', 'An account with this email already exists.')
    return tokenResponse(c, loginBody(created.account, created.tokens), 201)
  },
)
