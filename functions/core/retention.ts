import type { Database } from '../../db/client'
import { purgeBatch, purgeConditions } from '../../db/queries/retention'
import type { RetentionConfig } from '../config/retention'

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
