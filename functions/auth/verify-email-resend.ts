import { findAccount } from '../../db/queries/accounts'
import { sendVerificationMail } from '../core/email-verification'
import { AuthError, notFound } from '../core/errors'
import { checkRate, userKey } from '../core/rate-limit'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'

// POST /api/v1/auth/verify-email/resend
export const resendVerificationEmail = endpoint(
  {
    summary: 'Mail a new verification link to the caller',
    description: 'Earlier links stop working. 409 when the address is already verified.',
    auth: 'profile:write',
    responses: {
      202: { description: 'The mail is on its way' },
      429: { description: 'Too many verification mails asked for (Retry-After)' },
    },
  },
  async (c) => {
    const s = services(c)
    await checkRate(s, userKey('verify_email_resend', c.var.auth.principal.userId), s.config.rateLimits.verifyEmailResendPerUser)
    const account = await findAccount(c.var.db, c.var.auth.principal.userId)
    if (!account) throw notFound('User')
    if (account.user.isVerified) throw new AuthError('conflict', 'The email address is already verified.')
    await sendVerificationMail(s, account.user)
    return c.body(null, 202)
  },
)
