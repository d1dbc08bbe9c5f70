import { and, count, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm'
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
  /** The inviter's address is unproven: not mailed, not acceptable, until they verify it. */
  held?: boolean
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
        held: i.held ?? false,
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

/**
 * Revokes an invitation of the organization that is not accepted yet, of a role in
 * `grantable` (the revoker's right to grant it); undefined when there is none.
 */
export async function revokeInvitation(
  db: Database,
  orgId: string,
  id: string,
  grantable: readonly Role[],
  now: Date,
): Promise<Invitation | undefined> {
  const [row] = await db
    .update(invitations)
    .set({ revokedAt: now })
    .where(
      and(
        eq(invitations.orgId, orgId),
        eq(invitations.id, id),
        inArray(invitations.role, [...grantable]),
        isNull(invitations.acceptedAt),
        isNull(invitations.revokedAt),
      ),
    )
    .returning()
  return row
}

/** The user's held invitations that are still pending, with their organization's name. */
export async function heldInvitationsOf(db: Database, userId: string, now: Date) {
  return db
    .select({ invitation: invitations, orgName: organizations.name })
    .from(invitations)
    .innerJoin(organizations, eq(organizations.id, invitations.orgId))
    .where(and(eq(invitations.invitedBy, userId), eq(invitations.held, true), pending(now)))
}

/**
 * Releases held invitations with their new token hashes and a fresh expiry, in one
 * statement; returns those released (one released concurrently is not released twice).
 */
export async function releaseInvitations(
  db: Database,
  released: { id: string; tokenHash: string }[],
  expiresAt: Date,
): Promise<Invitation[]> {
  if (released.length === 0) return []
  const values = sql.join(
    released.map((r) => sql`(${r.id}::uuid, ${r.tokenHash})`),
    sql`, `,
  )
  return db
    .update(invitations)
    .set({ tokenHash: sql`v.token_hash`, held: false, expiresAt })
    .from(sql`(values ${values}) as v(id, token_hash)`)
    .where(and(sql`${invitations.id} = v.id`, eq(invitations.held, true)))
    .returning()
}

/** Revokes the user's held invitations: whoever held the password before a reset made them. */
export async function revokeHeldInvitations(db: Database, userId: string, now: Date): Promise<void> {
  await db
    .update(invitations)
    .set({ revokedAt: now })
    .where(and(eq(invitations.invitedBy, userId), eq(invitations.held, true), pending(now)))
}

/**
 * The inviter still has the right to grant the invitation's role in its organization:
 * still a member there, active, and an owner (any role) or an admin (admin, member).
 * An invitation whose inviter was removed (invited_by set null), deactivated or demoted dies.
 */
const inviterMayGrant = sql`exists (
  select 1 from ${memberships} m join ${users} u on u.id = m.user_id
  where m.user_id = ${invitations.invitedBy} and m.org_id = ${invitations.orgId} and u.is_active
    and (m.role = 'owner' or (m.role = 'admin' and ${invitations.role} <> 'owner')))`

export type AcceptResult = { kind: 'accepted'; account: Account } | { kind: 'invalid' } | { kind: 'email_taken' }

/**
 * Spends an invitation and creates its user and membership, in one transaction (with
 * `within`'s rows, the audit row: all of it or none). A held
 * invitation, or one whose inviter lost the right to grant its role, is not spendable. The
 * conditional UPDATE is what makes the token single-use: of two concurrent accepts, one
 * finds the row still pending. When the email is taken, everything rolls back and the
 * invitation stays pending.
 */
export async function acceptInvitation(
  db: Database,
  a: { tokenHash: string; fullName: string; passwordHash: string; now: Date },
  within?: (tx: Database, account: Account, invitation: Invitation) => Promise<void>,
): Promise<AcceptResult> {
  try {
    return await transaction(db, async (tx): Promise<AcceptResult> => {
      const [invitation] = await tx
        .update(invitations)
        .set({ acceptedAt: a.now })
        .where(and(eq(invitations.tokenHash, a.tokenHash), pending(a.now), eq(invitations.held, false), inviterMayGrant))
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
      const account: Account = { user: user!, org: org!, role: invitation.role }
      await within?.(tx, account, invitation)
      return { kind: 'accepted', account }
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
