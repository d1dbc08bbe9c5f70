import { eq, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import type { Database } from '../client'
import { memberships, rateLimits, sessions, users } from '../schema'
import type { Role } from '../schema'

// Every counter here changes in one INSERT ... ON CONFLICT DO UPDATE: Postgres locks the
// row and evaluates the update against its latest version, so concurrent hits from any
// number of isolates are counted exactly, with no read-modify-write race.

const at = (date: Date) => sql`${date.toISOString()}::timestamptz`
const secondsAfter = (date: Date, seconds: SQL | number) => sql`${at(date)} + make_interval(secs => (${seconds})::float8)`

export interface WindowHit {
  count: number
  windowStartedAt: Date
}

/**
 * Counts one hit in a fixed window of `windowSeconds`: a key whose window has ended starts
 * a new one at `now`. Returns the count including this hit.
 */
export async function hitWindow(db: Database, key: string, windowSeconds: number, now: Date): Promise<WindowHit> {
  const [row] = await hitWindowStatement(db, key, windowSeconds, now)
  return row!
}

/** `hitWindow` as a statement, for a batch: one row, the hit. */
export function hitWindowStatement(db: Database, key: string, windowSeconds: number, now: Date) {
  const expired = windowExpired(windowSeconds, now)
  return db
    .insert(rateLimits)
    .values({ key, count: 1, windowStartedAt: now })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`case when ${expired} then 1 else ${rateLimits.count} + 1 end`,
        windowStartedAt: sql`case when ${expired} then ${at(now)} else ${rateLimits.windowStartedAt} end`,
      },
    })
    .returning({ count: rateLimits.count, windowStartedAt: rateLimits.windowStartedAt })
}

/** `hitWindow` for several keys in one statement, each with its own window; `hitsInOrder` orders its rows as the keys. */
export function hitWindowsStatement(db: Database, keys: { key: string; windowSeconds: number }[], now: Date) {
  const windowOf = sql`case ${rateLimits.key} ${sql.join(
    keys.map(({ key, windowSeconds }) => sql`when ${key} then ${windowSeconds}::float8`),
    sql` `,
  )} end`
  const expired = sql`${rateLimits.windowStartedAt} <= ${at(now)} - make_interval(secs => ${windowOf})`
  return db
    .insert(rateLimits)
    .values(keys.map(({ key }) => ({ key, count: 1, windowStartedAt: now })))
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`case when ${expired} then 1 else ${rateLimits.count} + 1 end`,
        windowStartedAt: sql`case when ${expired} then ${at(now)} else ${rateLimits.windowStartedAt} end`,
      },
    })
    .returning({ key: rateLimits.key, count: rateLimits.count, windowStartedAt: rateLimits.windowStartedAt })
}

/**
 * SQL for a statement later in the batch that hit these windows (`hitWindowsStatement`): true
 * while every key is within its limit. The hit holds each window's row locked until the batch
 * commits, so the count read here is this request's own hit.
 */
export function windowsUnder(limits: { key: string; limit: number }[]): SQL {
  if (limits.length === 0) return sql`true`
  return sql.join(
    limits.map(({ key, limit }) => underWindowLimit(key, limit)),
    sql` and `,
  )
}

export const hitsInOrder = (keys: { key: string }[], rows: (WindowHit & { key: string })[]): WindowHit[] =>
  keys.map(({ key }) => rows.find((row) => row.key === key)!)

export interface LockoutRule {
  lockAfterFailures: number
  baseLockSeconds: number
  maxLockSeconds: number
  hardLimit: number
}

export interface AdmittedAttempt {
  /** Attempts since the last success, this one included. */
  count: number
  /** Set when this attempt, if it fails, leaves the key locked until then. */
  lockedUntil: Date | null
}

