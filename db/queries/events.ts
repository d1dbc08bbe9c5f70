import { and, desc, eq, lt, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import { rowsOf } from '../client'
import type { Database } from '../client'
import { authEvents, memberships, users } from '../schema'

export type NewAuthEvent = typeof authEvents.$inferInsert
export type AuthEventRow = typeof authEvents.$inferSelect

/** Append-only: this module inserts and reads auth_events, and never updates or deletes them (retention, db/queries/retention.ts, purges old ones). */
export function insertEvent(db: Database, event: NewAuthEvent) {
  return db.insert(authEvents).values(event)
}

/** Inserts an event for the user with this normalized email, if any, in the same statement. */
export async function insertEventForEmail(db: Database, emailNormalized: string, event: Omit<NewAuthEvent, 'userId' | 'orgId'>): Promise<void> {
  await db.execute(sql`
    insert into ${authEvents} (created_at, type, outcome, user_id, org_id, ip, user_agent, detail)
    select ${event.createdAt!.toISOString()}, ${event.type}, ${event.outcome}, u.id, m.org_id, ${event.ip ?? null}, ${event.userAgent ?? null},
      ${event.detail === null || event.detail === undefined ? null : JSON.stringify(event.detail)}::jsonb
    from (select 1) one
    left join ${users} u on u.email_normalized = ${emailNormalized} and u.owns_email
    left join ${memberships} m on m.user_id = u.id
    limit 1`)
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
