import * as z from 'zod/mini'
import { verifyTwoFactorLogin } from '../core/two-factor'
import { endpoint } from '../http/endpoint'
import { loginBody, services, tokenResponse } from '../http/respond'
import { loginResult, opaqueToken } from '../http/schemas'
import { anyCode } from './schemas'

export const verifyBody = z.object({ session_token: opaqueToken, code: anyCode })

// POST /api/v1/auth/2fa/verify
export const twoFactorVerify = endpoint(
  {
    summary: 'Complete a two-step login with a TOTP or recovery code',
    description:
      'The session_token of /login is single-use, lives 5 minutes and dies after 5 wrong codes. Each code works once.',
    auth: false,
    body: verifyBody,
    responses: { 200: { description: 'Signed in', schema: loginResult }, 429: { description: 'Too many wrong codes' } },
  },
  async (c) => {
    const { session_token, code } = c.req.valid('json')
    const { account, tokens } = await verifyTwoFactorLogin(services(c), session_token, code)
    return tokenResponse(c, loginBody(account, tokens))
  },
)
