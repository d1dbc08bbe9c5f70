import * as z from 'zod/mini'
import { passkeyLogin } from '../core/passkeys'
import { operation } from '../http/endpoint'
import { services, signInResponse } from '../http/respond'
import { loginResult, twoFactorChallenge } from '../http/schemas'
import { authenticationResponse } from './schemas'

// POST /api/v1/auth/passkeys/login (and /v1: v1/routes.ts)
export const passkeyLoginEndpoint = operation(
  {
    summary: 'Sign in with a passkey (the browser’s credential.toJSON())',
    description:
      'Answers as /login does. A passkey with user verification is two factors: a 2FA user gets tokens at once. ' +
      'Without user verification, a 2FA user gets the requires_2fa challenge.',
    auth: false,
    body: z.object({ credential: authenticationResponse }),
    responses: {
      200: { description: 'Tokens, or a 2FA challenge', schema: z.union([loginResult, twoFactorChallenge]) },
      401: { description: 'passkey_invalid' },
      429: { description: 'Too many attempts from this IP' },
    },
  },
  (c) => passkeyLogin(services(c), c.req.valid('json').credential),
  signInResponse,
)
