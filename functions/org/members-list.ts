import { countMembers, listMembers } from '../../db/queries/organizations'
import { endpoint } from '../http/endpoint'
import { PAGE_QUERY, pageParams } from '../http/params'
import { member, memberBody, page } from './schemas'

// GET /api/v1/org/members
export const listOrganizationMembers = endpoint(
  {
    summary: 'The organization’s members with their roles',
    description: 'Paginated with `?limit=` (1–100, default 50) and `?offset=`, oldest member first.',
    auth: 'members:read',
    // With the session check, in its round trip: one in all.
    reads: (db, { orgId }, c) => {
      const p = pageParams(c)
      return [listMembers(db, orgId, p), countMembers(db, orgId)]
    },
    query: PAGE_QUERY,
    responses: { 200: { description: 'A page of members', schema: page(member) } },
  },
  (c, [rows, [total]]) => c.json({ items: rows.map(memberBody), total: total?.n ?? 0, ...pageParams(c) }),
)
