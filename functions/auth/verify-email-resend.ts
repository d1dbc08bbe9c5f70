import { findAccount } from '../../db/queries/accounts'
import { sendVerificationMail } from '../core/email-verification'
import { AuthError, notFound } from '../core/errors'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'

// POST /api/v1/auth/verify-email/resend
export const resendVerificationEmail = endpoint(
  {
    summary: 'Mail a new verification link to the caller',
    description: 'Earlier links stop working. 409 when the address is already verified.',
    auth: 'profile:write',
    responses: { 202: { description: 'The mail is on its way' } },
  },
  async (c) => {
    const account = await findAccount(c.var.db, c.var.auth.principal.userId)
    if (!account) throw notFound('User')
    if (account.user.isVerified) throw new AuthError('conflict', 409, 'The email address is already verified.')
    await sendVerificationMail(services(c), account.user)
    return c.body(null, 202)
  },
)
