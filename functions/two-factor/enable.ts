import * as z from 'zod/mini'
import { enableTwoFactor } from '../core/two-factor'
import { services } from '../http/respond'
import { inBothDialects } from '../v1/dialects'
import { recoveryCodes, totpCode } from './schemas'

// POST /api/v1/auth/2fa/enable, POST /v1/2fa/enable
export const { api: twoFactorEnable, v1: v1TwoFactorEnable } = inBothDialects(
  {
    summary: 'Turn 2FA on with a code from the secret of /2fa/setup',
    description: 'Answers the 10 recovery codes: they are shown this once and stored only as hashes.',
    auth: 'profile:write',
    body: z.object({ code: totpCode }),
    responses: {
      200: { description: '2FA is on', schema: z.object({ enabled: z.literal(true), recovery_codes: recoveryCodes }) },
      409: { description: '2FA is already on, or was never set up' },
      429: { description: 'Too many wrong codes' },
    },
  },
  async (c) => {
    const codes = await enableTwoFactor(services(c), c.var.auth.principal, c.req.valid('json').code)
    return { enabled: true, recovery_codes: codes }
  },
)
