import * as z from 'zod/mini'
import { disableTwoFactor, disableTwoFactorReads, twoFactorRead } from '../core/two-factor'
import type { DisableProof } from '../core/two-factor'
import { bodyOf } from '../http/body'
import { operation } from '../http/endpoint'
import { services } from '../http/respond'
import { anyPassword } from '../http/schemas'
import { WRONG_PROOF_IS_A_FIELD } from '../http/statuses'
import { anyCode } from './schemas'

// POST /api/v1/auth/2fa/disable (and /v1: v1/routes.ts)
export const twoFactorDisable = operation(
  {
    summary: 'Turn 2FA off, proven by a code (TOTP or recovery) or the password',
    description: 'Every other session of the user ends, and the account’s address is mailed.',
    auth: 'profile:write',
    // The caller's 2FA state and the proof's attempt (for a request this endpoint acts on), with the session check.
    reads: (db, caller, c) => disableTwoFactorReads({ db, config: c.var.config, now: c.var.now() }, caller, bodyOf<DisableProof>(c)),
    readsBody: true,
    statuses: WRONG_PROOF_IS_A_FIELD,
    body: z
      .object({ code: z.optional(anyCode), password: z.optional(anyPassword) })
      .check(
        z.refine((b) => (b.code === undefined) !== (b.password === undefined), {
          message: 'give either code or password',
          path: ['code'],
        }),
      ),
    responses: {
      200: { description: '2FA is off', schema: z.object({ enabled: z.literal(false) }) },
      409: { description: '2FA is not enabled' },
      429: { description: 'Too many wrong codes' },
    },
  },
  async (c, reads) => {
    await disableTwoFactor(services(c), c.var.auth.principal, c.req.valid('json') as DisableProof, twoFactorRead(reads))
    return { enabled: false }
  },
)
