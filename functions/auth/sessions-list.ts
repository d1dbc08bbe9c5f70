import type { Context } from 'hono'
import * as z from 'zod/mini'
import { listLiveSessions, listLiveSessionsPage } from '../../db/queries/sessions'
import { validationFailed } from '../core/errors'
import type { FieldError } from '../core/errors'
import { endpoint } from '../http/endpoint'

const sessionItem = z.object({
  id: z.uuid(),
  created_at: z.iso.datetime(),
  last_used_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  user_agent: z.nullable(z.string()),
  ip: z.nullable(z.string()),
  current: z.boolean(),
})

export const SESSIONS_PAGE_MAX = 100

// A cursor names the last session of a page: its last_used_at (ms) and id.
const CURSOR = /^(\d{1,15})_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/

// GET /api/v1/auth/sessions[?limit=&cursor=]
export const listSessions = endpoint(
  {
    summary: 'The caller’s live sessions',
    description:
      '`last_used_at` is when the session signed in or last refreshed its tokens (not every request: that would ' +
      'make every read a write). `expires_at` is the absolute end of the session, which refreshing never extends. ' +
      `Without query parameters: every live session, as an array. With \`limit\` (1–${SESSIONS_PAGE_MAX}) or \`cursor\`: ` +
      '`{sessions, next_cursor}`, one page; pass `next_cursor` as `cursor` for the next (null on the last page).',
    auth: 'profile:read',
    // The list is read with the session check, in its round trip: one in all.
    reads: (db, { userId }, c) => {
      const paging = pagingOf(c)
      const now = c.var.now()
      return [paging ? listLiveSessionsPage(db, userId, now, { limit: paging.limit + 1, after: paging.after }) : listLiveSessions(db, userId, now)]
    },
    responses: {
      200: {
        description: 'Live sessions, most recently used first',
        schema: z.union([z.array(sessionItem), z.object({ sessions: z.array(sessionItem), next_cursor: z.nullable(z.string()) })]),
      },
    },
  },
  (c, [rows]) => {
    const { sessionId } = c.var.auth.principal
    const view = (row: (typeof rows)[number]) => ({
      id: row.id,
      created_at: row.createdAt.toISOString(),
      last_used_at: row.lastUsedAt.toISOString(),
      expires_at: row.expiresAt.toISOString(),
      user_agent: row.userAgent,
      ip: row.ip,
      current: row.id === sessionId,
    })
    const paging = pagingOf(c)
    if (!paging) return c.json(rows.map(view), 200, { 'Cache-Control': 'no-store' })
    const page = rows.slice(0, paging.limit)
    const last = page[page.length - 1]
    const next = rows.length > paging.limit && last ? `${last.lastUsedAt.getTime()}_${last.id}` : null
    return c.json({ sessions: page.map(view), next_cursor: next }, 200, { 'Cache-Control': 'no-store' })
  },
)

/** Undefined without `limit` and `cursor` (every live session); else the page asked for, checked. */
function pagingOf(c: Context) {
  const limitParam = c.req.query('limit')
  const cursor = c.req.query('cursor')
  if (limitParam === undefined && cursor === undefined) return undefined
  const errors: FieldError[] = []
  const limit = limitParam === undefined ? SESSIONS_PAGE_MAX : Number(limitParam)
  if (!/^\d{1,3}$/.test(limitParam ?? '1') || limit < 1 || limit > SESSIONS_PAGE_MAX)
    errors.push({ field: 'limit', message: `must be a whole number from 1 to ${SESSIONS_PAGE_MAX}` })
  const at = cursor === undefined ? undefined : CURSOR.exec(cursor)
  if (at === null) errors.push({ field: 'cursor', message: 'is not a cursor from this API' })
  if (errors.length) throw validationFailed(errors)
  return { limit, after: at ? { lastUsedAt: new Date(Number(at[1])), id: at[2]! } : undefined }
}
