import { findAccount, findUserByEmail } from '../../db/queries/accounts'
import type { Account } from '../../db/queries/accounts'
import { findUsableEmailToken, resetPasswordWithToken } from '../../db/queries/email-tokens'
import { revokeHeldInvitations } from '../../db/queries/invitations'
import { revokeUserSessions } from '../../db/queries/sessions'
import { deleteChallenges } from '../../db/queries/two-factor'
import { recordEvent } from './audit'
import { hashToken } from './crypto'
import { emailLink } from './email-links'
import { invalidEmailToken } from './email-verification'
import { sendMail } from './mail'
import { checkNewPassword } from './password-policy'
import { hashPassword } from './passwords'
import { accountKey, emailKey, hitRate, limitClient, resetFailures, twoFactorKey } from './rate-limit'
import type { Services } from './services'

/**
 * Mails a reset link when the email belongs to an active account, and does nothing
 * otherwise; the caller answers 202 either way. Past the limits, everything that depends on
 * whether the account exists (the lookup, the token, the mail) runs after the response where
 * the runtime allows it (`waitUntil`), so the answer takes the same time for any address.
 */
export async function requestPasswordReset(s: Services, email: string): Promise<void> {
  await limitClient(s, 'password_reset')
  // Over the per-address limit the answer stays 202 and no mail goes out: a mailbox cannot be
  // flooded, and the caller learns nothing (the counter runs for unknown addresses too).
  if ((await hitRate(s, emailKey('password_forgot', email), s.config.rateLimits.passwordForgotPerEmail)) !== null) return
  const mailing = mailResetLink(s, email)
  if (s.waitUntil) s.waitUntil(mailing.catch((error) => console.error('password reset mail not sent', error)))
  else await mailing
}

async function mailResetLink(s: Services, email: string): Promise<void> {
  const user = await findUserByEmail(s.db, email)
  if (!user?.isActive) return
  const link = await emailLink(s, user.id, 'password_reset')
  await sendMail(s, {
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
  })
}

/**
 * Sets a new password with a reset token and ends every session of the user, and every
 * pending 2FA challenge: whoever had the old password is out. The token is checked before argon2 runs, so random tokens cost
 * no hashing time; the transaction then spends it atomically.
 *
 * Proof of the mailbox also lifts the account's locks, the hard one included (NIST
 * 800-63B §5.2.2 allows re-enabling after a separate proof): otherwise an account that met
 * the hard limit, password or 2FA, would stay locked for good.
 */
export async function resetPassword(s: Services, token: string, password: string): Promise<void> {
  await limitClient(s, 'password_reset')
  const tokenHash = await hashToken(token)
  const owner = await findUsableEmailToken(s.db, tokenHash, 'password_reset', s.now)
  if (!owner) throw invalidEmailToken()
  await checkNewPassword(s, password, { field: 'password', email: owner.email, fullName: owner.fullName })
  const passwordHash = hashPassword(await s.argon2(), password)
  let account: Account | undefined
  const userId = await resetPasswordWithToken(s.db, { tokenHash, passwordHash, now: s.now }, async (tx, id) => {
    const ended = await revokeUserSessions(tx, id, s.now)
    // A 2FA challenge opened with the old password is a session not yet issued: it dies too.
    await deleteChallenges(tx, id)
    // Invitations held for an unproven address were made by whoever had the old password:
    // the mailbox's owner, now in control, has not asked for them.
    await revokeHeldInvitations(tx, id, s.now)
    // The audit row commits with the change: an answer lost after the commit must not lose it.
    account = await findAccount(tx, id)
    await recordEvent(s, { type: 'password_reset', outcome: 'success', userId: id, orgId: account?.org.id, detail: { sessions_ended: ended } }, tx)
  })
  if (!userId) throw invalidEmailToken()
  if (account) await resetFailures(s, accountKey(account.user.email))
  await resetFailures(s, twoFactorKey(userId))
}
