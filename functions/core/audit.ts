import { normalizeEmail } from '../../db/queries/accounts'
import { insertEvent, insertEventForEmail, insertEventIf, listUserEvents } from '../../db/queries/events'
import type { AuthEventRow, NewAuthEvent } from '../../db/queries/events'
import type { Condition, Database } from '../../db/client'
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
  | 'passkey_registered'
  | 'passkey_renamed'
  | 'passkey_deleted'
  | 'passkey_clone_suspected'
  /** A right password of a 2FA account: the challenge is open, the login not yet done. */
  | 'login_first_factor'
  /** An attempt at a secret refused unchecked because its counter is locked. */
  | 'attempt_refused'
  | 'invitation_created'
  | 'invitation_revoked'
  | 'invitation_accepted'
  | 'member_role_changed'
  | 'member_deactivated'
  | 'member_reactivated'
  | 'member_removed'

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
  await eventStatement(s, event, db)
}

/** `recordEvent` as a statement, for a batch: the event is written with the change it records, in the same round trip. */
export function eventStatement(s: Pick<Services, 'db' | 'now' | 'client'>, event: AuthEvent, db: Database = s.db) {
  return insertEvent(db, eventRow(s, event))
}

/** `eventStatement` written only where `only` holds (SQL): the event of a change its batch may have refused. */
export function eventStatementIf(s: Pick<Services, 'db' | 'now' | 'client'>, event: AuthEvent, only: Condition) {
  return insertEventIf(s.db, eventRow(s, event), only)
}

/** The row of an event: the request's time, IP and user agent with it. */
export function eventRow(s: Pick<Services, 'now' | 'client'>, event: AuthEvent): NewAuthEvent {
  return {
    createdAt: s.now,
    type: event.type,
    outcome: event.outcome,
    userId: event.userId ?? null,
    orgId: event.orgId ?? null,
    ip: s.client.ip ?? null,
    userAgent: s.client.userAgent ?? null,
    detail: event.detail ?? null,
  }
}

/**
 * `recordEvent` for an event whose user is known only by email (an attempt refused during a
 * lock, before any lookup): the user and organization are found by the insert itself, and
 * an unknown email leaves them null.
 */
export async function recordEventForEmail(s: Pick<Services, 'db' | 'now' | 'client'>, email: string, event: Omit<AuthEvent, 'userId' | 'orgId'>) {
  await insertEventForEmail(s.db, normalizeEmail(email), {
    createdAt: s.now,
    type: event.type,
    outcome: event.outcome,
    ip: s.client.ip ?? null,
    userAgent: s.client.userAgent ?? null,
    detail: event.detail ?? null,
  })
}

export const EVENTS_PAGE_DEFAULT = 50
export const EVENTS_PAGE_MAX = 100

/** A page of the user's own events, newest first, for a batch; `eventsPage` makes the page of its rows. */
export const selectEventsPage = (db: Database, userId: string, page: { limit: number; cursor?: string }) =>
  listUserEvents(db, userId, { limit: page.limit + 1, beforeId: page.cursor === undefined ? undefined : Number(page.cursor) })

/** The page of `selectEventsPage`'s rows, and the cursor of the next page (null at the end). */
export function eventsPage(rows: AuthEventRow[], page: { limit: number }) {
  const events = rows.slice(0, page.limit)
  const more = rows.length > page.limit
  return { events, nextCursor: more ? String(events[events.length - 1]!.id) : null }
}
