import { deleteUserPasskey } from '../core/passkeys'
import { endpoint } from '../http/endpoint'
import { uuidParam } from '../http/params'
import { services } from '../http/respond'

// DELETE /api/v1/auth/passkeys/:id
export const deletePasskeyEndpoint = endpoint(
  {
    summary: 'Delete one of the caller’s passkeys',
    description: 'Refused (409 last_sign_in_method) when the account has no password, no OAuth identity and no other passkey.',
    auth: 'profile:write',
    responses: {
      204: { description: 'Deleted' },
      404: { description: 'No such passkey of the caller' },
      409: { description: 'last_sign_in_method' },
    },
  },
  async (c) => {
    await deleteUserPasskey(services(c), c.var.auth.principal, uuidParam(c, 'id', 'Passkey'))
    return c.body(null, 204)
  },
)
