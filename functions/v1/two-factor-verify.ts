import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { completeTwoFactor, verifyBody } from '../two-factor/verify'
import { ok, v1Login } from './envelope'
import { v1LoginResult } from './schemas'

// POST /v1/2fa/verify: answers exactly what a successful /v1/login does.
export const v1TwoFactorVerify = endpoint(
  {
    summary: 'Complete a two-step login (the /v1 dialect)',
    auth: false,
    body: verifyBody,
    responses: { 200: { description: 'Signed in', schema: v1LoginResult }, 429: { description: 'Too many wrong codes' } },
  },
  async (c) => {
    const { account, tokens } = await completeTwoFactor(services(c), c.req.valid('json'))
    const { user } = account
    return ok(c, v1Login({ id: user.id, name: user.fullName, email: user.email }, tokens))
  },
)
