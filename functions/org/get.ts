import { selectOrganization } from '../../db/queries/organizations'
import { notFound } from '../core/errors'
import { endpoint } from '../http/endpoint'
import { organization, organizationBody } from './schemas'

// GET /api/v1/org
export const getOrganization = endpoint(
  {
    summary: 'The caller’s organization',
    auth: 'org:read',
    // With the session check, in its round trip.
    reads: (db, { orgId }) => [selectOrganization(db, orgId)],
    responses: { 200: { description: 'The organization', schema: organization } },
  },
  (c, [[org]]) => {
    if (!org) throw notFound('Organization')
    return c.json(organizationBody(org))
  },
)
