import { findUserByEmail } from '../../db/queries/accounts'
import { findUsableEmailToken, resetPasswordWithToken } from '../../db/queries/email-tokens'
import { revokeUserSessions } from '../../db/queries/sessions'
import { hashToken } from './crypto'
import { emailLink } from './email-links'
import { invalidEmailToken } from './email-verification'
import { sendMail } from './mail'
import { hashPassword } from './passwords'
import type { Services } from './services'

/**
 * Mails a reset link when the email belongs to an active account, and does nothing
 * otherwise; the caller answers 202 either way. The provider call runs after the response
 * (`afterResponse`), so its latency does not tell an existing account from an unknown one.
 */
export async function requestPasswordReset(s: Services, email: string): Promise<void> {
  const user = await findUserByEmail(s.db, email)
  if (!user || !user.isActive) return
  const link = await emailLink(s, user.id, 'password_reset')
  await sendMail(
    s,
    {
      to: user.email,
      subject: 'Reset your password',
      text: [
        `Hello ${user.fullName},`,
        '',
        'Someone asked to reset the password of your account. To choose a new one, open this link:',
        link.url,
        '',
        `The link works once and expires on ${link.expiresAt.toISOString()}.`,
        'If you did not ask for this, ignore this mail: your password stays as it is.',
      ].join('\n'),
    },
    { afterResponse: true },
  )
}

/**
 * Sets a new password with a reset token and ends every session of the user: whoever had
 * the old password is out. The token is checked before argon2 runs, so random tokens cost
 * no hashing time; the transaction then spends it atomically.
 */
export async function resetPassword(s: Services, token: string, password: string): Promise<void> {
  const tokenHash = await hashToken(token)
  if (!(await findUsableEmailToken(s.db, tokenHash, 'password_reset', s.now))) throw invalidEmailToken()
  const passwordHash = hashPassword(await s.argon2(), password)
  const userId = await resetPasswordWithToken(s.db, { tokenHash, passwordHash, now: s.now }, (tx, id) =>
    revokeUserSessions(tx, id, s.now).then(() => {}),
  )
  if (!userId) throw invalidEmailToken()
}
