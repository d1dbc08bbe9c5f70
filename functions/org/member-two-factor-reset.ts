import { memberTwoFactorReads, resetMemberTwoFactor } from '../core/two-factor'
import { endpoint } from '../http/endpoint'
import { uuidParam } from '../http/params'
import { services } from '../http/respond'

// POST /api/v1/org/members/:user_id/2fa/reset
export const resetMemberTwoFactorEndpoint = endpoint(
  {
    summary: 'Turn a member’s 2FA off, for a member who lost their authenticator (owner)',
    description:
      'For a member locked out for good (authenticator and recovery codes lost). Every session of the member ends, the ' +
      'member is mailed, and the audit log records which owner did it (`two_factor_reset`). Owners only (403 for ' +
      'anyone else, and for one’s own account: use /2fa/disable); 404 for a user outside the organization; 409 ' +
      '`two_factor_not_enabled`. The last owner’s own 2FA is reset by an operator: `npm run 2fa:reset -- <email>`.',
    auth: 'members:write',
    // The member and their 2FA state, with the session check.
    reads: (db, caller, c) => memberTwoFactorReads(db, caller, uuidParam(c, 'user_id', 'Member')),
    responses: { 204: { description: 'The member’s 2FA is off' }, 409: { description: '2FA is not enabled for that member' } },
  },
  async (c, reads) => {
    await resetMemberTwoFactor(services(c), c.var.auth.principal, uuidParam(c, 'user_id', 'Member'), reads)
    return c.body(null, 204)
  },
)
