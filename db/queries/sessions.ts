import { and, eq, gt, isNull, ne, sql } from 'drizzle-orm'
import type { Database } from '../client'
import { rowsOf } from '../client'
import { memberships, organizations, refreshTokens, sessions, users } from '../schema'
import type { Role } from '../schema'

export interface NewSession {
  userId: string
  now: Date
  expiresAt: Date
  refreshTokenHash: string
  refreshExpiresAt: Date
  userAgent?: string | null
  ip?: string | null
}

/** Inserts a session and its first refresh token in one statement (a CTE): never one without the other. */
export async function insertSession(db: Database, s: NewSession): Promise<string> {
  const result = await db.execute(sql`
    with session as (
      insert into ${sessions} (user_id, created_at, last_used_at, expires_at, user_agent, ip)
      values (${s.userId}, ${s.now.toISOString()}, ${s.now.toISOString()}, ${s.expiresAt.toISOString()}, ${s.userAgent ?? null}, ${s.ip ?? null})
      returning id
    )
    insert into ${refreshTokens} (token_hash, session_id, created_at, expires_at)
    select ${s.refreshTokenHash}, id, ${s.now.toISOString()}, ${s.refreshExpiresAt.toISOString()} from session
    returning session_id as id`)
  return rowsOf<{ id: string }>(result)[0]!.id
}

/**
 * Spends a refresh token and issues its successor in one atomic statement: of two
 * concurrent uses, exactly one finds `used_at is null`. Returns the session id, or
 * undefined when the token is unknown, expired or already spent.
 *
 * A refresh is also when the session's `last_used_at` moves: updating it on every
 * authenticated request would turn every read into a write, and a session is only ever
 * used for longer than one access token's lifetime by refreshing.
 */
export async function rotateRefreshToken(
  db: Database,
  r: { oldHash: string; newHash: string; now: Date; expiresAt: Date },
): Promise<string | undefined> {
  const result = await db.execute(sql`
    with spent as (
      update ${refreshTokens} set used_at = ${r.now.toISOString()}
      where token_hash = ${r.oldHash} and used_at is null and expires_at > ${r.now.toISOString()}
      returning session_id
    ), touched as (
      update ${sessions} set last_used_at = ${r.now.toISOString()} from spent where ${sessions.id} = spent.session_id
    )
    insert into ${refreshTokens} (token_hash, session_id, created_at, expires_at)
    select ${r.newHash}, session_id, ${r.now.toISOString()}, ${r.expiresAt.toISOString()} from spent
    returning session_id`)
  return rowsOf<{ session_id: string }>(result)[0]?.session_id
}

/** The session a spent refresh token belonged to, for reuse detection. */
export async function sessionOfSpentRefreshToken(db: Database, hash: string): Promise<string | undefined> {
  const [row] = await db
    .select({ sessionId: refreshTokens.sessionId })
    .from(refreshTokens)
    .where(and(eq(refreshTokens.tokenHash, hash), sql`${refreshTokens.usedAt} is not null`))
  return row?.sessionId
}

/** Everything a request needs to know about the caller, in one query. */
export interface Principal {
  sessionId: string
  sessionRevoked: boolean
  sessionExpiresAt: Date
  /** When the session signed in (password, OAuth, or a completed 2FA challenge): `auth_time`. */
  sessionCreatedAt: Date
  userId: string
  email: string
  fullName: string
  isActive: boolean
  isVerified: boolean
  oauthProvider: string
  twoFactorEnabled: boolean
  createdAt: Date
  orgId: string
  orgName: string
  role: Role
}

export async function findPrincipal(db: Database, sessionId: string, userId?: string): Promise<Principal | undefined> {
  const [row] = await db
    .select({
      sessionId: sessions.id,
      sessionRevoked: sql<boolean>`${sessions.revokedAt} is not null`,
      sessionExpiresAt: sessions.expiresAt,
      sessionCreatedAt: sessions.createdAt,
      userId: users.id,
      email: users.email,
      fullName: users.fullName,
      isActive: users.isActive,
      isVerified: users.isVerified,
      oauthProvider: users.oauthProvider,
      twoFactorEnabled: sql<boolean>`${users.totpEnabledAt} is not null`,
      createdAt: users.createdAt,
      orgId: organizations.id,
      orgName: organizations.name,
      role: memberships.role,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .innerJoin(memberships, eq(memberships.userId, users.id))
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .where(and(eq(sessions.id, sessionId), userId ? eq(sessions.userId, userId) : undefined))
    .limit(1)
  return row
}

export async function revokeSession(db: Database, sessionId: string, now: Date, userId?: string): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), userId ? eq(sessions.userId, userId) : undefined))
    .returning({ id: sessions.id })
  return rows.length > 0
}

/** Ends every live session of a user, except `keep` when given. */
export async function revokeUserSessions(db: Database, userId: string, now: Date, keep?: string): Promise<number> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), keep ? ne(sessions.id, keep) : undefined))
    .returning({ id: sessions.id })
  return rows.length
}

export async function listLiveSessions(db: Database, userId: string, now: Date) {
  return db
    .select({
      id: sessions.id,
      createdAt: sessions.createdAt,
      lastUsedAt: sessions.lastUsedAt,
      expiresAt: sessions.expiresAt,
      userAgent: sessions.userAgent,
      ip: sessions.ip,
    })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
    .orderBy(sql`${sessions.lastUsedAt} desc`)
}
