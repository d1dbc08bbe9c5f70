import * as z from 'zod/mini'
import { setupTwoFactor, setupTwoFactorReads } from '../core/two-factor'
import { bodyOf } from '../http/body'
import { operation } from '../http/endpoint'
import { services } from '../http/respond'
import { anyPassword } from '../http/schemas'
import { WRONG_PROOF_IS_A_FIELD } from '../http/statuses'

// POST /api/v1/auth/2fa/setup (and /v1: v1/routes.ts)
export const twoFactorSetup = operation(
  {
    summary: 'Start setting up 2FA: a new TOTP secret, its otpauth:// URI and a QR code',
    description:
      'The secret stays inactive until /2fa/enable confirms a code from it. 409 when 2FA is already on. With ' +
      'TWO_FACTOR_REAUTH_SECONDS set, a session that signed in longer ago than that needs the current `password` in the ' +
      'body (403 `reauthentication_required` without it). The body is optional.',
    auth: 'profile:write',
    // An old sign-in's password attempt (for a body this endpoint acts on), with the session check.
    reads: (db, caller, c) => setupTwoFactorReads({ db, config: c.var.config, now: c.var.now() }, caller, bodyOf(c)),
    readsBody: true,
    statuses: WRONG_PROOF_IS_A_FIELD,
    body: z.object({ password: z.optional(anyPassword) }),
    bodyOptional: true,
    responses: {
      200: {
        description: 'The secret to load into an authenticator app',
        schema: z.object({ secret: z.string(), otpauth_url: z.string(), qr_code: z.string() }),
      },
      403: { description: '`reauthentication_required`: send the password, or sign in again' },
      409: { description: '2FA is already enabled' },
    },
  },
  async (c, reads) => {
    const setup = await setupTwoFactor(services(c), c.var.auth.principal, c.req.valid('json').password, reads)
    return { secret: setup.secret, otpauth_url: setup.otpauthUrl, qr_code: setup.qrCode }
  },
)
