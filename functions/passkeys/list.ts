import * as z from 'zod/mini'
import { listUserPasskeys } from '../core/passkeys'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { passkeyResult } from './schemas'

// GET /api/v1/auth/passkeys
export const listPasskeysEndpoint = endpoint(
  {
    summary: 'The caller’s passkeys, newest first',
    auth: 'profile:read',
    responses: { 200: { description: 'Passkeys', schema: z.object({ passkeys: z.array(passkeyResult) }) } },
  },
  async (c) => c.json({ passkeys: await listUserPasskeys(services(c), c.var.auth.principal.userId) }),
)
