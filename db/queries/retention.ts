import { sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import type { Database } from '../client'
import { rowsOf } from '../client'
import { authEvents, emailTokens, invitations, mailOutbox, rateLimits, refreshTokens, sessions, twoFactorChallenges, webauthnChallenges } from '../schema'

const at = (date: Date) => sql`${date.toISOString()}::timestamptz`

/** The cut-off times of a purge: rows that ended before them go. */
export interface RetentionCutoffs {
  now: Date
  auditEvents: Date
  endedSessions: Date
  spentTokens: Date
  invitations: Date
  mailOutbox: Date
  rateLimits: Date
  /** Counters at or above it are hard locks that only a password reset lifts: never purged. */
  hardLimit: number
}

/** What each table's purge removes. Every condition names only rows no request can use again. */
export function purgeConditions(c: RetentionCutoffs): Record<string, { table: SQL; where: SQL }> {
  return {
    auth_events: { table: sql`${authEvents}`, where: sql`created_at < ${at(c.auditEvents)}` },
    // Refresh tokens and their sessions' other rows go with the session (ON DELETE CASCADE).
    sessions: {
      table: sql`${sessions}`,
      // least() skips nulls: the session ended when it was revoked or expired, whichever came first.
      where: sql`least(revoked_at, expires_at) < ${at(c.endedSessions)}`,
    },
    // A spent token is kept until it expires: presenting it again is how reuse is detected.
    refresh_tokens: { table: sql`${refreshTokens}`, where: sql`expires_at < ${at(c.spentTokens)}` },
    two_factor_challenges: { table: sql`${twoFactorChallenges}`, where: sql`expires_at < ${at(c.spentTokens)}` },
    // Passkey challenges are deleted when used; one never used is dead once expired.
    webauthn_challenges: { table: sql`${webauthnChallenges}`, where: sql`expires_at < ${at(c.now)}` },
    email_tokens: {
      table: sql`${emailTokens}`,
      where: sql`(expires_at < ${at(c.spentTokens)} or used_at < ${at(c.spentTokens)})`,
    },
    invitations: {
      table: sql`${invitations}`,
      where: sql`least(accepted_at, revoked_at, expires_at) < ${at(c.invitations)}`,
    },
    mail_outbox: { table: sql`${mailOutbox}`, where: sql`created_at < ${at(c.mailOutbox)}` },
    // A window or lock that ended long ago counts nothing any more; a hard lock stays.
    rate_limits: {
      table: sql`${rateLimits}`,
      where: sql`window_started_at < ${at(c.rateLimits)} and (locked_until is null or locked_until < ${at(c.now)}) and count < ${c.hardLimit}::int`,
    },
  }
}

/**
 * Deletes at most `batchSize` rows of one table matching `where`, in one statement; returns
 * how many went. Bounded so no purge holds locks or a connection for long.
 */
export async function purgeBatch(db: Database, target: { table: SQL; where: SQL }, batchSize: number): Promise<number> {
  const result = await db.execute(sql`
    with gone as (
      delete from ${target.table} where ctid = any(array(select ctid from ${target.table} where ${target.where} limit ${batchSize}::int))
      returning 1
    )
    select count(*)::int as n from gone`)
  return rowsOf<{ n: number }>(result)[0]!.n
}
