import * as z from 'zod/mini'
import { regenerateRecoveryCodes, totpStateRead } from '../core/two-factor'
import { services } from '../http/respond'
import { inBothDialects } from '../v1/dialects'
import { recoveryCodes, totpCode } from './schemas'

// POST /api/v1/auth/2fa/recovery-codes, POST /v1/2fa/recovery-codes
export const { api: twoFactorRecoveryCodes, v1: v1TwoFactorRecoveryCodes } = inBothDialects(
  {
    summary: 'Replace the recovery codes (needs a current TOTP code)',
    description: 'The old codes stop working at once.',
    auth: 'profile:write',
    // The caller's 2FA state, with the session check.
    reads: totpStateRead,
    body: z.object({ code: totpCode }),
    responses: {
      200: { description: 'The new recovery codes, shown this once', schema: z.object({ recovery_codes: recoveryCodes }) },
      409: { description: '2FA is not enabled' },
      429: { description: 'Too many wrong codes' },
    },
  },
  async (c, [state]) => ({ recovery_codes: await regenerateRecoveryCodes(services(c), c.var.auth.principal, c.req.valid('json').code, state) }),
)
