import * as z from 'zod/mini'
import { startPasskeyLogin } from '../core/passkeys'
import { operation } from '../http/endpoint'
import { services } from '../http/respond'
import { email } from '../http/schemas'
import { requestOptions } from './schemas'

// POST /api/v1/auth/passkeys/login/options (and /v1: v1/routes.ts)
export const passkeyLoginOptions = operation(
  {
    summary: 'Start a passkey sign-in: request options for navigator.credentials.get()',
    description:
      'Answers PublicKeyCredentialRequestOptionsJSON (pass it to PublicKeyCredential.parseRequestOptionsFromJSON). ' +
      'Without an email, allowCredentials is empty: the browser offers the passkeys it holds (discoverable credentials). ' +
      'With one, the account’s credentials; an email without passkeys gets an answer of the same shape.',
    auth: false,
    body: z.object({ email: z.optional(email) }),
    responses: {
      200: { description: 'Request options', schema: requestOptions },
      429: { description: 'Too many attempts from this IP (the login limit)' },
    },
  },
  async (c) => startPasskeyLogin(services(c), c.req.valid('json').email),
)
