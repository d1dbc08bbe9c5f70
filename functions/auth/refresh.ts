import * as z from 'zod/mini'
import { refreshSession } from '../core/sessions'
import { operation } from '../http/endpoint'
import { services, tokenResponse } from '../http/respond'
import { opaqueToken, tokenPair } from '../http/schemas'

// POST /api/v1/auth/refresh (and /v1: v1/routes.ts)
export const refresh = operation(
  {
    summary: 'Exchange a refresh token for new tokens',
    description: 'The refresh token is single-use. Presenting a spent one ends its whole session.',
    auth: false,
    body: z.object({ refresh_token: opaqueToken }),
    responses: {
      200: { description: 'A new token pair', schema: z.object({ ...tokenPair, session_id: z.uuid() }) },
      429: { description: 'Too many refreshes from this IP (Retry-After)' },
    },
  },
  (c) => refreshSession(services(c), c.req.valid('json').refresh_token),
  (c, t) =>
    tokenResponse(c, {
      access_token: t.accessToken,
      token_type: 'bearer',
      expires_in: t.expiresIn,
      refresh_token: t.refreshToken,
      session_id: t.sessionId,
    }),
)
