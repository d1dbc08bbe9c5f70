import { and, asc, count, eq, inArray, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import type { Database } from '../client'
import { memberships, organizations, users } from '../schema'
import type { Role } from '../schema'

export type Organization = typeof organizations.$inferSelect

/** The organization (a statement, for a batch): at most one row. */
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

/** One member of the organization (a statement, for a batch): at most one row. */
export const selectMember = (db: Database, orgId: string, userId: string) =>
  db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))
    .limit(1)

/**
 * What a membership change is decided on, in one statement: the acting member and the target
 * (one or two rows), each with the number of the organization's active owners other than the
 * target. One statement is one snapshot, so a change committed meanwhile is seen by all of it
 * or none; three statements of a batch each take their own (READ COMMITTED), and an owner
 * demoted meanwhile could read as an owner yet not count as one.
 */
export const selectMembershipState = (db: Database, orgId: string, actorId: string, targetId: string) =>
  db
    .select({
      ...memberColumns,
      otherActiveOwners: sql<number>`(select count(*) from ${memberships} m join ${users} u on u.id = m.user_id
        where m.org_id = ${orgId} and m.role = 'owner' and u.is_active and u.id <> ${targetId})::int`,
    })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.orgId, orgId), inArray(memberships.userId, [actorId, targetId])))

/** What a membership change was decided on, read before its batch. */
export interface MembershipState {
  me: { userId: string; role: Role }
  target: { userId: string; role: Role; isActive: boolean }
  /** The change takes the target's owner role away: another active owner must remain. */
  needsAnotherOwner: boolean
}

/**
 * The first statements of a membership change's batch: the organization's row lock, so
 * changes of one organization happen one at a time, then the check that what the change was
 * decided on still holds under it. Two owners demoting each other at once cannot both see the
 * other as "another owner": the second finds the first's change committed, and its batch
 * writes nothing (`allOrNothing` answers undefined; the caller decides again).
 */
export function lockedAndUnchanged(db: Database, orgId: string, state: MembershipState) {
  const { me, target } = state
  const holds = (condition: SQL) =>
    sql`exists (select 1 from ${memberships} m join ${users} u on u.id = m.user_id where m.org_id = ${orgId} and ${condition})`
  const anotherOwner = holds(sql`m.role = 'owner' and u.is_active and u.id <> ${target.userId}`)
  return [
    db.execute(sql`select id from ${organizations} where id = ${orgId} for update`),
    db.execute(sql`select gatehouse_require(
      ${holds(sql`m.user_id = ${me.userId} and m.role = ${me.role}`)}
      and ${holds(sql`m.user_id = ${target.userId} and m.role = ${target.role} and u.is_active = ${target.isActive}`)}
      and ${state.needsAnotherOwner ? anotherOwner : sql`true`}) as ok`),
  ] as const
}

export const setMemberRole = (db: Database, orgId: string, userId: string, role: Role) =>
  db.update(memberships).set({ role }).where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)))

export const setUserActive = (db: Database, userId: string, isActive: boolean, now: Date) =>
  db.update(users).set({ isActive, updatedAt: now }).where(eq(users.id, userId))

/** Deletes the user; their membership, sessions, refresh tokens and the rest go with them (ON DELETE CASCADE). */
export const deleteUser = (db: Database, userId: string) => db.delete(users).where(eq(users.id, userId))
