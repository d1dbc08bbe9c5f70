import type { Database } from '../../db/client'
import { purgeBatch, purgeConditions } from '../../db/queries/retention'

const DAY = 86_400

/** How long rows are kept after they stop being usable, in seconds. */
export interface RetentionConfig {
  /** auth_events, from when they were recorded (default 90 days). */
  auditEventsSeconds: number
  /** Sessions (and their refresh tokens), after they were revoked or expired (default 30 days). */
  endedSessionsSeconds: number
  /** Refresh tokens, 2FA challenges and mail tokens, after they expired or were used (default 1 day). */
  spentTokensSeconds: number
  /** Invitations, after they were accepted, revoked or expired (default 30 days). */
  invitationsSeconds: number
  /** The development mail outbox (default 7 days). */
  mailOutboxSeconds: number
  /** Rate-limit windows and locks, after their last hit (default 1 day: longer than any window). */
  rateLimitsSeconds: number
  /** Rows deleted per statement, and statements per table per run. */
  batchSize: number
  maxBatchesPerTable: number
}

export const DEFAULT_RETENTION: RetentionConfig = {
  auditEventsSeconds: 90 * DAY,
  endedSessionsSeconds: 30 * DAY,
  spentTokensSeconds: DAY,
  invitationsSeconds: 30 * DAY,
  mailOutboxSeconds: 7 * DAY,
  rateLimitsSeconds: DAY,
  batchSize: 1000,
  maxBatchesPerTable: 20,
}

/**
 * Deletes expired and spent rows of every table that grows with use, in bounded batches
 * (`batchSize` rows a statement, at most `maxBatchesPerTable` statements a table), so one run
 * holds no lock for long; what is left goes at the next run. Returns the rows deleted per table.
 */
export async function purgeExpired(db: Database, retention: RetentionConfig, now: Date, hardLimit: number): Promise<Record<string, number>> {
  const before = (seconds: number) => new Date(now.getTime() - seconds * 1000)
  const conditions = purgeConditions({
    now,
    auditEvents: before(retention.auditEventsSeconds),
    endedSessions: before(retention.endedSessionsSeconds),
    spentTokens: before(retention.spentTokensSeconds),
    invitations: before(retention.invitationsSeconds),
    mailOutbox: before(retention.mailOutboxSeconds),
    rateLimits: before(retention.rateLimitsSeconds),
    hardLimit,
  })
  const deleted: Record<string, number> = {}
  for (const [table, condition] of Object.entries(conditions)) {
    deleted[table] = 0
    for (let batch = 0; batch < retention.maxBatchesPerTable; batch++) {
      const n = await purgeBatch(db, condition, retention.batchSize)
      deleted[table] += n
      if (n < retention.batchSize) break
    }
  }
  return deleted
}
