import * as z from 'zod/mini'
import { changePassword, passwordChangeReads } from '../core/password-change'
import { bodyOf } from '../http/body'
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
    // The attempt admitted and the account read with the session check, for a valid body only.
    reads: (db, caller, c) => passwordChangeReads({ db, config: c.var.config, now: c.var.now() }, caller, bodyOf(c) !== undefined),
    readsBody: true,
    body: z.object({ current_password: anyPassword, new_password: password }),
    responses: { 204: { description: 'Changed' }, 429: { description: 'Too many wrong passwords: the account is locked for now' } },
  },
  async (c, reads) => {
    const { current_password, new_password } = c.req.valid('json')
    await changePassword(services(c), c.var.auth.principal, current_password, new_password, reads)
    return c.body(null, 204)
  },
)
