import { and, eq } from 'drizzle-orm'
import type { Database } from '../client'
import { memberships, oauthIdentities, organizations, users } from '../schema'
import type { Account } from './accounts'

export interface Identity {
  provider: string
  subject: string
  email: string | null
}

/** The account an external identity belongs to, or undefined. */
export async function findAccountByIdentity(db: Database, provider: string, subject: string): Promise<Account | undefined> {
  const [row] = await db
    .select({ user: users, org: { id: organizations.id, name: organizations.name }, role: memberships.role })
    .from(oauthIdentities)
    .innerJoin(users, eq(users.id, oauthIdentities.userId))
    .innerJoin(memberships, eq(memberships.userId, users.id))
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .where(and(eq(oauthIdentities.provider, provider), eq(oauthIdentities.subject, subject)))
    .limit(1)
  return row
}

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

/** For use inside a transaction: a conflict throws, so the whole new account rolls back. */
export async function insertIdentity(db: Database, userId: string, identity: Identity, now: Date): Promise<void> {
  await db.insert(oauthIdentities).values({ ...identity, userId, createdAt: now })
}
