import type { Context } from 'hono'
import * as z from 'zod/mini'
import { EVENTS_PAGE_DEFAULT, EVENTS_PAGE_MAX, eventsPage, selectEventsPage } from '../core/audit'
import { endpoint } from '../http/endpoint'
import { cursorPageParams } from '../http/params'

const event = z.object({
  type: z.string(),
  outcome: z.string(),
  created_at: z.iso.datetime(),
  ip: z.nullable(z.string()),
  user_agent: z.nullable(z.string()),
  organization_id: z.nullable(z.uuid()),
  detail: z.nullable(z.record(z.string(), z.unknown())),
})

const eventsPageOf = (c: Context) => cursorPageParams(c, { defaultLimit: EVENTS_PAGE_DEFAULT, maxLimit: EVENTS_PAGE_MAX })

// GET /api/v1/auth/events?limit=&cursor=
export const listEventsEndpoint = endpoint(
  {
    summary: 'The caller’s own authentication events',
    description:
      `Newest first. \`limit\` (1–${EVENTS_PAGE_MAX}, default ${EVENTS_PAGE_DEFAULT}) events per page; pass the ` +
      '`next_cursor` of a page as `cursor` for the next one (null on the last page). The cursor is opaque and stable: ' +
      'events recorded meanwhile do not shift the pages.',
    auth: 'profile:read',
    // With the session check, in its round trip.
    reads: (db, { userId }, c) => [selectEventsPage(db, userId, eventsPageOf(c))],
    query: {
      limit: { description: 'Events per page', schema: { type: 'integer', minimum: 1, maximum: EVENTS_PAGE_MAX, default: EVENTS_PAGE_DEFAULT } },
      cursor: { description: 'The `next_cursor` of the previous page', schema: { type: 'string' } },
    },
    responses: {
      200: { description: 'A page of events', schema: z.object({ events: z.array(event), next_cursor: z.nullable(z.string()) }) },
    },
  },
  (c, [rows]) => {
    const page = eventsPage(rows, eventsPageOf(c))
    return c.json(
      {
        events: page.events.map((e) => ({
          type: e.type,
          outcome: e.outcome,
          created_at: e.createdAt.toISOString(),
          ip: e.ip,
          user_agent: e.userAgent,
          organization_id: e.orgId,
          detail: e.detail as Record<string, unknown> | null,
        })),
        next_cursor: page.nextCursor,
      },
      200,
      { 'Cache-Control': 'no-store' },
    )
  },
)
