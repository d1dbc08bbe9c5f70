import { normalizeEmail } from '../../db/queries/accounts'
import type { BatchItem, BatchResponse } from 'drizzle-orm/batch'
import { batch } from '../../db/client'
import { admitAttemptStatement, admitCallerAttemptStatement, findCounter, hitWindow, hitWindowSql, hitWindowStatement, hitWindowThenAdmit, hitWindowsStatement, hitsInOrder, resetCounter, windowsUnder } from '../../db/queries/rate-limits'
import type { AdmittedAttempt, CallerAttempt, CallerAttemptCondition, CallerKey, ClientAndAttempt, WindowHit } from '../../db/queries/rate-limits'
import type { Database } from '../../db/client'
import type { ClientAction, LockoutPolicy, WindowPolicy } from '../config/rate-limits'
import { eventStatement, recordEvent, recordEventForEmail } from './audit'
import { AuthError } from './errors'
import { rolesGranting } from './roles'
import type { Services } from './services'
import type { Caller } from './sessions'

// Limits live in Postgres (the rate_limits table), the one store every isolate in every
// region shares and updates atomically; isolate memory is per isolate and KV is eventually
// consistent with a 60 s minimum TTL, so neither can hold a short window or a lock.

// Keys. Emails are keyed in their normalized form and whether or not an account has them,
// so an unknown email is counted and locked exactly like a known one.

/** Failed passwords for the account with this email (login, password change). */
export const accountKey = (email: string) => `login:account:${normalizeEmail(email)}`
/** `accountKey` of the caller's own address, for `callerAttemptStatement` (built from the stored normalized email). */
export const callersAccountKey: CallerKey = { accountKeyPrefix: accountKey('') }
/** Failed 2FA codes (TOTP or recovery) for a user, across all their challenges. */
export const twoFactorKey = (userId: string) => `2fa:user:${userId}`
export const clientKey = (action: ClientAction, ip: string | null | undefined) => `${action}:ip:${ipBucket(ip)}`
export const emailKey = (action: string, email: string) => `${action}:email:${normalizeEmail(email)}`
export const userKey = (action: string, userId: string) => `${action}:user:${userId}`
export const orgKey = (action: string, orgId: string) => `${action}:org:${orgId}`

/**
 * The bucket a client address counts in. IPv6 clients usually hold a whole /64, so they
 * count per /64. No address (only outside Cloudflare's edge: local development, tests,
 * service bindings) is one shared bucket, `unknown`, so a missing header never escapes a limit.
 */
export function ipBucket(ip: string | null | undefined): string {
  const value = ip?.trim().toLowerCase()
  if (!value) return 'unknown'
  if (!value.includes(':')) return value.slice(0, 45)
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(value)
  if (mapped) return mapped[1]!
  const groups = (part: string | undefined) =>
    part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []
  const [head, tail] = value.split('::') as [string, string | undefined]
  const front = groups(head)
  const back = groups(tail)
  const all = tail === undefined ? front : [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back]
  const prefix = all.slice(0, 4).map((g) => (Number.parseInt(g, 16) || 0).toString(16))
  return `${prefix.join(':')}::/64`
}

const secondsUntil = (until: Date, now: Date) => Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000))

const tooMany = (detail: string, retryAfterSeconds: number) =>
  new AuthError('rate_limited', detail, { retryAfterSeconds })

/**
 * Counts one hit on a windowed key. Returns null while under the limit, or the seconds
 * until its window ends, for callers that refuse quietly (a mail not sent) instead of 429.
 */
export async function hitRate(s: Services, key: string, policy: WindowPolicy): Promise<number | null> {
  return overLimit(s, await hitWindow(s.db, key, policy.windowSeconds, s.now), policy)
}

function overLimit(s: Services, hit: WindowHit, policy: WindowPolicy): number | null {
  if (hit.count <= policy.limit) return null
  return secondsUntil(new Date(hit.windowStartedAt.getTime() + policy.windowSeconds * 1000), s.now)
}

/** Throws 429 as `checkRate` would, for a hit a larger statement counted (`hitWindowSql`) on a key with this policy. */
export function checkWindow(s: Services, hit: WindowHit, policy: WindowPolicy): void {
  const retryAfter = overLimit(s, hit, policy)
  if (retryAfter !== null) throw overTheLimit(retryAfter)
}

/** The client's per-IP window of `action` as SQL for a larger statement (`hitWindowSql`), with its limit. */
export function clientWindow(s: Services, action: ClientAction) {
  const policy = s.config.rateLimits.perIp[action]
  return { client: hitWindowSql(clientKey(action, s.client.ip), policy.windowSeconds, s.now), limit: policy.limit }
}

