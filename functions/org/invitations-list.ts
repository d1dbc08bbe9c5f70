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
    // With the session check, in its round trip.
    reads: (db, { orgId }, c) => {
      const p = pageParams(c)
      return [listInvitations(db, orgId, p), countInvitations(db, orgId)]
    },
    query: PAGE_QUERY,
    responses: { 200: { description: 'A page of invitations', schema: page(invitation) } },
  },
  (c, [rows, [total]]) => {
    const now = c.var.now()
    return c.json({ items: rows.map((i) => invitationBody(i, now)), total: total?.n ?? 0, ...pageParams(c) })
  },
)
