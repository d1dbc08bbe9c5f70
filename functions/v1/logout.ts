import * as z from 'zod/mini'
import { revokeSession } from '../../db/queries/sessions'
import { endpoint } from '../http/endpoint'
import { ok } from './envelope'

// POST /v1/logout
export const v1Logout = endpoint(
  {
    summary: 'End the current session (the /v1 dialect)',
    responses: { 200: { description: 'Logged out', schema: z.object({ message: z.string() }) } },
  },
  async (c) => {
    await revokeSession(c.var.db, c.var.auth.principal.sessionId, c.var.now())
    return ok(c, { message: 'Logged out.' })
  },
)
