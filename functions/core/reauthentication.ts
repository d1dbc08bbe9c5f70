import type { BatchItem } from 'drizzle-orm/batch'
import { batch } from '../../db/client'
import { findAccount } from '../../db/queries/accounts'
import { resetCounter } from '../../db/queries/rate-limits'
import type { Config } from '../config'
import { AuthError } from './errors'
import { verifyPassword } from './passwords'
import { accountKey, checkLimit, failureStatements } from './rate-limit'
import type { Attempt } from './rate-limit'
import type { Services } from './services'

/** The caller as the session knows them: who, and when the session last fully signed in. */
export interface RecentCaller {
  userId: string
  orgId: string
  email: string
  sessionCreatedAt: Date
}

/** Whether the caller's last full sign-in is recent enough for a change under `maxAge` (0: the rule is off). */
export const signedInWithin = (s: Pick<Services, 'now'>, caller: Pick<RecentCaller, 'sessionCreatedAt'>, maxAge: number) =>
  maxAge === 0 || s.now.getTime() - caller.sessionCreatedAt.getTime() <= maxAge * 1000

/**
 * Changes a stolen access token would make first need a sign-in no older than `maxAgeSeconds`
 * (the session's last full sign-in, the token's `auth_time`), or the password in the body:
 * TWO_FACTOR_REAUTH_SECONDS for turning 2FA on and unlinking a sign-in (off by default, as
 * existing clients expect), PASSKEY_REAUTH_SECONDS for adding a passkey. 0 turns a rule off.
 */
export async function requireRecentSignIn(
  s: Services,
  caller: RecentCaller,
  password: string | undefined,
  maxAge = s.config.twoFactorReauthSeconds,
): Promise<void> {
  if (signedInWithin(s, caller, maxAge)) return
  if (password === undefined) throw reauthenticationRequired()
  const hash = (await findAccount(s.db, caller.userId))?.user.passwordHash ?? null
  if (!(await passwordMatches(s, caller, hash, password))) throw wrongPassword(hash)
}

// A 403, not a 401: the token is fine, and clients must not read this as "sign in from scratch".
export const reauthenticationRequired = () =>
  new AuthError('reauthentication_required', 'This change needs a recent sign-in: send your current password as `password`, or sign in again.')

/** The answer to a wrong password sent to prove who is asking (422 on `password` where the endpoint says so). */
export const wrongPassword = (hash: string | null) =>
  new AuthError('invalid_credentials', 'The password is incorrect.', {
    errors: [{ field: 'password', message: hash ? 'is incorrect' : 'this account has no password; sign in again' }],
  })

/**
 * The oldest sign-in `requireRecentSignIn` lets through without a password (undefined when the
 * rule is off), for a statement that must act only when it would.
 */
export function signedInSince(s: { config: Config; now: Date }, maxAge = s.config.twoFactorReauthSeconds): Date | undefined {
  return maxAge === 0 ? undefined : new Date(s.now.getTime() - maxAge * 1000)
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
  const { matches, statements } = await judgePassword(s, who, hash, password, attempt)
  if (statements.length) await batch(s.db, [statements[0]!, ...statements.slice(1)])
  return matches
}

/**
 * `passwordMatches` for an attempt already admitted (with the session check): whether the
 * password is right, and what to write with the request's outcome, in its batch: the
 * account's failures forgotten when it is, the lock's audit row (if any) when it is not.
 */
export async function judgePassword(
  s: Services,
  who: { userId: string; orgId: string },
  hash: string | null,
  password: string,
  attempt: Attempt,
): Promise<{ matches: boolean; statements: BatchItem<'pg'>[] }> {
  if (!hash || !verifyPassword(await s.argon2(), password, hash))
    return { matches: false, statements: failureStatements(s, attempt, { userId: who.userId, orgId: who.orgId }) }
  return { matches: true, statements: [resetCounter(s.db, attempt.key)] }
}
