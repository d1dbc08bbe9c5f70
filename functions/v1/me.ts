import * as z from 'zod/mini'
import { endpoint } from '../http/endpoint'
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
  (c) => {
    const { principal, claims } = c.var.auth
    return ok(c, {
      id: principal.userId,
      name: principal.fullName,
      email: principal.email,
      business_id: principal.orgId,
      scopes: claims.scopes,
      two_factor_enabled: principal.twoFactorEnabled,
    })
  },
)
