import { and, desc, eq, lt } from 'drizzle-orm'
import type { Database } from '../client'
import { authEvents } from '../schema'

export type NewAuthEvent = typeof authEvents.$inferInsert
export type AuthEventRow = typeof authEvents.$inferSelect

/** Append-only: this module inserts and reads auth_events, and never updates or deletes them. */
export function insertEvent(db: Database, event: NewAuthEvent) {
  return db.insert(authEvents).values(event)
}

/**
 * A user's events, newest first, `limit` of them below `beforeId` (keyset pagination: a
 * page stays stable while new events arrive, unlike an offset).
 */
export function listUserEvents(db: Database, userId: string, page: { limit: number; beforeId?: number }) {
  return db
    .select()
    .from(authEvents)
    .where(and(eq(authEvents.userId, userId), page.beforeId === undefined ? undefined : lt(authEvents.id, page.beforeId)))
    .orderBy(desc(authEvents.id))
    .limit(page.limit)
}
