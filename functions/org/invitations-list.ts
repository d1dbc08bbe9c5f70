import { countInvitations, listInvitations } from '../../db/queries/invitations'
import { endpoint } from '../http/endpoint'
import { PAGE_QUERY, pageParams } from '../http/params'
import { invitation, invitationBody, page } from './schemas'

// GET /api/v1/org/invitations
export const listOrganizationInvitations = endpoint(
  {
    summary: 'The organization’s invitations, newest first (owner, admin)',
    description: 'Paginated with `?limit=` (1–100, default 50) and `?offset=`.',
    auth: 'invitations:read',
    query: PAGE_QUERY,
    responses: { 200: { description: 'A page of invitations', schema: page(invitation) } },
  },
  async (c) => {
    const { orgId } = c.var.auth.principal
    const p = pageParams(c)
    const now = c.var.now()
    const [rows, total] = await Promise.all([listInvitations(c.var.db, orgId, p), countInvitations(c.var.db, orgId)])
    return c.json({ items: rows.map((i) => invitationBody(i, now)), total, ...p })
  },
)
