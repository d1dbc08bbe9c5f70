import { and, desc, eq, lt, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import { rowsOf } from '../client'
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

/**
 * A change (`update ... returning`, as SQL) and its event in one statement, one round trip.
 * `only: 'if-changed'` records the event only when a row changed; `countAs` adds the number
 * of changed rows to the event's detail under that name. Returns the number of changed rows.
 */
export async function changeWithEvent(
  db: Database,
  change: SQL,
  event: NewAuthEvent,
  options: { only?: 'if-changed'; countAs?: string } = {},
): Promise<number> {
  const detail = sql`${JSON.stringify(event.detail ?? {})}::jsonb`
  const withCount = options.countAs ? sql`${detail} || jsonb_build_object(${options.countAs}::text, (select count(*) from changed))` : detail
  const result = await db.execute(sql`
    with changed as (${change}), recorded as (
      insert into ${authEvents} (created_at, type, outcome, user_id, org_id, ip, user_agent, detail)
      select ${event.createdAt!.toISOString()}::timestamptz, ${event.type}, ${event.outcome}, ${event.userId ?? null}, ${event.orgId ?? null},
        ${event.ip ?? null}, ${event.userAgent ?? null}, ${event.detail === null && !options.countAs ? sql`null` : withCount}
      ${options.only === 'if-changed' ? sql`where exists (select 1 from changed)` : sql``}
    )
    select count(*)::int as changed from changed`)
  return rowsOf<{ changed: number }>(result)[0]!.changed
}
