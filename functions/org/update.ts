import * as z from 'zod/mini'
import { renameOrganization } from '../../db/queries/organizations'
import { notFound } from '../core/errors'
import { endpoint } from '../http/endpoint'
import { name } from '../http/schemas'
import { organization, organizationBody } from './schemas'

// PATCH /api/v1/org
export const updateOrganization = endpoint(
  {
    summary: 'Rename the caller’s organization (owner)',
    auth: 'org:manage',
    body: z.object({ name }),
    responses: { 200: { description: 'The updated organization', schema: organization } },
  },
  async (c) => {
    const org = await renameOrganization(c.var.db, c.var.auth.principal.orgId, c.req.valid('json').name)
    if (!org) throw notFound('Organization')
    return c.json(organizationBody(org))
  },
)