/**
 * Counts an attempt before its secret is checked, unless the key is locked. Returns the
 * new count, or undefined when the key is locked (then nothing was counted).
 *
 * Counting before checking is what makes the lock hold under concurrency: of any number of
 * simultaneous guesses, only those that find the key unlocked are admitted, and the one
 * that reaches `lockAfterFailures` locks it for all that follow. The lock is set in the
 * same statement, `base * 2^(count - lockAfter)` seconds capped at `maxLockSeconds`; a
 * success deletes the row (`resetCounter`), so an admitted attempt that succeeds leaves no lock.
 */
const lockAfter = (rule: LockoutRule, now: Date) => (count: SQL) =>
  sql`case when ${count} >= ${rule.lockAfterFailures}::int then ${secondsAfter(
    now,
    sql`least(${rule.baseLockSeconds}::float8 * power(2, (${count} - ${rule.lockAfterFailures}::int)::float8), ${rule.maxLockSeconds}::float8)`,
  )} end`
// NIST 800-63B §5.2.2: past the hard limit nothing is admitted until a success resets it.
const admissible = (rule: LockoutRule, now: Date) =>
  sql`${rateLimits.count} < ${rule.hardLimit}::int and (${rateLimits.lockedUntil} is null or ${rateLimits.lockedUntil} <= ${at(now)})`
const windowExpired = (windowSeconds: number, now: Date) => sql`${rateLimits.windowStartedAt} <= ${at(now)} - make_interval(secs => ${windowSeconds}::float8)`

/** Admits an attempt on a key under its lockout rule (a statement, for a batch): one row when admitted, none when locked. */
export function admitAttemptStatement(db: Database, key: string, rule: LockoutRule, now: Date) {
  const lockFor = lockAfter(rule, now)
  const next = sql`${rateLimits.count} + 1`
  return db
    .insert(rateLimits)
    .values({ key, count: 1, windowStartedAt: now, lockedUntil: lockFor(sql`1`) })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: { count: next, windowStartedAt: now, lockedUntil: lockFor(next) },
      // NIST 800-63B §5.2.2: past the hard limit nothing is admitted until a success resets it.
      setWhere: admissible(rule, now),
    })
    .returning({ count: rateLimits.count, lockedUntil: rateLimits.lockedUntil })
}

/**
 * `admitAttemptStatement` as SQL for a CTE of a larger statement: admits an attempt on the
 * `key` of each row of `from` (a CTE's name), returning `count, locked_until` of those admitted.
 */
function admitSql(from: SQL, rule: LockoutRule, now: Date) {
  const lockFor = lockAfter(rule, now)
  return sql`
      insert into ${rateLimits} (key, count, window_started_at, locked_until)
      select key, 1, ${at(now)}, ${lockFor(sql`1`)} from ${from}
      on conflict (key) do update set count = ${rateLimits.count} + 1, window_started_at = ${at(now)}, locked_until = ${lockFor(sql`${rateLimits.count} + 1`)}
      where ${admissible(rule, now)}
      returning count, locked_until`
}

export async function findCounter(db: Database, key: string) {
  const [row] = await db.select().from(rateLimits).where(eq(rateLimits.key, key)).limit(1)
  return row
}

export function resetCounter(db: Database, key: string) {
  return db.delete(rateLimits).where(eq(rateLimits.key, key))
}

/**
 * `hitWindow` as SQL for a CTE of a larger statement (`with client as (...)`): its row is
 * `count, window_started_at` after the hit.
 */
export function hitWindowSql(key: string, windowSeconds: number, now: Date, from?: SQL) {
  const expired = windowExpired(windowSeconds, now)
  // `from`: hit only when it has a row (a CTE naming the caller who qualifies).
  const row = from ? sql`select ${key}, 1, ${at(now)} from ${from}` : sql`values (${key}, 1, ${at(now)})`
  return sql`
      insert into ${rateLimits} (key, count, window_started_at) ${row}
      on conflict (key) do update set
        count = case when ${expired} then 1 else ${rateLimits.count} + 1 end,
        window_started_at = case when ${expired} then ${at(now)} else ${rateLimits.windowStartedAt} end
      returning count, window_started_at`
}

