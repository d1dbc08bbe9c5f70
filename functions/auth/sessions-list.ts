import * as z from 'zod/mini'
import { listLiveSessions } from '../../db/queries/sessions'
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

// GET /api/v1/auth/sessions
export const listSessions = endpoint(
  {
    summary: 'The caller’s live sessions',
    description:
      '`last_used_at` is when the session signed in or last refreshed its tokens (not every request: that would ' +
      'make every read a write). `expires_at` is the absolute end of the session, which refreshing never extends.',
    auth: 'profile:read',
    // The list is read with the session check, in its round trip: one in all.
    reads: (db, caller, c) => [listLiveSessions(db, caller.userId, c.var.now())],
    responses: { 200: { description: 'Live sessions, most recently used first', schema: z.array(sessionItem) } },
  },
  (c, [rows]) => {
    const { sessionId } = c.var.auth.principal
    return c.json(
      rows.map((row) => ({
        id: row.id,
        created_at: row.createdAt.toISOString(),
        last_used_at: row.lastUsedAt.toISOString(),
        expires_at: row.expiresAt.toISOString(),
        user_agent: row.userAgent,
        ip: row.ip,
        current: row.id === sessionId,
      })),
      200,
      { 'Cache-Control': 'no-store' },
    )
  },
)
