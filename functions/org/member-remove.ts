import { membershipReads, removeMember } from '../core/organizations'
import { endpoint } from '../http/endpoint'
import { uuidParam } from '../http/params'
import { services } from '../http/respond'

// DELETE /api/v1/org/members/:user_id
export const removeOrganizationMember = endpoint(
  {
    summary: 'Remove a member (owner, admin)',
    description:
      'Deletes the member’s account (an account belongs to one organization); their tokens get 401 at once. ' +
      'The last active owner cannot be removed (409).',
    auth: 'members:write',
    // Who is asking and whom it is about, with the session check: the removal is then one more trip.
    reads: (db, caller, c) => membershipReads(db, caller, uuidParam(c, 'user_id', 'Member')),
    responses: { 204: { description: 'Removed' } },
  },
  async (c, reads) => {
    const { userId, orgId } = c.var.auth.principal
    await removeMember(services(c), { userId, orgId }, uuidParam(c, 'user_id', 'Member'), reads)
    return c.body(null, 204)
  },
)
