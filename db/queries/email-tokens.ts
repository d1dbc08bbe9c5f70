import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import { required, rowsOf } from '../client'
import type { Database } from '../client'
import { emailTokens, invitations, memberships, users } from '../schema'

export type EmailTokenPurpose = (typeof emailTokens.$inferSelect)['purpose']

const usable = (purpose: EmailTokenPurpose, now: Date) =>
  and(eq(emailTokens.purpose, purpose), isNull(emailTokens.usedAt), gt(emailTokens.expiresAt, now))

/** Spends every still-usable token of `purpose` the user has: the links in their mailbox stop working. */
export const voidEmailTokensStatement = (db: Database, userId: string, purpose: EmailTokenPurpose, now: Date) =>
  db.update(emailTokens).set({ usedAt: now }).where(and(eq(emailTokens.userId, userId), usable(purpose, now)))

export interface NewEmailToken {
  userId: string
  purpose: EmailTokenPurpose
  tokenHash: string
  now: Date
  expiresAt: Date
}

/** Stores a token's hash (a statement, for a batch); `issueEmailToken` also voids the earlier ones. */
export function insertEmailToken(db: Database, t: NewEmailToken) {
  return db
    .insert(emailTokens)
    .values({ tokenHash: t.tokenHash, purpose: t.purpose, userId: t.userId, createdAt: t.now, expiresAt: t.expiresAt })
}

/** Stores a new token's hash (statements, for a batch); the user's earlier unused tokens of that purpose stop working, so only the newest link does. */
export const issueEmailToken = (db: Database, t: NewEmailToken) =>
  [voidEmailTokensStatement(db, t.userId, t.purpose, t.now), insertEmailToken(db, t)] as const

/**
 * `issueEmailToken` only where `only` holds (SQL, read when each statement runs): the link of a
 * request its own window may refuse in the same batch. Over the window nothing is voided or stored.
 */
export const issueEmailTokenIf = (db: Database, t: NewEmailToken, only: SQL) =>
  [
    db
      .update(emailTokens)
      .set({ usedAt: t.now })
      .where(and(eq(emailTokens.userId, t.userId), usable(t.purpose, t.now), only)),
    db.execute(sql`
      insert into ${emailTokens} (token_hash, purpose, user_id, created_at, expires_at)
      select ${t.tokenHash}::text, ${t.purpose}::text, ${t.userId}::uuid, ${t.now.toISOString()}::timestamptz, ${t.expiresAt.toISOString()}::timestamptz
      where ${only}`),
  ] as const

/** The user a still-usable token belongs to, without spending it (a statement, for a batch): at most one row, with the user's organization. */
export const selectUsableEmailToken = (db: Database, tokenHash: string, purpose: EmailTokenPurpose, now: Date) =>
  db
    .select({ userId: emailTokens.userId, email: users.email, fullName: users.fullName, orgId: memberships.orgId })
    .from(emailTokens)
    .innerJoin(users, eq(users.id, emailTokens.userId))
    .leftJoin(memberships, eq(memberships.userId, users.id))
    .where(and(eq(emailTokens.tokenHash, tokenHash), usable(purpose, now)))
    .limit(1)

/**
 * Spends a verification token and marks its user verified, in one statement: of two
 * concurrent uses, only one finds `used_at is null`. The user claims the address too (if it
 * was only a contact address); when another account holds it now, the unique index refuses
 * the whole statement and the token stays unspent. It also says whether the user has held
 * invitations to release, so the common case costs no second query.
 */
export async function verifyEmailWithToken(
  db: Database,
  tokenHash: string,
  now: Date,
): Promise<{ id: string; email: string; hasHeldInvitations: boolean } | undefined> {
  const at = now.toISOString()
  const result = await db.execute(sql`
    with spent as (
      update ${emailTokens} set used_at = ${at}
      where token_hash = ${tokenHash} and purpose = 'verify_email' and used_at is null and expires_at > ${at}
      returning user_id
    )
    update ${users} set is_verified = true, owns_email = true, updated_at = ${at}
    from spent where ${users.id} = spent.user_id
    returning ${users.id} as id, ${users.email} as email,
      exists (select 1 from ${invitations} i where i.invited_by = ${users.id} and i.held
        and i.accepted_at is null and i.revoked_at is null) as "hasHeldInvitations"`)
  return rowsOf<{ id: string; email: string; hasHeldInvitations: boolean }>(result)[0]
}

/**
 * The statements spending a password-reset token of `userId` and setting the new password
 * hash, for the front of a batch: if the token is no longer usable (used or expired since it
 * was read, or raced), the batch writes nothing (`allOrNothing` answers undefined). The mail
 * reached the inbox, so the address counts as verified too.
 */
export function resetPasswordWithToken(db: Database, r: { tokenHash: string; userId: string; passwordHash: string; now: Date }) {
  return [
    required(
      db,
      db
        .update(emailTokens)
        .set({ usedAt: r.now })
        .where(and(eq(emailTokens.tokenHash, r.tokenHash), eq(emailTokens.userId, r.userId), usable('password_reset', r.now)))
        .returning({ userId: emailTokens.userId }),
    ),
    db.update(users).set({ passwordHash: r.passwordHash, isVerified: true, updatedAt: r.now }).where(eq(users.id, r.userId)),
    // Any other reset link still in a mailbox dies with this one.
    voidEmailTokensStatement(db, r.userId, 'password_reset', r.now),
  ] as const
}
