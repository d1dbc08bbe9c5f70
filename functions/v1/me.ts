import * as z from 'zod/mini'
import { endpoint } from '../http/endpoint'
import { loadAccount } from '../auth/me'
import { ok } from './envelope'

// GET /v1/me
export const v1Me = endpoint(
  {
    summary: 'The caller (the /v1 dialect)',
    auth: 'profile:read',
    responses: {
      200: {
        description: 'The caller',
        schema: z.object({
          id: z.uuid(),
          name: z.string(),
          email: z.string(),
          business_id: z.uuid(),
          scopes: z.array(z.string()),
          two_factor_enabled: z.boolean(),
        }),
      },
    },
  },
  async (c) => {
    const { user, org } = await loadAccount(c.var.db, c.var.auth.principal.userId)
    return ok(c, {
      id: user.id,
      name: user.fullName,
      email: user.email,
      business_id: org.id,
      scopes: c.var.auth.claims.scopes,
      two_factor_enabled: user.totpEnabledAt !== null,
    })
  },
)
