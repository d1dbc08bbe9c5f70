import { passkeyRegistrationReads, startPasskeyRegistration } from '../core/passkeys'
import { bodyOf } from '../http/body'
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
    // An old sign-in's window and password attempt, counted with the session check.
    reads: (db, caller, c) => passkeyRegistrationReads({ db, config: c.var.config, now: c.var.now() }, caller, bodyOf(c)),
    readsBody: true,
    statuses: WRONG_PROOF_IS_A_FIELD,
    body: registrationOptionsBody,
    // A fresh sign-in needs none: a request that declares no body (no Content-Type, no Content-Length) reads as `{}`.
    bodyOptional: 'when-declared',
    responses: {
      200: { description: 'Creation options', schema: creationOptions },
      403: { description: 'reauthentication_required: sign in again, or send the password' },
      422: { description: 'The password is incorrect' },
      429: { description: 'Too many registrations started, or wrong passwords' },
    },
  },
  async (c, reads) => tokenResponse(c, await startPasskeyRegistration(services(c), c.var.auth, c.req.valid('json').password, reads)),
)