/** Throws 429 as `limitClient` would when the hit that `clientWindow` counted was over the limit. */
export function checkClientWindow(s: Services, action: ClientAction, hit: WindowHit): void {
  checkWindow(s, hit, s.config.rateLimits.perIp[action])
}

/** The client's window as a statement reports it (`hitWindowSql` in a CTE), for `checkClientWindow`. */
export const clientHitOf = (row: { client_count: number; client_window_started_ms: number }): WindowHit => ({
  count: row.client_count,
  windowStartedAt: new Date(row.client_window_started_ms),
})

const overTheLimit = (retryAfter: number) => tooMany(`Too many requests. Try again in ${retryAfter} seconds.`, retryAfter)

/**
 * Counts one hit on a windowed key; throws 429 with Retry-After once it is over the limit.
 *
 * @example
 * await checkRate(s, userKey('verify_email_resend', userId), s.config.rateLimits.verifyEmailResendPerUser)
 */
export async function checkRate(s: Services, key: string, policy: WindowPolicy): Promise<void> {
  const retryAfter = await hitRate(s, key, policy)
  if (retryAfter !== null) throw overTheLimit(retryAfter)
}

/**
 * `checkRate` on several keys at once, in one statement: every key counts the hit, and the
 * 429 names the longest wait among those over their limit.
 *
 * @example
 * await checkRates(s, [{ key: userKey('invite', userId), policy: perUser }, { key: orgKey('invite', orgId), policy: perOrg }])
 */
export async function checkRates(s: Services, limits: { key: string; policy: WindowPolicy }[]): Promise<void> {
  await checkRatesAnd(s, limits, [] as const)
}

/**
 * `checkRates`, and reads that need not wait for it, in one batch (one round trip): the
 * reads' results once every key is under its limit, 429 as `checkRates` otherwise. Writes
 * may ride too when each is guarded by `underLimits`: over a limit they write nothing.
 */
export async function checkRatesAnd<R extends readonly BatchItem<'pg'>[]>(
  s: Services,
  limits: { key: string; policy: WindowPolicy }[],
  reads: R,
): Promise<BatchResponse<R>> {
  const { retryAfter, results } = await hitRatesAnd(s, limits, reads)
  if (retryAfter !== null) throw overTheLimit(retryAfter)
  return results
}

/**
 * The SQL condition "every key within its limit", for the writes of a `checkRatesAnd` or
 * `hitRatesAnd` batch that must not happen over a limit: put in each of their statements
 * (`insert … select … where`, `update … where`), it makes them write nothing over a limit, in
 * the same round trip as the hits, and the 429 follows.
 *
 * @example
 * await checkRatesAnd(s, limits, [insertIf(s.db, row, underLimits(limits))])
 */
export const underLimits = (limits: { key: string; policy: WindowPolicy }[]) =>
  windowsUnder(limits.map(({ key, policy }) => ({ key, limit: policy.limit })))

/**
 * `checkRatesAnd` for a caller that refuses quietly (a mail not sent): the seconds until the
 * longest window over its limit ends (null when none is), and the statements' results.
 */
export async function hitRatesAnd<R extends readonly BatchItem<'pg'>[]>(
  s: Services,
  limits: { key: string; policy: WindowPolicy }[],
  statements: R,
): Promise<{ retryAfter: number | null; results: BatchResponse<R> }> {
  const keys = limits.map(({ key, policy }) => ({ key, windowSeconds: policy.windowSeconds }))
  const [rows, ...results] = (await batch(s.db, [hitWindowsStatement(s.db, keys, s.now), ...statements])) as unknown as [
    (WindowHit & { key: string })[],
    ...unknown[],
  ]
  let retryAfter = 0
  hitsInOrder(keys, rows).forEach((hit, i) => {
    retryAfter = Math.max(retryAfter, overLimit(s, hit, limits[i]!.policy) ?? 0)
  })
  return { retryAfter: retryAfter || null, results: results as BatchResponse<R> }
}

/**
 * The per-IP limit of an action, keyed on `CF-Connecting-IP` (never on a header the
 * client can set). Call it first, before any password hashing.
 *
 * @example
 * await limitClient(s, 'oauth')
 */
export function limitClient(s: Services, action: ClientAction): Promise<void> {
  return checkRate(s, clientKey(action, s.client.ip), s.config.rateLimits.perIp[action])
}

