import * as z from 'zod/mini'
import type { Invitation } from '../../db/queries/invitations'
import type { Member, Organization } from '../../db/queries/organizations'
import { roles } from '../../db/schema'
import { invitationStatus } from '../core/invitations'

// The shapes of the organization endpoints, and the one place each row becomes a body.

export const role = z.enum(roles)

export const organization = z.object({ id: z.uuid(), name: z.string(), created_at: z.iso.datetime() })

export const organizationBody = (org: Organization) => ({ id: org.id, name: org.name, created_at: org.createdAt.toISOString() })

export const member = z.object({
  user_id: z.uuid(),
  email: z.string(),
  full_name: z.string(),
  role,
  is_active: z.boolean(),
  is_verified: z.boolean(),
  joined_at: z.iso.datetime(),
})

export const memberBody = (m: Member) => ({
  user_id: m.userId,
  email: m.email,
  full_name: m.fullName,
  role: m.role,
  is_active: m.isActive,
  is_verified: m.isVerified,
  joined_at: m.joinedAt.toISOString(),
})

export const invitation = z.object({
  id: z.uuid(),
  email: z.string(),
  role,
  status: z.enum(['pending', 'accepted', 'revoked', 'expired']),
  invited_by: z.nullable(z.uuid()),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  accepted_at: z.nullable(z.iso.datetime()),
  revoked_at: z.nullable(z.iso.datetime()),
  /** Not mailed and not acceptable yet: the inviter's address is unverified. Mailed when they verify it. */
  held: z.boolean(),
})

export const invitationBody = (i: Invitation, now: Date) => ({
  id: i.id,
  email: i.email,
  role: i.role,
  status: invitationStatus(i, now),
  invited_by: i.invitedBy,
  created_at: i.createdAt.toISOString(),
  expires_at: i.expiresAt.toISOString(),
  accepted_at: i.acceptedAt?.toISOString() ?? null,
  revoked_at: i.revokedAt?.toISOString() ?? null,
  held: i.held,
})

/** A page of a list: the items, and where it sits in the whole. */
export const page = <T extends z.ZodMiniType>(item: T) =>
  z.object({ items: z.array(item), total: z.number(), limit: z.number(), offset: z.number() })