/**
 * Whether a windowed key is within `limit`, as a condition for a later statement of the batch
 * that counted its hit (`hitWindowStatement`): the batch's transaction holds the row, so this
 * reads exactly that hit's count.
 */
export const underWindowLimit = (key: string, limit: number) =>
  sql`coalesce((select ${rateLimits.count} from ${rateLimits} where ${rateLimits.key} = ${key}), 0) <= ${limit}::int`

/** One row: the client's window after this hit, and the account's attempt if it was admitted. */
export interface ClientAndAttempt {
  client_count: number
  client_window_started_ms: number
  /** Null when the attempt was not admitted (the client over its limit, or the key locked). */
  failures: number | null
  locked_until_ms: number | null
  /** With a `subject` statement: the user it returned, null when it returned none. */
  user_id?: string | null
  /** With a `subject` statement returning one: the passkey that was a 2FA challenge's first factor. */
  first_factor_passkey_id?: string | null
}

/**
 * `hitWindow` on the client's key and `admitAttemptStatement` on the account's, in one statement: the
 * attempt is admitted (and counted) only when the client is still under its limit, exactly
 * as if the two ran one after the other and the first had refused. Both upserts lock and
 * re-read their row, so concurrent requests are counted exactly.
 *
 * `key` is the account's key; or `subject`, a data-modifying statement run only while the
 * client is under its limit (`underLimit`, a condition), returning `key` and `user_id`: the
 * attempt is then admitted on the key it returned, if any (a 2FA challenge's attempt taken,
 * then its user's counter).
 */
export function hitWindowThenAdmit(
  db: Database,
  c: { clientKey: string; window: { limit: number; windowSeconds: number }; rule: LockoutRule; now: Date } & (
    | { key: string; subject?: undefined }
    | { key?: undefined; subject: (underLimit: SQL) => SQL }
  ),
) {
  const { now, rule } = c
  const underLimit = sql`(select client.count from client) <= ${c.window.limit}::int`
  const subject = c.subject
    ? sql`, subject as (${c.subject(underLimit)})`
    : sql`, subject as (select ${c.key}::text as key, null::uuid as user_id, null::uuid as first_factor_passkey_id where ${underLimit})`
  return db.execute(sql`
    with client as (${hitWindowSql(c.clientKey, c.window.windowSeconds, now)})${subject}, admitted as (${admitSql(sql`subject`, rule, now)})
    select client.count as client_count, (extract(epoch from client.window_started_at) * 1000)::float8 as client_window_started_ms,
      admitted.count as failures, (extract(epoch from admitted.locked_until) * 1000)::float8 as locked_until_ms,
      (select user_id from subject) as user_id, (select first_factor_passkey_id from subject) as first_factor_passkey_id
    from client left join admitted on true`)
}

/** One row of `admitCallerAttemptStatement`. */
export interface CallerAttempt {
  /** The key of the attempt; null when the caller did not qualify (nothing was counted). */
  key: string | null
  /** Null when nothing was admitted: with a key, the key is locked. */
  failures: number | null
  locked_until_ms: number | null
  /** With a `window`: its count after this hit, null when the caller did not qualify (nothing was hit). */
  window_count?: number | null
  window_started_ms?: number | null
}

/** With `withTwoFactorState`: the caller's 2FA columns, read in the statement's snapshot. */
export interface CallerTwoFactorState {
  totp_secret: string | null
  totp_key_id: string | null
  totp_enabled_at_ms: number | null
  totp_last_step: number | null
}

/** The key an attempt counts on: a given one, or the account's (`prefix` and the caller's normalized email). */
export type CallerKey = { key: string } | { accountKeyPrefix: string }

/** When a caller's attempt counts, beyond a caller the session check passes. */
export interface CallerAttemptCondition {
  /** False: nothing counts (a body the endpoint refuses). */
  act: boolean
  /** The caller's 2FA must be on, or pending (a secret set up, not yet confirmed). */
  twoFactor?: 'on' | 'pending'
  /** The session must have signed in at or after this. */
  signedInSince?: Date
  /** The session must have signed in before this: the proof is asked because the sign-in is old. */
  signedInBefore?: Date
  /** False: no secret was sent, so no attempt counts (a `window` still does). Default true. */
  proofSent?: boolean
}