/**
 * `limitClient`, and reads that need not wait for it, in one batch (one round trip): the
 * reads' results once the client is under its limit, 429 as `limitClient` otherwise. Reads
 * only: they run either way, and only their answer waits for the verdict.
 */
export async function limitClientAnd<R extends readonly BatchItem<'pg'>[]>(s: Services, action: ClientAction, reads: R): Promise<BatchResponse<R>> {
  const policy = s.config.rateLimits.perIp[action]
  const hit = hitWindowStatement(s.db, clientKey(action, s.client.ip), policy.windowSeconds, s.now)
  const [[row], ...results] = (await batch(s.db, [hit, ...reads])) as unknown as [WindowHit[], ...unknown[]]
  checkClientWindow(s, action, row!)
  return results as BatchResponse<R>
}

/** An attempt admitted by `checkLimit`, to hand to `recordFailure` if its secret was wrong. */
export interface Attempt {
  key: string
  /** Attempts since the last success, this one included. */
  failures: number
  /** Where a failure of this attempt leaves the key locked until; null while under the threshold. */
  lockedUntil: Date | null
  hardLocked: boolean
}

const admittedAttempt = (key: string, failures: number, lockedUntil: Date | null, policy: LockoutPolicy): Attempt => ({
  key,
  failures,
  lockedUntil,
  hardLocked: failures >= policy.hardLimit,
})
const dateOf = (ms: number | null) => (ms === null ? null : new Date(ms))

/**
 * Admits one attempt at a secret on `key`, counting it before the secret is checked (so
 * concurrent guesses cannot slip past the lock); throws 429 with Retry-After while the key
 * is locked. During a lock the secret is not even checked: the right password gets no token.
 * Follow with `recordFailure` when the secret was wrong, `resetFailures` when it was right.
 *
 * @example
 * const attempt = await checkLimit(s, twoFactorKey(user.id), { userId: user.id })
 * if (!valid) { await recordFailure(s, attempt, { userId: user.id, orgId }); throw invalidCode() }
 * await resetFailures(s, twoFactorKey(user.id))
 */
export async function checkLimit(
  s: Services,
  key: string,
  /** Whose secret this is, for the audit row of an attempt refused during a lock. */
  subject: { userId: string; orgId?: string | null } | { email: string },
  policy: LockoutPolicy = s.config.rateLimits.lockout,
): Promise<Attempt> {
  return judgeAttempt(s, key, await attemptStatement(s, key, policy), subject, policy)
}

/** `checkLimit`'s statement, for a batch with the reads that need not wait for it; `judgeAttempt` gives its verdict. */
export const attemptStatement = (s: Services, key: string, policy: LockoutPolicy = s.config.rateLimits.lockout) =>
  admitAttemptStatement(s.db, key, policy, s.now)

/** The verdict on the rows of `attemptStatement`: exactly what `checkLimit` would have answered. */
export async function judgeAttempt(
  s: Services,
  key: string,
  [admitted]: AdmittedAttempt[],
  subject: Subject,
  policy: LockoutPolicy = s.config.rateLimits.lockout,
): Promise<Attempt> {
  if (admitted) return admittedAttempt(key, admitted.count, admitted.lockedUntil, policy)
  return refuseAttempt(s, key, subject, policy)
}

/**
 * `limitClient(s, action)` then `checkLimit(s, key)` as one statement, for the first round trip
 * of a login (batched with the account's lookup); `admitClientAttempt` judges its row.
 */
export function clientAttemptStatement(s: Services, action: ClientAction, key: string, policy: LockoutPolicy = s.config.rateLimits.lockout) {
  return hitWindowThenAdmit(s.db, { clientKey: clientKey(action, s.client.ip), window: s.config.rateLimits.perIp[action], key, rule: policy, now: s.now })
}

/** The verdict of `clientAttemptStatement`: exactly what `limitClient` then `checkLimit` would have answered. */
export async function admitClientAttempt(
  s: Services,
  action: ClientAction,
  key: string,
  row: ClientAndAttempt,
  subject: Subject,
  policy: LockoutPolicy = s.config.rateLimits.lockout,
): Promise<Attempt> {
  checkClientWindow(s, action, clientHitOf(row))
  if (row.failures === null) return refuseAttempt(s, key, subject, policy)
  return admittedAttempt(key, row.failures, dateOf(row.locked_until_ms), policy)
}

/**
 * `checkLimit` for the caller of an authenticated request, as one of the endpoint's `reads`
 * (the session check's round trip): counted only for a caller `authorize(scope)` will pass, and
 * only `when` (the request is one the endpoint will act on). `judgeCallerAttempt` gives the verdict.
 */
