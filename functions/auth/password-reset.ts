import * as z from 'zod/mini'
import { resetPassword } from '../core/password-reset'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { opaqueToken, password } from '../http/schemas'

// POST /api/v1/auth/password/reset
export const resetPasswordEndpoint = endpoint(
  {
    summary: 'Set a new password with the token from the reset mail',
    description: 'Every session of the user ends. 400 `email_token_invalid` when the token is unknown, expired or used.',
    auth: false,
    body: z.object({ token: opaqueToken, password }),
    responses: { 204: { description: 'Password changed; all sessions ended' } },
  },
  async (c) => {
    const { token, password } = c.req.valid('json')
    await resetPassword(services(c), token, password)
    return c.body(null, 204)
  },
)
