import { findAccount } from '../../db/queries/accounts'
import { AuthError } from './errors'
import { verifyPassword } from './passwords'
import { accountKey, checkLimit, recordFailure, resetFailures } from './rate-limit'
import type { Services } from './services'

/** The caller as the session knows them: who, and when the session last fully signed in. */
export interface RecentCaller {
  userId: string
  orgId: string
  email: string
  sessionCreatedAt: Date
}

/**
 * TWO_FACTOR_REAUTH_SECONDS: changes that could lock the owner out of their account (turning
 * 2FA on, unlinking a sign-in) need a sign-in that recent, or the password in the body. A
 * stolen access token alone then cannot make them. 0 (the default) turns the rule off.
 */
export async function requireRecentSignIn(s: Services, caller: RecentCaller, password: string | undefined): Promise<void> {
  const maxAge = s.config.twoFactorReauthSeconds
  if (maxAge === 0 || s.now.getTime() - caller.sessionCreatedAt.getTime() <= maxAge * 1000) return
  // A 403, not a 401: the token is fine, and clients must not read this as "sign in from scratch".
  if (password === undefined)
    throw new AuthError('reauthentication_required', 403, 'This change needs a recent sign-in: send your current password as `password`, or sign in again.')
  const hash = (await findAccount(s.db, caller.userId))?.user.passwordHash ?? null
  if (!(await passwordMatches(s, caller, hash, password)))
    throw new AuthError('invalid_credentials', 422, 'The password is incorrect.', {
      errors: [{ field: 'password', message: hash ? 'is incorrect' : 'this account has no password; sign in again' }],
    })
}

/**
 * Checks a password typed to prove who is asking (not to sign in): a guess like a login's,
 * on the same per-account lock, so a stolen access token cannot brute-force it. A wrong
 * password is recorded as a failure; the caller decides what to answer.
 */
export async function passwordMatches(
  s: Services,
  who: { userId: string; orgId: string; email: string },
  hash: string | null,
  password: string,
): Promise<boolean> {
  const attempt = await checkLimit(s, accountKey(who.email), { userId: who.userId, orgId: who.orgId })
  if (!hash || !verifyPassword(await s.argon2(), password, hash)) {
    await recordFailure(s, attempt, { userId: who.userId, orgId: who.orgId })
    return false
  }
  await resetFailures(s, attempt.key)
  return true
}
