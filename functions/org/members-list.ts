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
    query: PAGE_QUERY,
    responses: { 200: { description: 'A page of members', schema: page(member) } },
  },
  async (c) => {
    const { orgId } = c.var.auth.principal
    const p = pageParams(c)
    const [rows, total] = await Promise.all([listMembers(c.var.db, orgId, p), countMembers(c.var.db, orgId)])
    return c.json({ items: rows.map(memberBody), total, ...p })
  },
)
