import { insertEvent, listUserEvents } from '../../db/queries/events'
import type { Database } from '../../db/client'
import type { Services } from './services'

export type AuthEventType =
  | 'register'
  | 'login'
  | 'lock_applied'
  | 'refresh_reuse_detected'
  | 'password_changed'
  | 'password_reset'
  | 'session_revoked'
  | 'two_factor_enabled'
  | 'two_factor_disabled'
  | 'two_factor_code'
  | 'recovery_code_used'
  | 'recovery_codes_regenerated'
  | 'identity_linked'
  | 'identity_unlinked'
  | 'two_factor_reset'
  | 'email_verified'

/** success; failure (a wrong secret); denied (right secret, refused: inactive account); locked. */
export type AuthEventOutcome = 'success' | 'failure' | 'denied' | 'locked'

/**
 * Details are small facts about the event: a method, a reason, a session id, a count.
 * Never a password, code, token or hash, and never what a caller typed (an email field
 * sometimes holds a password typed one field too early).
 */
export type EventDetail = Record<string, string | number | boolean | null>

export interface AuthEvent {
  type: AuthEventType
  outcome: AuthEventOutcome
  userId?: string | null
  orgId?: string | null
  detail?: EventDetail
}

/**
 * Appends an event with the request's time, IP and user agent. Pass `db` (a transaction)
 * to make the event part of the change it records.
 *
 * @example
 * await recordEvent(s, { type: 'two_factor_enabled', outcome: 'success', userId, orgId })
 */
export async function recordEvent(
  s: Pick<Services, 'db' | 'now' | 'client'>,
  event: AuthEvent,
  db: Database = s.db,
): Promise<void> {
  await insertEvent(db, {
    createdAt: s.now,
    type: event.type,
    outcome: event.outcome,
    userId: event.userId ?? null,
    orgId: event.orgId ?? null,
    ip: s.client.ip ?? null,
    userAgent: s.client.userAgent ?? null,
    detail: event.detail ?? null,
  })
}

export const EVENTS_PAGE_DEFAULT = 50
export const EVENTS_PAGE_MAX = 100

/** A page of the user's own events, newest first, and the cursor of the next page (null at the end). */
export async function listEvents(db: Database, userId: string, page: { limit: number; cursor?: string }) {
  const rows = await listUserEvents(db, userId, {
    limit: page.limit + 1,
    beforeId: page.cursor === undefined ? undefined : Number(page.cursor),
  })
  const events = rows.slice(0, page.limit)
  const more = rows.length > page.limit
  return { events, nextCursor: more ? String(events[events.length - 1]!.id) : null }
}
