import { endSession } from '../core/sessions'
import { operation } from '../http/endpoint'
import { services } from '../http/respond'

// POST /api/v1/auth/logout (and /v1: v1/routes.ts)
export const logout = operation(
  {
    summary: 'End the current session',
    description: "The session's access and refresh tokens stop working at once.",
    responses: { 204: { description: 'Logged out' } },
  },
  async (c) => {
    const { principal } = c.var.auth
    await endSession(services(c), principal, principal.sessionId, 'logout')
  },
  (c) => c.body(null, 204),
)
