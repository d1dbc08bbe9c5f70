import * as z from 'zod/mini'
import { changePassword } from '../core/password-change'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { anyPassword, password } from '../http/schemas'

// POST /api/v1/auth/password
export const changePasswordEndpoint = endpoint(
  {
    summary: 'Change the caller’s password',
    description:
      'Needs the current password (a wrong one counts toward the account lock, like a failed login). ' +
      'Every other session of the user ends in the same transaction; the calling session stays signed in.',
    auth: 'profile:write',
    body: z.object({ current_password: anyPassword, new_password: password }),
    responses: { 204: { description: 'Changed' }, 429: { description: 'Too many wrong passwords: the account is locked for now' } },
  },
  async (c) => {
    const { current_password, new_password } = c.req.valid('json')
    await changePassword(services(c), c.var.auth.principal, current_password, new_password)
    return c.body(null, 204)
  },
)
