import { and, count, desc, eq, gt, inArray, isNull, ne, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import { required } from '../client'
import type { Database } from '../client'
import { invitations, memberships, organizations, users } from '../schema'
import type { Role } from '../schema'
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

/**
 * A new invitation, with the id the caller chose (statements, for a batch that decides in SQL
 * whether to write it): it is inserted only where `only` holds and no account holds its address (read by the insert
 * itself), and only then are the earlier pending ones revoked. `written` is the SQL condition
 * "it was inserted", for the statements after it (its mail, its audit row). The last
 * statement reads it back: no row when it was not written.
 */
export function createInvitationIf(db: Database, i: NewInvitation & { id: string }, only: SQL) {
  const emailNormalized = normalizeEmail(i.email)
  const written = sql`exists (select 1 from ${invitations} n where n.id = ${i.id}::uuid)`
  const statements = [
    db.execute(sql`
      insert into ${invitations} (id, org_id, email, email_normalized, role, token_hash, invited_by, held, created_at, expires_at)
      select ${i.id}::uuid, ${i.orgId}::uuid, ${i.email.trim()}::text, ${emailNormalized}::text, ${i.role}::text, ${i.tokenHash}::text,
        ${i.invitedBy}::uuid, ${i.held ?? false}::boolean, ${i.now.toISOString()}::timestamptz, ${i.expiresAt.toISOString()}::timestamptz
      where ${only} and not exists (select 1 from ${users} u where u.email_normalized = ${emailNormalized} and u.owns_email)`),
    db
      .update(invitations)
      .set({ revokedAt: i.now })
      .where(and(eq(invitations.orgId, i.orgId), eq(invitations.emailNormalized, emailNormalized), pending(i.now), ne(invitations.id, i.id), written)),
  ] as const
  return { statements, written, read: db.select().from(invitations).where(eq(invitations.id, i.id)).limit(1) }
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
 * `grantable` (the revoker's right to grant it), as SQL for `changeWithEvent`: the row it
 * revoked, none when there is no such invitation.
 */
export const revokeInvitationSql = (db: Database, orgId: string, id: string, grantable: readonly Role[], now: Date) =>
  db
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
    .returning({ id: invitations.id })
    .getSQL()

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
export function revokeHeldInvitations(db: Database, userId: string, now: Date) {
  return db
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

/**
 * The statements spending an invitation (read before, by its token) and creating its user
 * and membership, for the front of a batch. A held invitation, or one whose inviter lost the
 * right to grant its role, is not spendable. The conditional UPDATE is what makes the token
 * single-use: of two concurrent accepts, one finds the row still pending, and the other's
 * batch writes nothing (`allOrNothing` answers undefined). When the email is taken, the
 * unique index fails the batch and the invitation stays pending. The second result is the user.
 */
export function acceptInvitation(db: Database, a: { invitation: Invitation; userId: string; fullName: string; passwordHash: string; now: Date }) {
  const { invitation } = a
  return [
    required(
      db,
      db
        .update(invitations)
        .set({ acceptedAt: a.now })
        .where(and(eq(invitations.tokenHash, invitation.tokenHash), pending(a.now), eq(invitations.held, false), inviterMayGrant))
        .returning({ id: invitations.id }),
    ),
    db
      .insert(users)
      .values({
        id: a.userId,
        email: invitation.email,
        emailNormalized: invitation.emailNormalized,
        fullName: a.fullName,
        passwordHash: a.passwordHash,
        // The invitation reached this mailbox: the address is proven.
        isVerified: true,
      })
      .returning(),
    db.insert(memberships).values({ userId: a.userId, orgId: invitation.orgId, role: invitation.role }),
  ] as const
}

/** An invitation by its token's hash, with its organization's name and whether an account holds its address already. */
export async function findInvitationByToken(db: Database, tokenHash: string) {
  const [row] = await db
    .select({
      invitation: invitations,
      orgName: organizations.name,
      emailTaken: sql<boolean>`exists (select 1 from ${users} u where u.email_normalized = ${invitations.emailNormalized} and u.owns_email)`,
    })
    .from(invitations)
    .innerJoin(organizations, eq(organizations.id, invitations.orgId))
    .where(eq(invitations.tokenHash, tokenHash))
    .limit(1)
  return row
}
