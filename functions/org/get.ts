import { loadOrganization } from '../core/organizations'
import { endpoint } from '../http/endpoint'
import { organization, organizationBody } from './schemas'

// GET /api/v1/org
export const getOrganization = endpoint(
  {
    summary: 'The caller’s organization',
    auth: 'org:read',
    responses: { 200: { description: 'The organization', schema: organization } },
  },
  async (c) => c.json(organizationBody(await loadOrganization(c.var.db, c.var.auth.principal.orgId))),
)