export function callerAttemptStatement(
  s: { db: Database; now: Date },
  caller: Caller,
  a: {
    scope: string
    key: CallerKey
    when: CallerAttemptCondition
    policy: LockoutPolicy
    withTwoFactorState?: boolean
    /** A window hit for the same caller first; the attempt counts only within it (`windowOfCallerAttempt` reads it). */
    window?: { key: string; limit: number; windowSeconds: number }
  },
) {
  // The token's own scopes are checked in the Worker; the live role, in the statement.
  const roles = caller.scopes?.includes(a.scope) ? rolesGranting(a.scope) : []
  const { key, when, withTwoFactorState, window } = a
  return admitCallerAttemptStatement(s.db, { caller, roles, key, when, withTwoFactorState, window, rule: a.policy, now: s.now })
}

/** The window `callerAttemptStatement` hit, or undefined when the caller did not qualify (nothing was hit). */
export const windowOfCallerAttempt = (row: CallerAttempt): WindowHit | undefined =>
  row.window_count === null || row.window_count === undefined ? undefined : { count: row.window_count, windowStartedAt: new Date(row.window_started_ms!) }

/**
 * The verdict on `callerAttemptStatement`'s row: the attempt, or 429 as `checkLimit` while the
 * key is locked. Undefined when nothing was counted because the caller did not qualify in that
 * statement (its condition was false, or a revocation committed between the batch's
 * statements): the caller then decides, and admits with `checkLimit` as before, one more trip.
 */
export async function judgeCallerAttempt(s: Services, row: CallerAttempt, subject: Subject, policy: LockoutPolicy): Promise<Attempt | undefined> {
  if (row.key === null) return undefined
  if (row.failures === null) return refuseAttempt(s, row.key, subject, policy)
  return admittedAttempt(row.key, row.failures, dateOf(row.locked_until_ms), policy)
}

// A locked key: how long for. One more round trip, on the refused path only.
/** Whose secret an attempt is at, for the audit row of an attempt refused during a lock. */
type Subject = { userId: string; orgId?: string | null } | { email: string }

async function refuseAttempt(s: Services, key: string, subject: Subject, policy: LockoutPolicy): Promise<never> {
  const counter = await findCounter(s.db, key)
  const refused = { type: 'attempt_refused', outcome: 'locked', detail: { counter: key.split(':')[0]! } } as const
  if ('email' in subject) await recordEventForEmail(s, subject.email, refused)
  else await recordEvent(s, { ...refused, ...subject })
  if (counter && counter.count >= policy.hardLimit)
    throw tooMany('Too many failed attempts. The account stays locked until its password is reset.', policy.maxLockSeconds)
  // A success may have cleared the lock since the refusal; a retry in 1 s is then honest.
  const retryAfter = counter?.lockedUntil ? secondsUntil(counter.lockedUntil, s.now) : 1
  throw tooMany(`Too many failed attempts. Try again in ${retryAfter} seconds.`, retryAfter)
}

/**
 * The secret of an admitted attempt was wrong. The failure was already counted by
 * `checkLimit`; this records the lock it leaves, if any, in the audit log.
 */
export async function recordFailure(
  s: Services,
  attempt: Attempt,
  who: { userId?: string | null; orgId?: string | null } = {},
): Promise<void> {
  const statements = failureStatements(s, attempt, who)
  if (statements.length) await batch(s.db, [statements[0]!, ...statements.slice(1)])
}

/** `recordFailure` as statements (none, or the lock's audit row), for the caller's batch. */
export function failureStatements(s: Services, attempt: Attempt, who: { userId?: string | null; orgId?: string | null } = {}) {
  if (!attempt.lockedUntil && !attempt.hardLocked) return []
  return [lockEvent(s, attempt, who)]
}

function lockEvent(s: Services, attempt: Attempt, who: { userId?: string | null; orgId?: string | null }) {
  return eventStatement(s, {
    type: 'lock_applied',
    outcome: 'locked',
    userId: who.userId,
    orgId: who.orgId,
    detail: {
      counter: attempt.key.split(':')[0]!,
      failures: attempt.failures,
      locked_until: attempt.hardLocked ? null : attempt.lockedUntil!.toISOString(),
      until_password_reset: attempt.hardLocked,
    },
  })
}

/** A success: the key's failures and any lock are forgotten (`resetCounter` is its statement, for a batch). */
export async function resetFailures(s: Pick<Services, 'db'>, key: string): Promise<void> {
  await resetCounter(s.db, key)
}
