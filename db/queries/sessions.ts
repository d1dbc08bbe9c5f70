import { and, eq, gt, isNull, ne, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import type { Database, Statements } from '../client'
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
  /** Live sessions a user may hold: the least recently used beyond it are revoked by the same statement. */
  maxLiveSessions?: number
}

/**
 * A session (its id chosen by the caller) and its first refresh token, as statements for a
 * batch. With `maxLiveSessions`, a first statement revokes the user's least recently used live
 * sessions beyond it (run before the insert, so `maxLiveSessions - 1` older ones stay).
 */
export function sessionStatements(db: Database, s: NewSession & { id: string }): Statements {
  const cap = s.maxLiveSessions ? [db.execute(revokeSessionsBeyondSql(sql`${s.userId}`, s.now, s.maxLiveSessions))] : []
  return [
    ...cap,
    db.insert(sessions).values({
      id: s.id,
      userId: s.userId,
      createdAt: s.now,
      lastUsedAt: s.now,
      expiresAt: s.expiresAt,
      userAgent: s.userAgent ?? null,
      ip: s.ip ?? null,
    }),
    db.insert(refreshTokens).values({ tokenHash: s.refreshTokenHash, sessionId: s.id, createdAt: s.now, expiresAt: s.refreshExpiresAt }),
  ] as unknown as Statements
}

/**
 * Revokes the user's least recently used live sessions beyond `maxLiveSessions - 1`, making
 * room for a new one (`userId` is SQL: a value, or a subquery of a larger statement).
 */
export const revokeSessionsBeyondSql = (userId: SQL, now: Date, maxLiveSessions: number) => sql`
  update ${sessions} set revoked_at = ${now.toISOString()}::timestamptz
  where id in (
    select id from ${sessions}
    where user_id = ${userId} and revoked_at is null and expires_at > ${now.toISOString()}::timestamptz
    order by last_used_at desc, created_at desc, id desc
    offset ${maxLiveSessions - 1}
  )`

/** The session a spent refresh token belonged to, and its owner, for reuse detection. */
export async function sessionOfSpentRefreshToken(db: Database, hash: string) {
  const [row] = await db
    .select({ sessionId: refreshTokens.sessionId, userId: sessions.userId, orgId: memberships.orgId })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .leftJoin(memberships, eq(memberships.userId, sessions.userId))
    .where(and(eq(refreshTokens.tokenHash, hash), sql`${refreshTokens.usedAt} is not null`))
    .limit(1)
  return row
}

/** `rotateRefreshTokenForClient`'s answer: the client's window, the new token's session and its caller. */
export interface Rotation {
  client_count: number
  client_window_started_ms: number
  /** Null when nothing was rotated (the client over its limit, or the token unusable). */
  session_id: string | null
  principal:
    | (Omit<Principal, 'sessionExpiresAt' | 'sessionCreatedAt' | 'createdAt'> & { sessionExpiresAt: string; sessionCreatedAt: string; createdAt: string })
    | null
}

/**
 * A refresh in one statement: the client's per-IP window is hit (`hitWindowSql`), and only
 * under its limit is the token spent and its successor issued; the session's principal
 * comes back with it, read in the same statement. Of two concurrent uses of one token,
 * exactly one finds `used_at is null`.
 *
 * A refresh is also when the session's `last_used_at` moves: updating it on every
 * authenticated request would turn every read into a write, and a session is only ever
 * used for longer than one access token's lifetime by refreshing.
 */
