import * as z from 'zod/mini'
import { updateFullName } from '../../db/queries/accounts'
import type { Principal } from '../../db/queries/sessions'
import { endpoint } from '../http/endpoint'
import { name, profile } from '../http/schemas'

// The principal that requireAuth loaded for this request already holds the whole profile:
// answering from it keeps /me at one query.
const profileBody = (p: Principal) => ({
  id: p.userId,
  email: p.email,
  full_name: p.fullName,
  is_active: p.isActive,
  is_verified: p.isVerified,
  oauth_provider: p.oauthProvider,
  organization_id: p.orgId,
  organization_name: p.orgName,
  created_at: p.createdAt.toISOString(),
})

// GET /api/v1/auth/me
export const getMe = endpoint(
  { summary: 'The caller’s profile', auth: 'profile:read', responses: { 200: { description: 'Profile', schema: profile } } },
  (c) => c.json(profileBody(c.var.auth.principal)),
)

// PATCH /api/v1/auth/me
export const patchMe = endpoint(
  {
    summary: 'Update the caller’s profile',
    auth: 'profile:write',
    body: z.object({ full_name: name }),
    responses: { 200: { description: 'The updated profile', schema: profile } },
  },
  async (c) => {
    const { principal } = c.var.auth
    const fullName = c.req.valid('json').full_name
    await updateFullName(c.var.db, principal.userId, fullName, c.var.now())
    return c.json(profileBody({ ...principal, fullName }))
  },
)
