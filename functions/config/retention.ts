import { DAY, count } from './values'

/** The RETENTION_* settings. */
export interface RetentionBindings {
  /**
   * In days, after a row stops being usable (core/retention.ts): audit events (90),
   * ended sessions (30), spent or expired tokens (1), ended invitations (30), the dev outbox (7),
   * rate-limit counters (1). And the purge's batch size (1000 rows) and batches per table per run (20).
   */
  RETENTION_AUDIT_EVENTS_DAYS?: string
  RETENTION_ENDED_SESSIONS_DAYS?: string
  RETENTION_SPENT_TOKENS_DAYS?: string
  RETENTION_INVITATIONS_DAYS?: string
  RETENTION_MAIL_OUTBOX_DAYS?: string
  RETENTION_RATE_LIMITS_DAYS?: string
  RETENTION_BATCH_SIZE?: string
  RETENTION_MAX_BATCHES?: string
}

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

/** The RETENTION_* settings over the defaults. */
export function retention(env: RetentionBindings): RetentionConfig {
  const d = DEFAULT_RETENTION
  const days = (value: string | undefined, fallback: number, name: string) => count(value, fallback / DAY, name, 36_500) * DAY
  return {
    auditEventsSeconds: days(env.RETENTION_AUDIT_EVENTS_DAYS, d.auditEventsSeconds, 'RETENTION_AUDIT_EVENTS_DAYS'),
    endedSessionsSeconds: days(env.RETENTION_ENDED_SESSIONS_DAYS, d.endedSessionsSeconds, 'RETENTION_ENDED_SESSIONS_DAYS'),
    spentTokensSeconds: days(env.RETENTION_SPENT_TOKENS_DAYS, d.spentTokensSeconds, 'RETENTION_SPENT_TOKENS_DAYS'),
    invitationsSeconds: days(env.RETENTION_INVITATIONS_DAYS, d.invitationsSeconds, 'RETENTION_INVITATIONS_DAYS'),
    mailOutboxSeconds: days(env.RETENTION_MAIL_OUTBOX_DAYS, d.mailOutboxSeconds, 'RETENTION_MAIL_OUTBOX_DAYS'),
    rateLimitsSeconds: days(env.RETENTION_RATE_LIMITS_DAYS, d.rateLimitsSeconds, 'RETENTION_RATE_LIMITS_DAYS'),
    batchSize: count(env.RETENTION_BATCH_SIZE, d.batchSize, 'RETENTION_BATCH_SIZE', 10_000),
    maxBatchesPerTable: count(env.RETENTION_MAX_BATCHES, d.maxBatchesPerTable, 'RETENTION_MAX_BATCHES', 1000),
  }
}
