import { twoFactorStatus } from '../core/two-factor'
import { operation } from '../http/endpoint'
import { services } from '../http/respond'
import { twoFactorStatusResult } from './schemas'

// GET /api/v1/auth/2fa/status (and /v1: v1/routes.ts)
export const twoFactorStatusEndpoint = operation(
  {
    summary: 'Whether 2FA is on, and how many recovery codes are left',
    auth: 'profile:read',
    responses: { 200: { description: 'The 2FA status', schema: twoFactorStatusResult } },
  },
  async (c) => {
    const status = await twoFactorStatus(services(c), c.var.auth.principal.userId)
    return { enabled: status.enabled, recovery_codes_remaining: status.recoveryCodesRemaining }
  },
)
