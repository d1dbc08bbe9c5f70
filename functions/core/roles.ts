import type { Role } from '../../db/schema'

/**
 * What each role may do. Tokens carry the scopes of the role at issue time; routes declare
 * the scope they need (http/auth.ts `requireScope`).
 */
export const ROLE_SCOPES: Record<Role, readonly string[]> = {
  owner: ['profile:read', 'profile:write', 'org:read', 'members:read', 'members:write', 'invitations:write', 'org:manage'],
  admin: ['profile:read', 'profile:write', 'org:read', 'members:read', 'members:write', 'invitations:write'],
  member: ['profile:read', 'profile:write', 'org:read'],
}

export const scopesFor = (role: Role): string[] => [...ROLE_SCOPES[role]]

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 }

/** Nobody grants a role above their own. */
export const canGrant = (granter: Role, role: Role) => RANK[role] <= RANK[granter]
