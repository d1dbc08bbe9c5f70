import type { Role } from '../../db/schema'

/**
 * What each role may do. Tokens carry the scopes of the role at issue time; routes declare
 * the scope they need in their `endpoint({ auth: 'scope' })` spec (http/auth.ts `requireAuth`),
 * which also checks the caller's live role, so a demotion counts at once.
 *
 * | scope               | what it allows                                   | owner | admin | member |
 * |---------------------|--------------------------------------------------|-------|-------|--------|
 * | `profile:read`      | GET /auth/me, GET /v1/me                         | ✓     | ✓     | ✓      |
 * | `profile:write`     | PATCH /auth/me                                   | ✓     | ✓     | ✓      |
 * | `org:read`          | GET /org                                         | ✓     | ✓     | ✓      |
 * | `members:read`      | GET /org/members, GET /v1/people                 | ✓     | ✓     |        |
 * | `members:write`     | PATCH, DELETE /org/members/{id}                  | ✓     | ✓     |        |
 * | `invitations:read`  | GET /org/invitations                             | ✓     | ✓     |        |
 * | `invitations:write` | POST /org/invitations, DELETE /org/invitations/{id} | ✓  | ✓     |        |
 * | `org:manage`        | PATCH /org                                       | ✓     |       |        |
 *
 * Within members:write and invitations:write, `canGrant` adds the rank rule: nobody grants
 * a role above their own or manages someone above them.
 */
export const ROLE_SCOPES: Record<Role, readonly string[]> = {
  owner: [
    'profile:read',
    'profile:write',
    'org:read',
    'members:read',
    'members:write',
    'invitations:read',
    'invitations:write',
    'org:manage',
  ],
  admin: ['profile:read', 'profile:write', 'org:read', 'members:read', 'members:write', 'invitations:read', 'invitations:write'],
  member: ['profile:read', 'profile:write', 'org:read'],
}

export const scopesFor = (role: Role): string[] => [...ROLE_SCOPES[role]]

/** The roles whose scopes include `scope`. */
export const rolesGranting = (scope: string): Role[] => (Object.keys(ROLE_SCOPES) as Role[]).filter((role) => ROLE_SCOPES[role].includes(scope))

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 }

/** Nobody grants a role above their own (nor manages a member above them). */
export const canGrant = (granter: Role, role: Role) => RANK[role] <= RANK[granter]
