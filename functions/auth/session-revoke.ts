import { notFound } from '../core/errors'
import { endSession } from '../core/sessions'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

// DELETE /api/v1/auth/sessions/:id
export const revokeSessionEndpoint = endpoint(
  {
    summary: 'End one of the caller’s sessions',
    description: 'Its access and refresh tokens stop working at once. Another user’s session, or one already ended, is 404.',
    responses: { 204: { description: 'Ended' }, 404: { description: 'No such live session of the caller' } },
  },
  async (c) => {
    const id = c.req.param('id') ?? ''
    if (!UUID.test(id)) throw notFound('Session')
    await endSession(services(c), c.var.auth.principal, id.toLowerCase(), 'revoked')
    return c.body(null, 204)
  },
)
