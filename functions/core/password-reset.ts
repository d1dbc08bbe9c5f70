import { allOrNothing } from '../../db/client'
import { selectUserByEmail } from '../../db/queries/accounts'
import type { User } from '../../db/queries/accounts'
import { issueEmailTokenIf, resetPasswordWithToken, selectUsableEmailToken } from '../../db/queries/email-tokens'
import { changeWithEventsStatement } from '../../db/queries/events'
import { revokeHeldInvitations } from '../../db/queries/invitations'
import { resetCounter } from '../../db/queries/rate-limits'
import { revokeUserSessionsStatement } from '../../db/queries/sessions'
import { deleteChallengesStatement } from '../../db/queries/two-factor'
import { eventRow } from './audit'
import { hashToken } from './crypto'
import { newEmailLink } from './email-links'
import { invalidEmailToken } from './email-verification'
import { mailWithWrite } from './mail'
import { checkNewPassword } from './password-policy'
import { hashPassword } from './passwords'
import { accountKey, emailKey, hitRatesAnd, limitClientAnd, twoFactorKey, underLimits } from './rate-limit'
import type { Services } from './services'

/**
 * Mails a reset link when the email belongs to an active account, and does nothing
 * otherwise; the caller answers 202 either way. Past the client's limit, everything that
 * depends on whether the account exists (the per-address window, the token, the mail) runs
 * after the response where the runtime allows it (`waitUntil`), so the answer takes the same
 * time for any address. Two round trips in all, whether or not it exists.
 */
export async function requestPasswordReset(s: Services, email: string): Promise<void> {
  // The account is read with the client's limit: one batch, whether or not it exists.
  const [[user]] = await limitClientAnd(s, 'password_reset', [selectUserByEmail(s.db, email)] as const)
  const mailing = mailResetLink(s, email, user)
  if (s.waitUntil) s.waitUntil(mailing.catch((error) => console.error('password reset mail not sent', error)))
  else await mailing
}

/**
 * The per-address window, and within it the link (the old ones voided) and (with the outbox)
 * its mail: one batch. Over the window no link is stored and no mail goes out: a mailbox
 * cannot be flooded, and the caller learns nothing (the window counts unknown addresses too).
 */
async function mailResetLink(s: Services, email: string, user: User | undefined): Promise<void> {
  const limits = [{ key: emailKey('password_forgot', email), policy: s.config.rateLimits.passwordForgotPerEmail }]
  if (!user?.isActive) {
    await hitRatesAnd(s, limits, [])
    return
  }
  const { token, url: link } = await newEmailLink(s, user.id, 'password_reset')
  const message = {
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
  }
  const within = underLimits(limits)
  const mail = mailWithWrite(s, message, { only: within })
  const { retryAfter } = await hitRatesAnd(s, limits, [...issueEmailTokenIf(s.db, token, within), ...mail.statements])
  if (retryAfter === null) await mail.afterCommit()
}

/**
 * Sets a new password with a reset token and ends every session of the user, and every
 * pending 2FA challenge: whoever had the old password is out. The token is checked before argon2 runs, so random tokens cost
 * no hashing time; one batch then spends it atomically with the change.
 *
 * Proof of the mailbox also lifts the account's locks, the hard one included (NIST
 * 800-63B §5.2.2 allows re-enabling after a separate proof): otherwise an account that met
 * the hard limit, password or 2FA, would stay locked for good.
 */
export async function resetPassword(s: Services, token: string, password: string): Promise<void> {
  const tokenHash = await hashToken(token)
  const [[owner]] = await limitClientAnd(s, 'password_reset', [selectUsableEmailToken(s.db, tokenHash, 'password_reset', s.now)] as const)
  if (!owner) throw invalidEmailToken()
  await checkNewPassword(s, password, { field: 'password', email: owner.email, fullName: owner.fullName })
  const passwordHash = hashPassword(await s.argon2(), password)
  const { userId } = owner
  // One batch, all or nothing: the token spent (if still usable) with the new hash, and
  // everything the old password opened closed.
  const done = await allOrNothing(s.db, [
    ...resetPasswordWithToken(s.db, { tokenHash, userId, passwordHash, now: s.now }),
    changeWithEventsStatement(s.db, revokeUserSessionsStatement(s.db, userId, s.now).getSQL(), [
      { event: eventRow(s, { type: 'password_reset', outcome: 'success', userId, orgId: owner.orgId }), countAs: 'sessions_ended' },
    ]),
    // A 2FA challenge opened with the old password is a session not yet issued: it dies too.
    deleteChallengesStatement(s.db, userId),
    // Invitations held for an unproven address were made by whoever had the old password:
    // the mailbox's owner, now in control, has not asked for them.
    revokeHeldInvitations(s.db, userId, s.now),
    resetCounter(s.db, accountKey(owner.email)),
    resetCounter(s.db, twoFactorKey(userId)),
  ])
  if (!done) throw invalidEmailToken()
}
