import * as z from 'zod/mini'
import { finishPasskeyRegistration, passkeyView } from '../core/passkeys'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { passkeyName, passkeyResult, registrationResponse } from './schemas'

// POST /api/v1/auth/passkeys/registration
export const passkeyRegistration = endpoint(
  {
    summary: 'Finish adding a passkey with the browser’s credential.toJSON()',
    description: 'The credential must answer a challenge of /passkeys/registration/options issued to the caller in the last 5 minutes.',
    auth: 'profile:write',
    body: z.object({ name: z.optional(passkeyName), credential: registrationResponse }),
    responses: {
      201: { description: 'The passkey', schema: passkeyResult },
      409: { description: 'passkey_already_registered' },
      422: { description: 'passkey_registration_invalid: wrong origin, RP ID, challenge, or a malformed credential' },
    },
  },
  async (c) => {
    const passkey = await finishPasskeyRegistration(services(c), c.var.auth.principal, c.req.valid('json'))
    return c.json(passkeyView(passkey), 201)
  },
)