const TWO_FACTOR = { on: sql`u.totp_enabled_at is not null`, pending: sql`u.totp_enabled_at is null and u.totp_secret is not null` }

/**
 * `admitAttemptStatement` for the caller of an authenticated request, as one of its reads in
 * the session check's batch: the attempt is counted only for a caller the session check will
 * pass (the session live and theirs, the user active, still in the organization with one of
 * `roles`) and when `when` holds. Otherwise nothing is counted, so an ended token cannot
 * advance its owner's lock. `users.email_normalized` is written once, as `normalizeEmail(email)`,
 * so an account key built from it is the one `accountKey(email)` names.
 */
export function admitCallerAttemptStatement(
  db: Database,
  c: {
    caller: { sessionId: string; userId: string; orgId: string }
    roles: readonly Role[]
    key: CallerKey
    when: CallerAttemptCondition
    withTwoFactorState?: boolean
    /**
     * A window of the request's own (a user's registrations started): hit for a caller who
     * qualifies, secret or not, and the attempt admitted only within its limit, so a request
     * over it counts no attempt. Its row is locked by the hit until the batch commits.
     */
    window?: { key: string; limit: number; windowSeconds: number }
    rule: LockoutRule
    now: Date
  },
) {
  const { caller, now, rule, when } = c
  const granted = sql.join(
    c.roles.map((role) => sql`${role}`),
    sql`, `,
  )
  const conditions = [
    c.roles.length && when.act ? sql`m.role in (${granted})` : sql`false`,
    ...(when.twoFactor ? [TWO_FACTOR[when.twoFactor]] : []),
    ...(when.signedInSince ? [sql`s.created_at >= ${at(when.signedInSince)}`] : []),
    ...(when.signedInBefore ? [sql`s.created_at < ${at(when.signedInBefore)}`] : []),
  ]
  const { window } = c
  const hit = window ? sql`, hit as (${hitWindowSql(window.key, window.windowSeconds, now, sql`caller`)})` : sql``
  const admits = sql.join([sql`${when.proofSent ?? true}`, ...(window ? [sql`(select hit.count from hit) <= ${window.limit}::int`] : [])], sql` and `)
  const windowColumns = window
    ? sql`, (select hit.count from hit) as window_count, (select (extract(epoch from hit.window_started_at) * 1000)::float8 from hit) as window_started_ms`
    : sql``
  const key = 'key' in c.key ? sql`${c.key.key}::text` : sql`${c.key.accountKeyPrefix}::text || u.email_normalized`
  // The 2FA state in the admission's own snapshot: what the Worker decides on is what was counted on.
  const state = c.withTwoFactorState
    ? sql`, u.totp_secret, u.totp_key_id, (extract(epoch from u.totp_enabled_at) * 1000)::float8 as totp_enabled_at_ms,
        u.totp_last_step::float8 as totp_last_step`
    : sql``
  return db.execute(sql`
    with caller as (
      select ${key} as key
      from ${sessions} s join ${users} u on u.id = s.user_id join ${memberships} m on m.user_id = u.id
      where s.id = ${caller.sessionId} and s.user_id = ${caller.userId} and m.org_id = ${caller.orgId}
        and s.revoked_at is null and s.expires_at > ${at(now)} and u.is_active and ${sql.join(conditions, sql` and `)}
    )${hit}, eligible as (
      select key from caller where ${admits}
    ), admitted as (${admitSql(sql`eligible`, rule, now)})
    select (select key from eligible) as key, admitted.count as failures,
      (extract(epoch from admitted.locked_until) * 1000)::float8 as locked_until_ms${windowColumns}${state}
    from (select 1) one left join admitted on true left join ${users} u on u.id = ${caller.userId}`)
}
