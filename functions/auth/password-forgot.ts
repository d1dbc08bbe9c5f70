import * as z from 'zod/mini'
import { requestPasswordReset } from '../core/password-reset'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { email } from '../http/schemas'

// POST /api/v1/auth/password/forgot
export const forgotPassword = endpoint(
  {
    summary: 'Mail a password-reset link',
    description: 'Always 202, whether or not the email has an account. The link works once and expires in an hour.',
    auth: false,
    body: z.object({ email }),
    responses: { 202: { description: 'If the account exists, the mail is on its way' } },
  },
  async (c) => {
    await requestPasswordReset(services(c), c.req.valid('json').email)
    return c.body(null, 202)
  },
)
