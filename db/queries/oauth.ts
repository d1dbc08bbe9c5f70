import { and, asc, eq, sql } from 'drizzle-orm'
import { batch, rowsOf } from '../client'
import type { Database } from '../client'
import type { BatchItem } from 'drizzle-orm/batch'
import { memberships, oauthIdentities, organizations, passkeys, refreshTokens, sessions, twoFactorChallenges, users } from '../schema'
import { insertEventWhereSql } from './events'
import type { NewAuthEvent } from './events'
import { revokeSessionsBeyondSql } from './sessions'
import type { NewSession } from './sessions'
import type { NewChallenge } from './two-factor'

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

/** What `signInIdentityStatement` wrote: a session, a 2FA challenge, or neither (no such identity, or its account inactive). */
export const signedInAs = (result: unknown) => rowsOf<{ sessions: number; challenges: number }>(result)[0]!

/**
 * A returning identity's login in one statement, decided on its account as the statement
 * finds it: for an active account, a session (its refresh token, the capped older sessions,
 * `login`) or, with 2FA on, only the challenge and `firstFactor`; otherwise nothing. The rows
 * are chosen by the caller but their user. The account's row is locked (`for share`) to the
 * end of the transaction: a deactivation or a 2FA change waits for it, or it for them and
 * then sees them, so no session opens for an account deactivated meanwhile, and later
 * statements of the batch read the account as it was judged.
 */
export function signInIdentityStatement(
  db: Database,
  p: {
    provider: string
    subject: string
    session: Omit<NewSession, 'userId'> & { id: string }
    challenge: Omit<NewChallenge, 'userId'>
    events: { login: NewAuthEvent; firstFactor: NewAuthEvent }
  },
) {
  const { session: n, challenge: c } = p
  const now = n.now.toISOString()
  return db.execute(sql`
    with account as (
      select u.id as user_id, m.org_id, u.totp_enabled_at is not null as two_factor
      from ${oauthIdentities} i join ${users} u on u.id = i.user_id join ${memberships} m on m.user_id = u.id
      where i.provider = ${p.provider} and i.subject = ${p.subject} and u.is_active
      limit 1 for share of u
    ), capped as (${
      n.maxLiveSessions ? revokeSessionsBeyondSql(sql`(select user_id from account where not two_factor)`, n.now, n.maxLiveSessions) : sql`select 1`
    }
    ), session as (
      insert into ${sessions} (id, user_id, created_at, last_used_at, expires_at, user_agent, ip)
      select ${n.id}::uuid, user_id, ${now}::timestamptz, ${now}::timestamptz, ${n.expiresAt.toISOString()}::timestamptz, ${n.userAgent ?? null}::text, ${n.ip ?? null}::text
      from account where not two_factor
      returning id
    ), refreshed as (
      insert into ${refreshTokens} (token_hash, session_id, created_at, expires_at)
      select ${n.refreshTokenHash}::text, id, ${now}::timestamptz, ${n.refreshExpiresAt.toISOString()}::timestamptz from session
    ), challenge as (
      insert into ${twoFactorChallenges} (token_hash, user_id, created_at, expires_at, user_agent, ip, first_factor_passkey_id)
      select ${c.tokenHash}::text, user_id, ${c.now.toISOString()}::timestamptz, ${c.expiresAt.toISOString()}::timestamptz, ${c.userAgent ?? null}::text, ${c.ip ?? null}::text,
        ${c.firstFactorPasskeyId ?? null}::uuid
      from account where two_factor
      returning user_id
    ), logged_in as (${insertEventWhereSql(p.events.login, sql`not two_factor`, sql`account`)}
    ), first_factor as (${insertEventWhereSql(p.events.firstFactor, sql`two_factor`, sql`account`)}
    )
    select (select count(*) from session)::int as sessions, (select count(*) from challenge)::int as challenges`)
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
