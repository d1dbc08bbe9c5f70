import * as z from 'zod/mini'
import { register } from '../core/registration'
import { endpoint } from '../http/endpoint'
import { loginBody, services, tokenResponse } from '../http/respond'
import { email, loginResult, name, password } from '../http/schemas'

// POST /api/v1/auth/register
export const registerEndpoint = endpoint(
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
    const { email, password, full_name: fullName, organization_name: organizationName } = c.req.valid('json')
    const { account, tokens } = await register(services(c), { email, password, fullName, organizationName })
    return tokenResponse(c, loginBody(account, tokens), 201)
  },
)
