import { twoFactorStatus, twoFactorStatusReads } from '../core/two-factor'
import { inBothDialects } from '../v1/dialects'
import { twoFactorStatusResult } from './schemas'

// GET /api/v1/auth/2fa/status, GET /v1/2fa/status
export const { api: twoFactorStatusEndpoint, v1: v1TwoFactorStatus } = inBothDialects(
  {
    summary: 'Whether 2FA is on, and how many recovery codes are left',
    auth: 'profile:read',
    // With the session check, in its round trip: one in all.
    reads: twoFactorStatusReads,
    responses: { 200: { description: 'The 2FA status', schema: twoFactorStatusResult } },
  },
  async (_c, reads) => {
    const status = twoFactorStatus(reads)
    return { enabled: status.enabled, recovery_codes_remaining: status.recoveryCodesRemaining }
  },
)
