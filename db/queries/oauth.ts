import { and, asc, eq, sql } from 'drizzle-orm'
import { batch, rowsOf } from '../client'
import type { Database } from '../client'
import type { BatchItem } from 'drizzle-orm/batch'
import { insertEventWhereSql } from './events'
import type { NewAuthEvent } from './events'
import { memberships, oauthIdentities, organizations, passkeys, users } from '../schema'

export interface Identity {
  provider: string
  subject: string
  email: string | null
}

/** The account an external identity belongs to (a statement, for a batch): at most one row. */
export const selectAccountByIdentity = (db: Database, provider: string, subject: string) =>
  db
    .select({ user: users, org: { id: organizations.id, name: organizations.name }, role: memberships.role })
    .from(oauthIdentities)
    .innerJoin(users, eq(users.id, oauthIdentities.userId))
    .innerJoin(memberships, eq(memberships.userId, users.id))
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .where(and(eq(oauthIdentities.provider, provider), eq(oauthIdentities.subject, subject)))
    .limit(1)

/**
 * Links an identity to a user. Returns false when the identity is already linked (to
 * anyone): the primary key decides, so two concurrent first logins cannot both link.
 */
export async function linkIdentity(db: Database, userId: string, identity: Identity, now: Date): Promise<boolean> {
  const rows = await db
    .insert(oauthIdentities)
    .values({ ...identity, userId, createdAt: now })
    .onConflictDoNothing()
    .returning({ userId: oauthIdentities.userId })
  return rows.length === 1
}

/** Links an identity (a statement, for a batch): a conflict fails the batch, so a new account is written whole or not at all. */
export const insertIdentityStatement = (db: Database, userId: string, identity: Identity, now: Date) =>
  db.insert(oauthIdentities).values({ ...identity, userId, createdAt: now })

/** The identities linked to a user, oldest first. */
export async function listIdentities(db: Database, userId: string) {
  return db
    .select({ provider: oauthIdentities.provider, email: oauthIdentities.email, createdAt: oauthIdentities.createdAt })
    .from(oauthIdentities)
    .where(eq(oauthIdentities.userId, userId))
    .orderBy(asc(oauthIdentities.createdAt), asc(oauthIdentities.provider))
}

/**
 * Unlinks the user's identities of one provider only if the account keeps another way to sign
 * in (a password, another provider, a passkey): one batch, one round trip. The user row is
 * locked first, as passkey deletion does, so two removals of the last two ways serialize and
 * the second sees the first's effect.
 */
export async function unlinkIdentity(
  db: Database,
  userId: string,
  provider: string,
  also: {
    /** Its audit row, written only if the identity was unlinked. */
    event?: NewAuthEvent
    /** Statements of the same request for the same batch (an account's failures forgotten). */
    alsoWrite?: BatchItem<'pg'>[]
  } = {},
): Promise<'unlinked' | 'not_found' | 'last_sign_in_method'> {
  const recorded = also.event ? sql`, recorded as (${insertEventWhereSql(also.event, sql`exists (select 1 from gone)`)})` : sql``
  const [, result] = await batch(db, [
    db.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('update'),
    // A new statement after the lock: under READ COMMITTED it sees what the other committed.
    db.execute(sql`
      with target as (
        select provider, subject from ${oauthIdentities} where user_id = ${userId} and provider = ${provider}
      ), gone as (
        delete from ${oauthIdentities} where user_id = ${userId} and provider = ${provider} and (
          exists (select 1 from ${users} where id = ${userId} and password_hash is not null)
          or exists (select 1 from ${oauthIdentities} other where other.user_id = ${userId} and other.provider <> ${provider})
          or exists (select 1 from ${passkeys} where user_id = ${userId})
        )
        returning provider
      )${recorded}
      select (select count(*) from target)::int as found, (select count(*) from gone)::int as deleted`),
    ...(also.alsoWrite ?? []),
  ])
  const [row] = rowsOf<{ found: number; deleted: number }>(result)
  return row!.deleted > 0 ? 'unlinked' : row!.found > 0 ? 'last_sign_in_method' : 'not_found'
}
