import { selectAccountById } from '../../db/queries/accounts'
import { resendVerificationMail } from '../core/email-verification'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'

// POST /api/v1/auth/verify-email/resend
export const resendVerificationEmail = endpoint(
  {
    summary: 'Mail a new verification link to the caller',
    description: 'Earlier links stop working. 409 when the address is already verified.',
    auth: 'profile:write',
    // The caller's account, with the session check.
    reads: (db, { userId }) => [selectAccountById(db, userId)],
    responses: {
      202: { description: 'The mail is on its way' },
      429: { description: 'Too many verification mails asked for (Retry-After)' },
    },
  },
  async (c, [account]) => {
    await resendVerificationMail(services(c), c.var.auth.principal.userId, account)
    return c.body(null, 202)
  },
)
