import type { EmailTokenPurpose, NewEmailToken } from '../../db/queries/email-tokens'
import { hashToken, randomToken } from './crypto'
import type { Services } from './services'

export const VERIFY_EMAIL_TTL_SECONDS = 48 * 3600
// OWASP Forgot Password Cheat Sheet: reset tokens should be short-lived.
export const PASSWORD_RESET_TTL_SECONDS = 3600

const PAGES: Record<EmailTokenPurpose, { path: string; ttlSeconds: number }> = {
  verify_email: { path: '/verify-email', ttlSeconds: VERIFY_EMAIL_TTL_SECONDS },
  password_reset: { path: '/reset-password', ttlSeconds: PASSWORD_RESET_TTL_SECONDS },
}

/**
 * A single-use link for a mail: a fresh random token whose hash alone is stored (the caller
 * writes `token` with `issueEmailToken`, in its batch), on the app's page for that purpose
 * (`${APP_URL}/verify-email?token=...`).
 */
export async function newEmailLink(s: Services, userId: string, purpose: EmailTokenPurpose) {
  const token = randomToken()
  const { path, ttlSeconds } = PAGES[purpose]
  const expiresAt = new Date(s.now.getTime() + ttlSeconds * 1000)
  return {
    token: { userId, purpose, tokenHash: await hashToken(token), now: s.now, expiresAt } satisfies NewEmailToken,
    url: { url: `${s.config.appUrl}${path}?token=${encodeURIComponent(token)}`, expiresAt },
  }
}
