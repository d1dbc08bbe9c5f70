import { verifyEmailWithToken } from '../../db/queries/email-tokens'
import { hashToken } from './crypto'
import { emailLink } from './email-links'
import { AuthError } from './errors'
import { sendMail } from './mail'
import type { Services } from './services'

/** Mails a verification link to the user's address; earlier links stop working. */
export async function sendVerificationMail(
  s: Services,
  user: { id: string; email: string; fullName: string },
  options: { afterResponse?: boolean } = {},
): Promise<void> {
  const link = await emailLink(s, user.id, 'verify_email')
  await sendMail(
    s,
    {
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
    },
    options,
  )
}

export const invalidEmailToken = () =>
  new AuthError('email_token_invalid', 400, 'The link is invalid, expired or already used.')

/** Spends a verification token; the user behind it is verified. */
export async function verifyEmail(s: Services, token: string) {
  const user = await verifyEmailWithToken(s.db, await hashToken(token), s.now)
  if (!user) throw invalidEmailToken()
  return user
}
