import { eq, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import type { Database } from '../client'
import { rateLimits } from '../schema'

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
  const expired = sql`${rateLimits.windowStartedAt} <= ${at(now)} - make_interval(secs => ${windowSeconds}::float8)`
  const [row] = await db
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
  return row!
}

/**
 * `hitWindow` for several keys in one statement (one round trip), each with its own window.
 * Returns the hits in the order of `keys`.
 */
export async function hitWindows(db: Database, keys: { key: string; windowSeconds: number }[], now: Date): Promise<WindowHit[]> {
  const windowOf = sql`case ${rateLimits.key} ${sql.join(
    keys.map(({ key, windowSeconds }) => sql`when ${key} then ${windowSeconds}::float8`),
    sql` `,
  )} end`
  const expired = sql`${rateLimits.windowStartedAt} <= ${at(now)} - make_interval(secs => ${windowOf})`
  const rows = await db
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
  return keys.map(({ key }) => rows.find((row) => row.key === key)!)
}

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
export async function admitAttempt(db: Database, key: string, rule: LockoutRule, now: Date): Promise<AdmittedAttempt | undefined> {
  const lockFor = (count: SQL) =>
    sql`case when ${count} >= ${rule.lockAfterFailures}::int then ${secondsAfter(
      now,
      sql`least(${rule.baseLockSeconds}::float8 * power(2, (${count} - ${rule.lockAfterFailures}::int)::float8), ${rule.maxLockSeconds}::float8)`,
    )} end`
  const next = sql`${rateLimits.count} + 1`
  const [row] = await db
    .insert(rateLimits)
    .values({ key, count: 1, windowStartedAt: now, lockedUntil: lockFor(sql`1`) })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: { count: next, windowStartedAt: now, lockedUntil: lockFor(next) },
      // NIST 800-63B §5.2.2: past the hard limit nothing is admitted until a success resets it.
      setWhere: sql`${rateLimits.count} < ${rule.hardLimit}::int and (${rateLimits.lockedUntil} is null or ${rateLimits.lockedUntil} <= ${at(now)})`,
    })
    .returning({ count: rateLimits.count, lockedUntil: rateLimits.lockedUntil })
  return row
}

export async function findCounter(db: Database, key: string) {
  const [row] = await db.select().from(rateLimits).where(eq(rateLimits.key, key)).limit(1)
  return row
}

export async function resetCounter(db: Database, key: string): Promise<void> {
  await db.delete(rateLimits).where(eq(rateLimits.key, key))
}
