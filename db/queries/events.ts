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

/**
 * `insertEvent` only where `only` holds (SQL, read when the statement runs): for a batch whose
 * earlier statement may have written nothing (a write a window refused), so the event records
 * only what happened.
 */
export function insertEventIf(db: Database, event: NewAuthEvent, only: SQL) {
  return db.execute(insertEventWhereSql(event, only))
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
 * An event as SQL for a CTE of a larger statement (`recorded as (...)`): inserted only
 * `where` the condition holds, so a change and the row that audits it (or the one that
 * audits its refusal) are decided by one statement. With `from`, a CTE whose one row has the
 * `user_id` and `org_id` the event is about (found by the statement, not known before it).
 */
export function insertEventWhereSql(event: NewAuthEvent, where: SQL, from?: SQL): SQL {
  const detail = event.detail === null || event.detail === undefined ? sql`null::jsonb` : sql`${JSON.stringify(event.detail)}::jsonb`
  const who = from ? sql`user_id, org_id` : sql`${event.userId ?? null}::uuid, ${event.orgId ?? null}::uuid`
  return sql`
    insert into ${authEvents} (created_at, type, outcome, user_id, org_id, ip, user_agent, detail)
    select ${event.createdAt!.toISOString()}::timestamptz, ${event.type}::text, ${event.outcome}::text, ${who},
      ${event.ip ?? null}::text, ${event.userAgent ?? null}::text, ${detail}
    ${from ? sql`from ${from}` : sql``} where ${where}`
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

/** An event recorded with a change: only if it changed rows, and with their count in its detail. */
export interface EventOfChange {
  event: NewAuthEvent
  /** Record the event only when a row changed. */
  only?: 'if-changed'
  /** Adds the number of changed rows to the event's detail under this name. */
  countAs?: string
}

/**
 * A change (`update ... returning`, as SQL) and its events in one statement, one round trip;
 * its one row is `changed`, the number of changed rows. The events are written in the order
 * given. A statement, for a batch: `changeWithEvent` runs one.
 */
export function changeWithEventsStatement(db: Database, change: SQL, events: EventOfChange[]) {
  const rows = events.map(({ event, only, countAs }, i) => {
    const detail = sql`${JSON.stringify(event.detail ?? {})}::jsonb`
    const withCount = countAs ? sql`${detail} || jsonb_build_object(${countAs}::text, (select count(*) from changed))` : detail
    return sql`select ${i}::int as ord, ${event.createdAt!.toISOString()}::timestamptz as created_at, ${event.type}::text as type,
        ${event.outcome}::text as outcome, ${event.userId ?? null}::uuid as user_id, ${event.orgId ?? null}::uuid as org_id,
        ${event.ip ?? null}::text as ip, ${event.userAgent ?? null}::text as user_agent,
        ${(event.detail === null || event.detail === undefined) && !countAs ? sql`null::jsonb` : withCount} as detail
      ${only === 'if-changed' ? sql`where exists (select 1 from changed)` : sql``}`
  })
  return db.execute(sql`
    with changed as (${change}), recorded as (
      insert into ${authEvents} (created_at, type, outcome, user_id, org_id, ip, user_agent, detail)
      select created_at, type, outcome, user_id, org_id, ip, user_agent, detail
      from (${sql.join(rows, sql` union all `)}) e order by ord
    )
    select count(*)::int as changed from changed`)
}

/** A change and its event in one statement, one round trip. Returns the number of changed rows. */
export async function changeWithEvent(
  db: Database,
  change: SQL,
  event: NewAuthEvent,
  options: { only?: 'if-changed'; countAs?: string } = {},
): Promise<number> {
  return changedCount(await changeWithEventsStatement(db, change, [{ event, ...options }]))
}

/** The number of changed rows in the answer of `changeWithEventsStatement`. */
export const changedCount = (result: unknown) => rowsOf<{ changed: number }>(result)[0]!.changed
