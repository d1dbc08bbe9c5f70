import { startPasskeyRegistration } from '../core/passkeys'
import { jsonBody } from '../http/body'
import { endpoint } from '../http/endpoint'
import { services, tokenResponse } from '../http/respond'
import { WRONG_PROOF_IS_A_FIELD } from '../http/statuses'
import { creationOptions, registrationOptionsBody } from './schemas'

// POST /api/v1/auth/passkeys/registration/options
export const passkeyRegistrationOptions = endpoint(
  {
    summary: 'Start adding a passkey: creation options for navigator.credentials.create()',
    description:
      'Answers PublicKeyCredentialCreationOptionsJSON (pass it to PublicKeyCredential.parseCreationOptionsFromJSON). ' +
      'Needs a sign-in within PASSKEY_REAUTH_SECONDS (default 10 minutes, from the token’s auth_time), or the password ' +
      'in an optional JSON body `{"password": "..."}`. The challenge lives 5 minutes and is good for one registration.',
    auth: 'profile:write',
    statuses: WRONG_PROOF_IS_A_FIELD,
    responses: {
      200: { description: 'Creation options', schema: creationOptions },
      403: { description: 'reauthentication_required: sign in again, or send the password' },
      422: { description: 'The password is incorrect' },
      429: { description: 'Too many registrations started, or wrong passwords' },
    },
  },
  async (c) => {
    // The body is optional: a fresh sign-in needs none.
    let password: string | undefined
    if (c.req.header('Content-Type') || Number(c.req.header('Content-Length') ?? 0) > 0) {
      await jsonBody(registrationOptionsBody)(c as never, async () => {})
      password = (c.req.valid as (target: 'json') => { password?: string })('json').password
    }
    return tokenResponse(c, await startPasskeyRegistration(services(c), c.var.auth, password))
  },
)
