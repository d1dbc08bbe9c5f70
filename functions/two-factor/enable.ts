import * as z from 'zod/mini'
import { enableTwoFactor, enableTwoFactorRead, enableTwoFactorReads } from '../core/two-factor'
import { bodyOf } from '../http/body'
import { operation } from '../http/endpoint'
import { services } from '../http/respond'
import { anyPassword } from '../http/schemas'
import { WRONG_PROOF_IS_A_FIELD } from '../http/statuses'
import { recoveryCodes, totpCodeInput } from './schemas'

// POST /api/v1/auth/2fa/enable (and /v1: v1/routes.ts)
export const twoFactorEnable = operation(
  {
    summary: 'Turn 2FA on with a code from the secret of /2fa/setup',
    description:
      'Answers the 10 recovery codes: they are shown this once and stored only as hashes. Every other session of the ' +
      'user ends, and the account’s address is mailed. With TWO_FACTOR_REAUTH_SECONDS set, a session that signed in ' +
      'longer ago than that needs the current `password` too (403 `reauthentication_required`).',
    auth: 'profile:write',
    // The caller's 2FA state and the code's attempt (or an old sign-in's password's) for a request this endpoint acts on, with the session check.
    reads: (db, caller, c) => enableTwoFactorReads({ db, config: c.var.config, now: c.var.now() }, caller, bodyOf(c)),
    readsBody: true,
    statuses: WRONG_PROOF_IS_A_FIELD,
    body: z.object({ code: totpCodeInput, password: z.optional(anyPassword) }),
    responses: {
      200: { description: '2FA is on', schema: z.object({ enabled: z.literal(true), recovery_codes: recoveryCodes }) },
      403: { description: '`reauthentication_required`: send the password, or sign in again' },
      409: { description: '2FA is already on, or was never set up' },
      429: { description: 'Too many wrong codes' },
    },
  },
  async (c, reads) => {
    const { code, password } = c.req.valid('json')
    const codes = await enableTwoFactor(services(c), c.var.auth.principal, code, password, enableTwoFactorRead(reads))
    return { enabled: true, recovery_codes: codes }
  },
)