export function rotateRefreshTokenForClient(
  db: Database,
  r: { client: SQL; limit: number; oldHash: string; newHash: string; now: Date; expiresAt: Date },
) {
  const now = r.now.toISOString()
  return db.execute(sql`
    with client as (${r.client}), spent as (
      update ${refreshTokens} set used_at = ${now}
      where token_hash = ${r.oldHash} and used_at is null and expires_at > ${now}
        and (select count from client) <= ${r.limit}::int
      returning session_id
    ), touched as (
      update ${sessions} set last_used_at = ${now} from spent where ${sessions.id} = spent.session_id
    ), issued as (
      insert into ${refreshTokens} (token_hash, session_id, created_at, expires_at)
      select ${r.newHash}, session_id, ${now}, ${r.expiresAt.toISOString()} from spent
      returning session_id
    )
    select client.count as client_count, (extract(epoch from client.window_started_at) * 1000)::float8 as client_window_started_ms,
      issued.session_id,
      (select json_build_object(
          'sessionId', s.id, 'sessionRevoked', s.revoked_at is not null, 'sessionExpiresAt', s.expires_at, 'sessionCreatedAt', s.created_at,
          'userId', u.id, 'email', u.email, 'fullName', u.full_name, 'isActive', u.is_active, 'isVerified', u.is_verified,
          'oauthProvider', u.oauth_provider, 'twoFactorEnabled', u.totp_enabled_at is not null, 'createdAt', u.created_at,
          'orgId', o.id, 'orgName', o.name, 'role', m.role)
        from ${sessions} s join ${users} u on u.id = s.user_id join ${memberships} m on m.user_id = u.id
          join ${organizations} o on o.id = m.org_id
        where s.id = issued.session_id limit 1) as principal
    from client left join issued on true`)
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

/** The caller's principal as a statement, to run alone or in a batch with the request's reads; at most one row. */
export function selectPrincipal(db: Database, sessionId: string, userId?: string) {
  return db
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
}

export async function findPrincipal(db: Database, sessionId: string, userId?: string): Promise<Principal | undefined> {
  const [row]: Principal[] = await selectPrincipal(db, sessionId, userId)
  return row
}

/** Revokes a session (a statement, for a batch). */
export const revokeSessionStatement = (db: Database, sessionId: string, now: Date) =>
  db.update(sessions).set({ revokedAt: now }).where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt)))

export async function revokeSession(db: Database, sessionId: string, now: Date, userId?: string): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), userId ? eq(sessions.userId, userId) : undefined))
    .returning({ id: sessions.id })
  return rows.length > 0
}

/** `revokeSession` as SQL for `changeWithEvent`: the revoked session's id, if it was live and the user's. */
export const revokeSessionSql = (db: Database, sessionId: string, now: Date, userId: string) =>
  db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), eq(sessions.userId, userId)))
    .returning({ id: sessions.id })
    .getSQL()

/** `revokeUserSessions` as SQL for `changeWithEvent`: the ids of the sessions it ended. */
export const revokeUserSessionsSql = (db: Database, userId: string, now: Date) =>
  db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id })
    .getSQL()

/** Ends every live session of a user, except `keep` when given. */
export async function revokeUserSessions(db: Database, userId: string, now: Date, keep?: string): Promise<number> {
  return (await revokeUserSessionsStatement(db, userId, now, keep)).length
}

/** `revokeUserSessions` as a statement, for a batch: the ids of the sessions it ended. */
export const revokeUserSessionsStatement = (db: Database, userId: string, now: Date, keep?: string) =>
  db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), keep ? ne(sessions.id, keep) : undefined))
    .returning({ id: sessions.id })

export function listLiveSessions(db: Database, userId: string, now: Date, after?: SQL) {
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
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now), after))
    .orderBy(sql`${sessions.lastUsedAt} desc, ${sessions.id} desc`)
}

/**
 * A page of `listLiveSessions`, in the same order, after the session the cursor names
 * (its `last_used_at` and id).
 */
export function listLiveSessionsPage(
  db: Database,
  userId: string,
  now: Date,
  page: { limit: number; after?: { lastUsedAt: Date; id: string } },
) {
  const after = page.after
    ? sql`(${sessions.lastUsedAt}, ${sessions.id}) < (${page.after.lastUsedAt.toISOString()}::timestamptz, ${page.after.id}::uuid)`
    : undefined
  return listLiveSessions(db, userId, now, after).limit(page.limit)
}
