import type { BatchItem } from 'drizzle-orm/batch'
import { batch } from '../../db/client'
import { findAccount, selectAccountById } from '../../db/queries/accounts'
import type { Account } from '../../db/queries/accounts'
import { resetCounter } from '../../db/queries/rate-limits'
import type { CallerAttempt } from '../../db/queries/rate-limits'
import type { Database, Statements } from '../../db/client'
import type { Config } from '../config'
import { AuthError } from './errors'
import { verifyPassword } from './passwords'
import { accountKey, callerAttemptStatement, callersAccountKey, checkLimit, failureStatements, judgeCallerAttempt } from './rate-limit'
import type { Attempt } from './rate-limit'
import type { Services } from './services'
import type { Caller } from './sessions'

/** The caller as the session knows them: who, and when the session last fully signed in. */
export interface RecentCaller {
  userId: string
  orgId: string
  email: string
  sessionCreatedAt: Date
}

/** The oldest sign-in a rule of `maxAge` seconds lets through without a password; undefined when the rule is off (0). */
const oldestRecentSignIn = (now: Date, maxAge: number) => (maxAge === 0 ? undefined : new Date(now.getTime() - maxAge * 1000))

/** Whether the caller's last full sign-in is recent enough for a change under `maxAge` (0: the rule is off). */
export const signedInWithin = (s: Pick<Services, 'now'>, caller: Pick<RecentCaller, 'sessionCreatedAt'>, maxAge: number) => {
  const oldest = oldestRecentSignIn(s.now, maxAge)
  return oldest === undefined || caller.sessionCreatedAt >= oldest
}

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
  return oldestRecentSignIn(s.now, maxAge)
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

/**
 * The reads that prove a password with the session check (its batch, one round trip): one
 * statement that, only for a caller the check passes whose sign-in is older than `maxAge` and
 * whose body the endpoint acts on (`body`, undefined when refused), hits `window` (if any) and,
 * with a password and within the window, admits its attempt on the login's lock; and the
 * account, for its hash. A recent sign-in, or the rule off, counts nothing.
 */
export const reauthenticationReads = (
  s: { db: Database; config: Config; now: Date },
  caller: Caller,
  body: { password?: string } | undefined,
  maxAge: number,
  window?: { key: string; limit: number; windowSeconds: number },
) => {
  const before = signedInSince(s, maxAge)
  return [
    callerAttemptStatement(s, caller, {
      scope: 'profile:write',
      key: callersAccountKey,
      when: { act: body !== undefined && before !== undefined, signedInBefore: before, proofSent: body?.password !== undefined },
      window,
      policy: s.config.rateLimits.lockout,
    }),
    selectAccountById(s.db, caller.userId),
  ] as const
}

/**
 * `requireRecentSignIn` on an attempt `reauthenticationReads` admitted: undefined when nothing
 * is to be proven here (a recent sign-in; or the reads counted nothing, a revocation between
 * the batch's statements: then `requireRecentSignIn` decides, as before); otherwise the
 * statements for the request's next batch (the account's failures forgotten). A wrong password
 * writes its failure rows and throws, as `requireRecentSignIn`.
 */
export async function passwordProvenWithReads(
  s: Services,
  caller: RecentCaller,
  password: string | undefined,
  read: { admission: CallerAttempt; account: Account | undefined },
  maxAge = s.config.twoFactorReauthSeconds,
): Promise<BatchItem<'pg'>[] | undefined> {
  if (signedInWithin(s, caller, maxAge)) return undefined
  if (password === undefined) throw reauthenticationRequired()
  const who = { userId: caller.userId, orgId: caller.orgId }
  const attempt = await judgeCallerAttempt(s, read.admission, who, s.config.rateLimits.lockout)
  if (!attempt) return undefined
  const hash = read.account?.user.passwordHash ?? null
  const { matches, statements } = await judgePassword(s, who, hash, password, attempt)
  if (matches) return statements
  if (statements.length) await batch(s.db, statements as unknown as Statements)
  throw wrongPassword(hash)
}
