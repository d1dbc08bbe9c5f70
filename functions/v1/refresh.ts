import * as z from 'zod/mini'
import { refreshSession } from '../core/sessions'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { opaqueToken } from '../http/schemas'
import { ok, v1Login } from './envelope'
import { v1LoginResult } from './schemas'

// POST /v1/refresh
export const v1Refresh = endpoint(
  {
    summary: 'Exchange a refresh token (the /v1 dialect)',
    auth: false,
    body: z.object({ refresh_token: opaqueToken }),
    responses: {
      200: { description: 'A new token pair', schema: v1LoginResult },
      429: { description: 'Too many refreshes from this IP (Retry-After)' },
    },
  },
  async (c) => {
    const s = services(c)
    const t = await refreshSession(s, c.req.valid('json').refresh_token)
    const { userId: id, fullName: name, email } = t.principal
    return ok(c, v1Login({ id, name, email }, t))
  },
)
