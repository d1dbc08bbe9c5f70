import * as z from 'zod/mini'
import { findAccount, updateFullName } from '../../db/queries/accounts'
import type { Account } from '../../db/queries/accounts'
import type { Database } from '../../db/client'
import { notFound } from '../core/errors'
import { endpoint } from '../http/endpoint'
import { name, profile } from '../http/schemas'

export async function loadAccount(db: Database, userId: string): Promise<Account> {
  const account = await findAccount(db, userId)
  if (!account) throw notFound('User')
  return account
}

export const profileBody = ({ user, org }: Account) => ({
  id: user.id,
  email: user.email,
  full_name: user.fullName,
  is_active: user.isActive,
  is_verified: user.isVerified,
  oauth_provider: user.oauthProvider,
  organization_id: org.id,
  organization_name: org.name,
  created_at: user.createdAt.toISOString(),
})

// GET /api/v1/auth/me
export const getMe = endpoint(
  { summary: 'The caller’s profile', auth: 'profile:read', responses: { 200: { description: 'Profile', schema: profile } } },
  async (c) => c.json(profileBody(await loadAccount(c.var.db, c.var.auth.principal.userId))),
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
    const { userId } = c.var.auth.principal
    await updateFullName(c.var.db, userId, c.req.valid('json').full_name, c.var.now())
    return c.json(profileBody(await loadAccount(c.var.db, userId)))
  },
)
