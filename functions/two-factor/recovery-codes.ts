import * as z from 'zod/mini'
import { recoveryCodesReads, regenerateRecoveryCodes, twoFactorRead } from '../core/two-factor'
import { bodyOf } from '../http/body'
import { operation } from '../http/endpoint'
import { services } from '../http/respond'
import { WRONG_PROOF_IS_A_FIELD } from '../http/statuses'
import { recoveryCodes, totpCodeInput } from './schemas'

// POST /api/v1/auth/2fa/recovery-codes (and /v1: v1/routes.ts)
export const twoFactorRecoveryCodes = operation(
  {
    summary: 'Replace the recovery codes (needs a current TOTP code)',
    description: 'The old codes stop working at once.',
    auth: 'profile:write',
    // The caller's 2FA state and the code's attempt (for a request this endpoint acts on), with the session check.
    reads: (db, caller, c) => recoveryCodesReads({ db, config: c.var.config, now: c.var.now() }, caller, bodyOf(c) !== undefined),
    readsBody: true,
    statuses: WRONG_PROOF_IS_A_FIELD,
    body: z.object({ code: totpCodeInput }),
    responses: {
      200: { description: 'The new recovery codes, shown this once', schema: z.object({ recovery_codes: recoveryCodes }) },
      409: { description: '2FA is not enabled' },
      429: { description: 'Too many wrong codes' },
    },
  },
  async (c, reads) => ({
    recovery_codes: await regenerateRecoveryCodes(services(c), c.var.auth.principal, c.req.valid('json').code, twoFactorRead(reads)),
  }),
)
