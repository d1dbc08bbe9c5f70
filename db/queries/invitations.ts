import { and, count, desc, eq, gt, isNull } from 'drizzle-orm'
import { batch, transaction } from '../client'
import type { Database } from '../client'
import { isUniqueViolation } from '../errors'
import { invitations, memberships, organizations, users } from '../schema'
import type { Role } from '../schema'
import type { Account } from './accounts'
import { normalizeEmail } from './accounts'

export type Invitation = typeof invitations.$inferSelect

export interface NewInvitation {
  orgId: string
  email: string
  role: Role
  tokenHash: string
  invitedBy: string
  now: Date
  expiresAt: Date
}

/** Inserts an invitation; earlier pending ones for the same email in the organization are revoked, so only the newest link works. */
export async function createInvitation(db: Database, i: NewInvitation): Promise<Invitation> {
  const emailNormalized = normalizeEmail(i.email)
  // One batch, one round trip: nothing between the two statements depends on the first.
  const [, [row]] = await batch(db, [
    db
      .update(invitations)
      .set({ revokedAt: i.now })
      .where(and(eq(invitations.orgId, i.orgId), eq(invitations.emailNormalized, emailNormalized), pending(i.now))),
    db
      .insert(invitations)
      .values({
        orgId: i.orgId,
        email: i.email.trim(),
        emailNormalized,
        role: i.role,
        tokenHash: i.tokenHash,
        invitedBy: i.invitedBy,
        createdAt: i.now,
        expiresAt: i.expiresAt,
      })
      .returning(),
  ])
  return row!
}

const pending = (now: Date) =>
  and(isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, now))

/** For a mail that could not be sent: the invitation never existed. */
export async function deleteInvitation(db: Database, id: string): Promise<void> {
  await db.delete(invitations).where(eq(invitations.id, id))
}

export function listInvitations(db: Database, orgId: string, page: { limit: number; offset: number }) {
  return db
    .select()
    .from(invitations)
    .where(eq(invitations.orgId, orgId))
    .orderBy(desc(invitations.createdAt), desc(invitations.id))
    .limit(page.limit)
    .offset(page.offset)
}

/** One row, `{ n }`: the organization's invitation count. */
export function countInvitations(db: Database, orgId: string) {
  return db.select({ n: count() }).from(invitations).where(eq(invitations.orgId, orgId))
}

export async function findInvitation(db: Database, orgId: string, id: string): Promise<Invitation | undefined> {
  const [row] = await db
    .select()
    .from(invitations)
    .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id)))
    .limit(1)
  return row
}

/** Revokes an invitation of the organization that is not accepted yet; undefined when there is none. */
export async function revokeInvitation(db: Database, orgId: string, id: string, now: Date): Promise<Invitation | undefined> {
  const [row] = await db
    .update(invitations)
    .set({ revokedAt: now })
    .where(and(eq(invitations.orgId, orgId), eq(invitations.id, id), isNull(invitations.acceptedAt), isNull(invitations.revokedAt)))
    .returning()
  return row
}

export type AcceptResult = { kind: 'accepted'; account: Account } | { kind: 'invalid' } | { kind: 'email_taken' }

/**
 * Spends an invitation and creates its user and membership, in one transaction. The
 * conditional UPDATE is what makes the token single-use: of two concurrent accepts, one
 * finds the row still pending. When the email is taken, everything rolls back and the
 * invitation stays pending.
 */
export async function acceptInvitation(
  db: Database,
  a: { tokenHash: string; fullName: string; passwordHash: string; now: Date },
): Promise<AcceptResult> {
  try {
    return await transaction(db, async (tx): Promise<AcceptResult> => {
      const [invitation] = await tx
        .update(invitations)
        .set({ acceptedAt: a.now })
        .where(and(eq(invitations.tokenHash, a.tokenHash), pending(a.now)))
        .returning()
      if (!invitation) return { kind: 'invalid' }
      const [user] = await tx
        .insert(users)
        .values({
          email: invitation.email,
          emailNormalized: invitation.emailNormalized,
          fullName: a.fullName,
          passwordHash: a.passwordHash,
          // The invitation reached this mailbox: the address is proven.
          isVerified: true,
        })
        .returning()
      await tx.insert(memberships).values({ userId: user!.id, orgId: invitation.orgId, role: invitation.role })
      const [org] = await tx
        .select({ id: organizations.id, name: organizations.name })
        .from(organizations)
        .where(eq(organizations.id, invitation.orgId))
      return { kind: 'accepted', account: { user: user!, org: org!, role: invitation.role } }
    })
  } catch (error) {
    if (isUniqueViolation(error)) return { kind: 'email_taken' }
    throw error
  }
}

export async function findInvitationByToken(db: Database, tokenHash: string): Promise<Invitation | undefined> {
  const [row] = await db.select().from(invitations).where(eq(invitations.tokenHash, tokenHash)).limit(1)
  return row
}
