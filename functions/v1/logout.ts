import * as z from 'zod/mini'
import { endSession } from '../core/sessions'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { ok } from './envelope'

// POST /v1/logout
export const v1Logout = endpoint(
  {
    summary: 'End the current session (the /v1 dialect)',
    responses: { 200: { description: 'Logged out', schema: z.object({ message: z.string() }) } },
  },
  async (c) => {
    const { principal } = c.var.auth
    await endSession(services(c), principal, principal.sessionId, 'logout')
    return ok(c, { message: 'Logged out.' })
  },
)
