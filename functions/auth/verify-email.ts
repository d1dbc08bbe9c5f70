import * as z from 'zod/mini'
import { verifyEmail } from '../core/email-verification'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { opaqueToken } from '../http/schemas'

// POST /api/v1/auth/verify-email
export const verifyEmailEndpoint = endpoint(
  {
    summary: 'Confirm an email address with the token from the verification mail',
    description: 'The token works once and expires (48 hours). 400 `email_token_invalid` otherwise.',
    auth: false,
    body: z.object({ token: opaqueToken }),
    responses: {
      200: { description: 'Verified', schema: z.object({ user_id: z.uuid(), email: z.string(), is_verified: z.literal(true) }) },
    },
  },
  async (c) => {
    const user = await verifyEmail(services(c), c.req.valid('json').token)
    return c.json({ user_id: user.id, email: user.email, is_verified: true as const })
  },
)
