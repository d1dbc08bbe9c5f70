import { and, asc, count, eq, ne, sql } from 'drizzle-orm'
import { transaction } from '../client'
import type { Database } from '../client'
import { memberships, organizations, users } from '../schema'
import type { Role } from '../schema'

export type Organization = typeof organizations.$inferSelect

export async function findOrganization(db: Database, orgId: string): Promise<Organization | undefined> {
  const [org] = await selectOrganization(db, orgId)
  return org
}

/** `findOrganization` as a statement, for a batch: at most one row. */
export const selectOrganization = (db: Database, orgId: string) => db.select().from(organizations).where(eq(organizations.id, orgId)).limit(1)

export async function renameOrganization(db: Database, orgId: string, name: string): Promise<Organization | undefined> {
  const [org] = await db.update(organizations).set({ name }).where(eq(organizations.id, orgId)).returning()
  return org
}

export interface Member {
  userId: string
  email: string
  fullName: string
  role: Role
  isActive: boolean
  isVerified: boolean
  joinedAt: Date
}

const memberColumns = {
  userId: users.id,
  email: users.email,
  fullName: users.fullName,
  role: memberships.role,
  isActive: users.isActive,
  isVerified: users.isVerified,
  joinedAt: memberships.createdAt,
}

/** Every query below is scoped by `orgId`: a user of another organization is simply not found. */
export function listMembers(db: Database, orgId: string, page?: { limit: number; offset: number }) {
  const query = db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.orgId, orgId))
    .orderBy(asc(memberships.createdAt), asc(users.id))
  return page ? query.limit(page.limit).offset(page.offset) : query
}

/** One row, `{ n }`: the organization's member count. */
export function countMembers(db: Database, orgId: string) {
  return db.select({ n: count() }).from(memberships).where(eq(memberships.orgId, orgId))
}

export async function findMember(db: Database, orgId: string, userId: string): Promise<Member | undefined> {
  const [row] = await db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
    .limit(1)
  return row
}

/**
 * Runs `fn` in a transaction holding the organization's row lock, so membership changes of
 * one organization happen one at a time: two owners demoting each other at once cannot
 * both see the other as "another owner" and leave the organization without one.
 */
export async function withOrganizationLocked<T>(db: Database, orgId: string, fn: (tx: Database) => Promise<T>): Promise<T> {
  return transaction(db, async (tx) => {
    await tx.execute(sql`select id from ${organizations} where id = ${orgId} for update`)
    return fn(tx)
  })
}

/** Active owners of the organization other than `exceptUserId`. */
export async function countOtherActiveOwners(db: Database, orgId: string, exceptUserId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(memberships.role, 'owner'), eq(users.isActive, true), ne(users.id, exceptUserId)))
  return row?.n ?? 0
}

export async function setMemberRole(db: Database, orgId: string, userId: string, role: Role): Promise<void> {
  await db.update(memberships).set({ role }).where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
}

export async function setUserActive(db: Database, userId: string, isActive: boolean, now: Date): Promise<void> {
  await db.update(users).set({ isActive, updatedAt: now }).where(eq(users.id, userId))
}

/** Deletes the user; their membership, sessions, refresh tokens and the rest go with them (ON DELETE CASCADE). */
export async function deleteUser(db: Database, userId: string): Promise<void> {
  await db.delete(users).where(eq(users.id, userId))
}
