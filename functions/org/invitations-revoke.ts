import { revoke } from '../core/invitations'
import { endpoint } from '../http/endpoint'
import { uuidParam } from '../http/params'
import { services } from '../http/respond'

// DELETE /api/v1/org/invitations/:id
export const revokeInvitationEndpoint = endpoint(
  {
    summary: 'Revoke an invitation (owner, admin)',
    description: 'Its link stops working at once. 409 if it was already accepted; 403 for an invitation to a role above the caller’s.',
    auth: 'invitations:write',
    responses: { 204: { description: 'Revoked' } },
  },
  async (c) => {
    await revoke(services(c), c.var.auth.principal, uuidParam(c, 'id', 'Invitation'))
    return c.body(null, 204)
  },
)
