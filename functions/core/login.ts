import { findAccountByEmail, updatePasswordHash } from '../../db/queries/accounts'
import type { Account } from '../../db/queries/accounts'
import { recordEvent } from './audit'
import { AuthError, unauthenticated } from './errors'
import { dummyHash, hashPassword, needsRehash, verifyPassword } from './passwords'
import { accountKey, checkLimit, limitClient, recordFailure, resetFailures } from './rate-limit'
import type { Services } from './services'
import { startSession } from './sessions'
import { startTwoFactorChallenge } from './two-factor'
import type { IssuedTokens } from './sessions'

export type LoginOutcome =
  | { kind: 'tokens'; account: Account; tokens: IssuedTokens }
  | { kind: 'two_factor'; sessionToken: string; account: Account }

const invalidCredentials = () => unauthenticated('invalid_credentials', 'The email or password is incorrect.')

/**
 * Email and password. An unknown email, an OAuth-only account and a wrong password are one
 * answer, reached in the same time: the password is always checked against some hash. The
 * per-account lock is keyed on the email itself, so it locks an unknown email the same way.
 */
export async function passwordLogin(s: Services, email: string, password: string): Promise<LoginOutcome> {
  await limitClient(s, 'login')
  const attempt = await checkLimit(s, accountKey(email))
  const argon2 = await s.argon2()
  const account = await findAccountByEmail(s.db, email)
  const hash = account?.user.passwordHash ?? dummyHash(argon2)
  const ok = verifyPassword(argon2, password, hash)
  if (!account?.user.passwordHash || !ok) {
    const who = { userId: account?.user.id, orgId: account?.org.id }
    await recordEvent(s, { type: 'login', outcome: 'failure', ...who, detail: { method: 'password' } })
    await recordFailure(s, attempt, who)
    throw invalidCredentials()
  }
  await resetFailures(s, attempt.key)
  // Only now, after the password proved who is asking, may we say the account is inactive.
  if (!account.user.isActive) {
    await recordEvent(s, {
      type: 'login',
      outcome: 'denied',
      userId: account.user.id,
      orgId: account.org.id,
      detail: { method: 'password', reason: 'account_inactive' },
    })
    throw new AuthError('account_inactive', 403, 'The account is inactive.')
  }
  if (needsRehash(hash)) await updatePasswordHash(s.db, account.user.id, hashPassword(argon2, password), s.now)
  return completeLogin(s, account)
}

/**
 * The last step of every login path: a session, or, when 2FA is on, only the challenge
 * (completed at 2fa/verify): no path hands a 2FA user a token on a password alone.
 */
export async function completeLogin(s: Services, account: Account, method = 'password'): Promise<LoginOutcome> {
  if (account.user.totpEnabledAt) return { kind: 'two_factor', account, sessionToken: await startTwoFactorChallenge(s, account.user.id) }
  const tokens = await startSession(
    s.db,
    s.config,
    { userId: account.user.id, orgId: account.org.id, role: account.role },
    s.now,
    s.client,
  )
  await recordEvent(s, {
    type: 'login',
    outcome: 'success',
    userId: account.user.id,
    orgId: account.org.id,
    detail: { method, session_id: tokens.sessionId },
  })
  return { kind: 'tokens', account, tokens }
}
