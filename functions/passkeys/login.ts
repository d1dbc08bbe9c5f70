import * as z from 'zod/mini'
import { passkeyLogin } from '../core/passkeys'
import { endpoint } from '../http/endpoint'
import { loginBody, services, tokenResponse } from '../http/respond'
import { loginResult, twoFactorChallenge } from '../http/schemas'
import { ok, v1Login } from '../v1/envelope'
import { v1LoginResult } from '../v1/schemas'
import { authenticationResponse } from './schemas'

const spec = {
  summary: 'Sign in with a passkey (the browser’s credential.toJSON())',
  description:
    'Answers as /login does. A passkey with user verification is two factors: a 2FA user gets tokens at once. ' +
    'Without user verification, a 2FA user gets the requires_2fa challenge.',
  auth: false as const,
  body: z.object({ credential: authenticationResponse }),
}

// POST /api/v1/auth/passkeys/login
export const passkeyLoginEndpoint = endpoint(
  {
    ...spec,
    responses: {
      200: { description: 'Tokens, or a 2FA challenge', schema: z.union([loginResult, twoFactorChallenge]) },
      401: { description: 'passkey_invalid' },
      429: { description: 'Too many attempts from this IP' },
    },
  },
  async (c) => {
    const outcome = await passkeyLogin(services(c), c.req.valid('json').credential)
    if (outcome.kind === 'two_factor') return tokenResponse(c, { requires_2fa: true, session_token: outcome.sessionToken })
    return tokenResponse(c, loginBody(outcome.account, outcome.tokens))
  },
)

// POST /v1/passkeys/login
export const v1PasskeyLogin = endpoint(
  {
    ...spec,
    summary: `${spec.summary} (the /v1 dialect)`,
    responses: {
      200: { description: 'Token, or a 2FA challenge', schema: z.union([v1LoginResult, twoFactorChallenge]) },
      429: { description: 'Too many attempts from this IP' },
    },
  },
  async (c) => {
    const outcome = await passkeyLogin(services(c), c.req.valid('json').credential)
    if (outcome.kind === 'two_factor') return ok(c, { requires_2fa: true, session_token: outcome.sessionToken })
    const { user } = outcome.account
    return ok(c, v1Login({ id: user.id, name: user.fullName, email: user.email }, outcome.tokens))
  },
)
