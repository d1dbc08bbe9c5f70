import * as z from 'zod/mini'
import { membershipReads, updateMember } from '../core/organizations'
import { endpoint } from '../http/endpoint'
import { uuidParam } from '../http/params'
import { services } from '../http/respond'
import { member, memberBody, role } from './schemas'

// PATCH /api/v1/org/members/:user_id
export const updateOrganizationMember = endpoint(
  {
    summary: 'Change a member’s role or active flag (owner, admin)',
    description:
      'Nobody grants a role above their own, manages a member above them, or changes their own role; the last active ' +
      'owner cannot be demoted or deactivated (409). Deactivating ends all of the member’s sessions: their tokens get 403.',
    auth: 'members:write',
    // Who is asking and whom it is about, with the session check: the change is then one more trip.
    reads: (db, caller, c) => membershipReads(db, caller, uuidParam(c, 'user_id', 'Member')),
    body: z
      .object({ role: z.optional(role), is_active: z.optional(z.boolean()) })
      .check(z.refine((b) => b.role !== undefined || b.is_active !== undefined, 'role or is_active is required')),
    responses: { 200: { description: 'The updated member', schema: member } },
  },
  async (c, reads) => {
    const body = c.req.valid('json')
    const { userId, orgId } = c.var.auth.principal
    const changes = { role: body.role, isActive: body.is_active }
    const updated = await updateMember(services(c), { userId, orgId }, uuidParam(c, 'user_id', 'Member'), changes, reads)
    return c.json(memberBody(updated))
  },
)
