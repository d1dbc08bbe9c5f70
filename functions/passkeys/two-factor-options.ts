import * as z from 'zod/mini'
import { startPasskeySecondFactor } from '../core/passkeys'
import { operation } from '../http/endpoint'
import { services } from '../http/respond'
import { opaqueToken } from '../http/schemas'
import { requestOptions } from './schemas'

// POST /api/v1/auth/2fa/passkey-options (and /v1: v1/routes.ts)
export const twoFactorPasskeyOptions = operation(
  {
    summary: 'Request options to complete a two-step login with a passkey',
    description: 'For the user of the session_token of /login; send the credential to /2fa/verify as `{session_token, credential}`.',
    auth: false,
    body: z.object({ session_token: opaqueToken }),
    responses: {
      200: { description: 'Request options', schema: requestOptions },
      404: { description: 'The user has no passkeys' },
      429: { description: 'Too many attempts from this IP' },
    },
  },
  async (c) => startPasskeySecondFactor(services(c), c.req.valid('json').session_token),
)
