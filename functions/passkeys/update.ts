import * as z from 'zod/mini'
import { renameUserPasskey } from '../core/passkeys'
import { endpoint } from '../http/endpoint'
import { uuidParam } from '../http/params'
import { services } from '../http/respond'
import { passkeyName, passkeyResult } from './schemas'

// PATCH /api/v1/auth/passkeys/:id
export const renamePasskeyEndpoint = endpoint(
  {
    summary: 'Rename one of the caller’s passkeys',
    auth: 'profile:write',
    body: z.object({ name: passkeyName }),
    responses: { 200: { description: 'The passkey', schema: passkeyResult }, 404: { description: 'No such passkey of the caller' } },
  },
  async (c) => {
    const id = uuidParam(c, 'id', 'Passkey')
    return c.json(await renameUserPasskey(services(c), c.var.auth.principal, id, c.req.valid('json').name))
  },
)
