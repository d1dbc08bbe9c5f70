import * as z from 'zod/mini'
import type { Context } from 'hono'
import { EVENTS_PAGE_DEFAULT, EVENTS_PAGE_MAX, eventsPage, selectEventsPage } from '../core/audit'
import { validationFailed } from '../core/errors'
import type { FieldError } from '../core/errors'
import { endpoint } from '../http/endpoint'

const event = z.object({
  type: z.string(),
  outcome: z.string(),
  created_at: z.iso.datetime(),
  ip: z.nullable(z.string()),
  user_agent: z.nullable(z.string()),
  organization_id: z.nullable(z.uuid()),
  detail: z.nullable(z.record(z.string(), z.unknown())),
})

function pageOf(c: Context) {
  const errors: FieldError[] = []
  const limitParam = c.req.query('limit')
  const cursor = c.req.query('cursor')
  const limit = limitParam === undefined ? EVENTS_PAGE_DEFAULT : Number(limitParam)
  if (!/^\d+$/.test(limitParam ?? '1') || limit < 1 || limit > EVENTS_PAGE_MAX)
    errors.push({ field: 'limit', message: `must be a whole number from 1 to ${EVENTS_PAGE_MAX}` })
  if (cursor !== undefined && !/^\d{1,18}$/.test(cursor)) errors.push({ field: 'cursor', message: 'is not a cursor from this API' })
  if (errors.length) throw validationFailed(errors)
  return { limit, cursor }
}

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
    reads: (db, { userId }, c) => [selectEventsPage(db, userId, pageOf(c))],
    query: {
      limit: { description: 'Events per page', schema: { type: 'integer', minimum: 1, maximum: EVENTS_PAGE_MAX, default: EVENTS_PAGE_DEFAULT } },
      cursor: { description: 'The `next_cursor` of the previous page', schema: { type: 'string' } },
    },
    responses: {
      200: { description: 'A page of events', schema: z.object({ events: z.array(event), next_cursor: z.nullable(z.string()) }) },
    },
  },
  (c, [rows]) => {
    const page = eventsPage(rows, pageOf(c))
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
