import * as z from 'zod/mini'
import { roles } from '../../db/schema'
import { everyoneInOrganization } from '../core/people'
import { endpoint } from '../http/endpoint'
import { ok } from './envelope'

// GET /v1/people
export const v1People = endpoint(
  {
    summary: 'The people of the caller’s business (the /v1 dialect)',
    auth: 'members:read',
    reads: everyoneInOrganization,
    responses: {
      200: {
        description: 'Every user of the business',
        schema: z.array(
          z.object({ id: z.uuid(), name: z.string(), email: z.string(), role: z.enum(roles), is_active: z.boolean() }),
        ),
      },
    },
  },
  (c, [people]) =>
    ok(
      c,
      people.map((m) => ({ id: m.userId, name: m.fullName, email: m.email, role: m.role, is_active: m.isActive })),
    ),
)
