import type { BatchItem } from 'drizzle-orm/batch'
import { batch, rowsOf } from '../../db/client'
import { selectAccountByEmail, updatePasswordHash } from '../../db/queries/accounts'
import type { Account } from '../../db/queries/accounts'
import type { Role } from '../../db/schema'
import type { ClientAndAttempt } from '../../db/queries/rate-limits'
import { resetCounter } from '../../db/queries/rate-limits'
import { eventStatement } from './audit'
import type { EventDetail } from './audit'
import { AuthError, unauthenticated } from './errors'
import { DUMMY_HASH, hashPassword, needsRehash, verifyPassword } from './passwords'
import { accountKey, admitClientAttempt, clientAttemptStatement, failureStatements } from './rate-limit'
import type { Services } from './services'
import { prepareSession } from './sessions'
import type { IssuedTokens } from './sessions'
import { prepareTwoFactorChallenge } from './two-factor'

export type LoginOutcome =
  | { kind: 'tokens'; account: Account; tokens: IssuedTokens }
  | { kind: 'two_factor'; sessionToken: string; account: Account }

const invalidCredentials = () => unauthenticated('invalid_credentials', 'The email or password is incorrect.')

/**
 * Email and password. An unknown email, an OAuth-only account and a wrong password are one
 * answer, reached in the same time: the password is always checked against some hash. The
 * per-account lock is keyed on the email itself, so it locks an unknown email the same way.
 *
 * Two round trips: one admits the attempt (per-IP window, then the account's lock) and reads
 * the account; the password is checked in the Worker; one writes the outcome.
 */
export async function passwordLogin(s: Services, email: string, password: string): Promise<LoginOutcome> {
  const key = accountKey(email)
  const [admission, [account]] = await s.db.batch([clientAttemptStatement(s, 'login', key), selectAccountByEmail(s.db, email)])
  const attempt = await admitClientAttempt(s, 'login', key, rowsOf<ClientAndAttempt>(admission)[0]!, { email })
  const argon2 = await s.argon2()
  const hash = account?.user.passwordHash ?? DUMMY_HASH
  const ok = verifyPassword(argon2, password, hash)
  if (!account?.user.passwordHash || !ok) {
    const who = { userId: account?.user.id, orgId: account?.org.id }
    await batch(s.db, [
      eventStatement(s, { type: 'login', outcome: 'failure', ...who, detail: { method: 'password' } }),
      ...failureStatements(s, attempt, who),
    ])
    throw invalidCredentials()
  }
  // A success: the account's failures and any lock are forgotten, in the outcome's own write.
  const reset = resetCounter(s.db, attempt.key)
  // Only now, after the password proved who is asking, may we say the account is inactive.
  await refuseInactive(s, account, 'password', [reset])
  const rehash = needsRehash(hash) ? [updatePasswordHash(s.db, account.user.id, hashPassword(argon2, password), s.now)] : []
  return completeLogin(s, account, 'password', {}, [reset, ...rehash])
}

/**
 * 403 for an inactive account, audited (with the caller's `alsoWrite`, in one batch); call it
 * only once a secret has proved who is asking.
 */
export async function refuseInactive(s: Services, account: Account, method: string, alsoWrite: BatchItem<'pg'>[] = []): Promise<void> {
  if (account.user.isActive) return
  await batch(s.db, [
    eventStatement(s, {
      type: 'login',
      outcome: 'denied',
      userId: account.user.id,
      orgId: account.org.id,
      detail: { method, reason: 'account_inactive' },
    }),
    ...alsoWrite,
  ])
  throw new AuthError('account_inactive', 'The account is inactive.')
}

/**
 * The last step of every login path: a session, or, when 2FA is on, only the challenge
 * (completed at 2fa/verify): no path hands a 2FA user a token on a password alone.
 * `multiFactor`: the proof was already two factors (a passkey with user verification:
 * something held, unlocked by something known or something one is). `alsoWrite` are the
 * caller's own statements for the same round trip (a counter reset, a rehash).
 */
export async function completeLogin(
  s: Services,
  account: Account,
  method = 'password',
  {
    multiFactor = false,
    detail = {},
    firstFactorPasskeyId,
  }: { multiFactor?: boolean; detail?: EventDetail; /** A passkey used without user verification. */ firstFactorPasskeyId?: string } = {},
  alsoWrite: BatchItem<'pg'>[] = [],
): Promise<LoginOutcome> {
  const who = { userId: account.user.id, orgId: account.org.id }
  if (account.user.totpEnabledAt && !multiFactor) {
    const challenge = await prepareTwoFactorChallenge(s, account.user.id, firstFactorPasskeyId)
    await batch(s.db, [
      challenge.statement,
      eventStatement(s, { type: 'login_first_factor', outcome: 'success', ...who, detail: { method, ...detail } }),
      ...alsoWrite,
    ])
    return { kind: 'two_factor', account, sessionToken: challenge.sessionToken }
  }
  const { tokens, statements } = await prepareLogin(s, { ...who, role: account.role }, method, detail)
  await batch(s.db, [...statements, ...alsoWrite])
  return { kind: 'tokens', account, tokens }
}

/** A new session and its login event, as statements for the caller's batch (no 2FA asked: the caller knows there is none). */
export async function prepareLogin(s: Services, who: { userId: string; orgId: string; role: Role }, method: string, detail: EventDetail = {}) {
  const { tokens, statements } = await prepareSession(s, who)
  const event = eventStatement(s, { type: 'login', outcome: 'success', userId: who.userId, orgId: who.orgId, detail: { method, ...detail, session_id: tokens.sessionId } })
  return { tokens, statements: [...statements, event] as const }
}
