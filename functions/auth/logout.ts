import { revokeSession } from '../../db/queries/sessions'
import { endpoint } from '../http/endpoint'

// POST /api/v1/auth/logout
export const logout = endpoint(
  {
    summary: 'End the current session',
    description: "The session's access and refresh tokens stop working at once.",
    responses: { 204: { description: 'Logged out' } },
  },
  async (c) => {
    await revokeSession(c.var.db, c.var.auth.principal.sessionId, c.var.now())
    return c.body(null, 204)
  },
)
