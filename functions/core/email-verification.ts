import { isUniqueViolation } from '../../db/errors'
import { batch } from '../../db/client'
import { findAccount } from '../../db/queries/accounts'
import type { Account } from '../../db/queries/accounts'
import { insertEmailToken, issueEmailToken, issueEmailTokenIf, verifyEmailWithToken } from '../../db/queries/email-tokens'
import { hashToken } from './crypto'
import { newEmailLink } from './email-links'
import { releaseHeldInvitations } from './invitations'
import { AuthError, notFound } from './errors'
import { mailWithWrite } from './mail'
import type { MailMessage } from './mail'
import { checkRates, checkRatesAnd, underLimits, userKey } from './rate-limit'
import type { Services } from './services'

/** Mails a verification link to the user's address; earlier links stop working. */
export async function sendVerificationMail(
  s: Services,
  user: { id: string; email: string; fullName: string },
  options: { afterResponse?: boolean } = {},
): Promise<void> {
  const { token, url } = await newEmailLink(s, user.id, 'verify_email')
  const mail = mailWithWrite(s, verificationMessage(user, url), options)
  // The new link, the old ones voided and (with the outbox) the mail: one batch.
  await batch(s.db, [...issueEmailToken(s.db, token), ...mail.statements])
  await mail.afterCommit()
}

/**
 * A new link on the user's request: limited per user, refused (409) once the address is
 * verified. `read` is the user's account when the caller read it already (with the session
 * check). The window, the link and (with the outbox) its mail are then one batch, one round
 * trip; the writes happen only within the window, so a request over it stores no link.
 */
export async function resendVerificationMail(s: Services, userId: string, read?: Account[]): Promise<void> {
  const limits = [{ key: userKey('verify_email_resend', userId), policy: s.config.rateLimits.verifyEmailResendPerUser }]
  const account = read ? read[0] : await findAccount(s.db, userId)
  if (!account || account.user.isVerified) {
    // The window counts these too, and answers first.
    await checkRates(s, limits)
    if (!account) throw notFound('User')
    throw new AuthError('conflict', 'The email address is already verified.')
  }
  const { token, url } = await newEmailLink(s, account.user.id, 'verify_email')
  const within = underLimits(limits)
  const mail = mailWithWrite(s, verificationMessage(account.user, url), { only: within })
  await checkRatesAnd(s, limits, [...issueEmailTokenIf(s.db, token, within), ...mail.statements])
  await mail.afterCommit()
}

/**
 * The verification mail of an account being created: its token and (outbox) mail rows as
 * statements of the account's own batch, and what to send once that is committed.
 */
export async function newAccountVerificationMail(s: Services, user: { id: string; email: string; fullName: string }) {
  const { token, url } = await newEmailLink(s, user.id, 'verify_email')
  const mail = mailWithWrite(s, verificationMessage(user, url))
  return { statements: [insertEmailToken(s.db, token), ...mail.statements] as const, afterCommit: mail.afterCommit }
}

function verificationMessage(user: { email: string; fullName: string }, link: { url: string; expiresAt: Date }): MailMessage {
  return {
      to: user.email,
      subject: 'Confirm your email address',
      text: [
        `Hello ${user.fullName},`,
        '',
        'Confirm that this is your email address by opening this link:',
        link.url,
        '',
        `The link works once and expires on ${link.expiresAt.toISOString()}.`,
        'If you did not create an account, ignore this mail.',
      ].join('\n'),
  }
}

export const invalidEmailToken = () =>
  new AuthError('email_token_invalid', 'The link is invalid, expired or already used.')

/**
 * Spends a verification token; the user behind it is verified and holds the address. An
 * account whose address was only a contact address (from a provider that did not vouch for
 * it) cannot claim it once another account holds it: 409, and it stays unverified.
 */
export async function verifyEmail(s: Services, token: string) {
  let user: Awaited<ReturnType<typeof verifyEmailWithToken>>
  try {
    user = await verifyEmailWithToken(s.db, await hashToken(token), s.now)
  } catch (error) {
    if (!isUniqueViolation(error)) throw error
    throw new AuthError('email_taken', 'Another account holds this email address now; this account keeps it only as a contact address.')
  }
  if (!user) throw invalidEmailToken()
  if (user.hasHeldInvitations) await releaseHeldInvitations(s, user.id)
  return { id: user.id, email: user.email }
}
