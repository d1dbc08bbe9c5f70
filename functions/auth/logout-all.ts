import { endAllSessions } from '../core/sessions'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'

// POST /api/v1/auth/logout-all
export const logoutAll = endpoint(
  {
    summary: 'End every session of the caller',
    description: 'The current session included: every access and refresh token of the user stops working at once.',
    responses: { 204: { description: 'Logged out everywhere' } },
  },
  async (c) => {
    await endAllSessions(services(c), c.var.auth.principal)
    return c.body(null, 204)
  },
)
