import { and, eq } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { batch } from '../client'
import type { Database } from '../client'
import { isUniqueViolation } from '../errors'
import { memberships, organizations, users } from '../schema'
import type { Role } from '../schema'

export type User = typeof users.$inferSelect

/** Emails compare case-insensitively after trimming; this is the form the unique index holds. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase()

// The account that holds the address; a contact address (owns_email false) is never found by it.
const holds = (email: string) => and(eq(users.emailNormalized, normalizeEmail(email)), eq(users.ownsEmail, true))

export async function findUserByEmail(db: Database, email: string): Promise<User | undefined> {
  const [user] = await selectUserByEmail(db, email)
  return user
}

/** `findUserByEmail` as a statement, for a batch: at most one row. */
export const selectUserByEmail = (db: Database, email: string) => db.select().from(users).where(holds(email)).limit(1)

export interface Account {
  user: User
  org: { id: string; name: string }
  role: Role
}

const selectAccount = (db: Database) =>
  db
    .select({ user: users, org: { id: organizations.id, name: organizations.name }, role: memberships.role })
    .from(users)
    .innerJoin(memberships, eq(memberships.userId, users.id))
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))

/** A user with their organization and role, or undefined. */
export async function findAccount(db: Database, userId: string): Promise<Account | undefined> {
  const [row] = await selectAccountById(db, userId)
  return row
}

/** `findAccount` as a statement, for a batch: at most one row. `userId` may be a subquery. */
export const selectAccountById = (db: Database, userId: string | SQL) => selectAccount(db).where(eq(users.id, userId)).limit(1)

export async function findAccountByEmail(db: Database, email: string): Promise<Account | undefined> {
  const [row] = await selectAccountByEmail(db, email)
  return row
}

/** `findAccountByEmail` as a statement, for a batch: at most one row. */
export const selectAccountByEmail = (db: Database, email: string) =>
  selectAccount(db).where(holds(email)).limit(1)

/**
 * An organization, its owner (returned) and the membership, as statements for the caller's
 * batch, with ids chosen by the caller. In a batch they are all written or none: a taken
 * email fails the batch with a unique violation (the index decides, so two concurrent
 * registrations cannot both win).
 */
export function accountStatements(db: Database, input: NewAccount & { orgId: string; userId: string }) {
  return [
    db.insert(organizations).values({ id: input.orgId, name: input.organizationName }),
    db
      .insert(users)
      .values({
        id: input.userId,
        ...userRow(input),
      })
      .returning(),
    db.insert(memberships).values({ userId: input.userId, orgId: input.orgId, role: 'owner' }),
  ] as const
}

/** The user row of a new account. */
const userRow = (input: NewAccount) => ({
  email: input.email.trim(),
  emailNormalized: normalizeEmail(input.email),
  fullName: input.fullName,
  passwordHash: input.passwordHash,
  oauthProvider: input.oauthProvider ?? 'local',
  isVerified: input.isVerified ?? false,
  ownsEmail: input.ownsEmail ?? true,
})

export interface NewAccount {
  email: string
  fullName: string
  passwordHash: string | null
  organizationName: string
  oauthProvider?: string
  isVerified?: boolean
  /** False: the email is only a contact address, and does not hold the address (default true). */
  ownsEmail?: boolean
}

/**
 * Creates an organization, its owner and the membership in one batch (one round trip, one
 * transaction): all three or nothing. Returns undefined when the email is taken (the unique
 * index decides, so two concurrent registrations cannot both win; an account with
 * `ownsEmail: false` never conflicts). `alsoWrite` adds statements about the new account to
 * the same batch.
 */
export async function createAccount(
  db: Database,
  input: NewAccount,
  alsoWrite: (ids: { userId: string; orgId: string }) => BatchItem<'pg'>[] = () => [],
): Promise<Account | undefined> {
  const ids = { orgId: crypto.randomUUID(), userId: crypto.randomUUID() }
  try {
    const [, [user]] = await batch(db, [...accountStatements(db, { ...input, ...ids }), ...alsoWrite(ids)])
    return { user: user!, org: { id: ids.orgId, name: input.organizationName }, role: 'owner' }
  } catch (error) {
    if (isUniqueViolation(error)) return undefined
    throw error
  }
}

export async function updateFullName(db: Database, userId: string, fullName: string, now: Date): Promise<void> {
  await db.update(users).set({ fullName, updatedAt: now }).where(eq(users.id, userId))
}

export function updatePasswordHash(db: Database, userId: string, passwordHash: string, now: Date) {
  return db.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, userId))
}
