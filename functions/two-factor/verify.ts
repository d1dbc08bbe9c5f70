import * as z from 'zod/mini'
import type { Account } from '../../db/queries/accounts'
import { verifyTwoFactorWithPasskey } from '../core/passkeys'
import type { Services } from '../core/services'
import type { IssuedTokens } from '../core/sessions'
import { verifyTwoFactorLogin } from '../core/two-factor'
import { operation } from '../http/endpoint'
import { loginBody, services, tokenResponse } from '../http/respond'
import { loginResult, opaqueToken } from '../http/schemas'
import { authenticationResponse } from '../passkeys/schemas'
import { anyCode } from './schemas'

/** A code, or a passkey's credential.toJSON() (after /2fa/passkey-options): one of the two. */
export const verifyBody = z
  .object({ session_token: opaqueToken, code: z.optional(anyCode), credential: z.optional(authenticationResponse) })
  .check(
    z.refine((b) => b.code !== undefined || b.credential !== undefined, { message: 'is required', path: ['code'] }),
    z.refine((b) => b.code === undefined || b.credential === undefined, { message: 'send a code or a credential, not both', path: ['code'] }),
  )

/** Completes the two-step login with whichever proof the body carries. */
function completeTwoFactor(s: Services, body: z.output<typeof verifyBody>): Promise<{ account: Account; tokens: IssuedTokens }> {
  if (body.credential) return verifyTwoFactorWithPasskey(s, body.session_token, body.credential)
  return verifyTwoFactorLogin(s, body.session_token, body.code!)
}

// POST /api/v1/auth/2fa/verify (and /v1: v1/routes.ts)
export const twoFactorVerify = operation(
  {
    summary: 'Complete a two-step login with a TOTP or recovery code, or a passkey',
    description:
      'The session_token of /login is single-use, lives 5 minutes and dies after 5 wrong codes. Each code works once. ' +
      'Instead of `code`, `credential` takes a passkey assertion for the options of /2fa/passkey-options.',
    auth: false,
    body: verifyBody,
    responses: { 200: { description: 'Signed in', schema: loginResult }, 429: { description: 'Too many wrong codes' } },
  },
  (c) => completeTwoFactor(services(c), c.req.valid('json')),
  (c, { account, tokens }) => tokenResponse(c, loginBody(account, tokens)),
)
