import { and, desc, eq, sql } from 'drizzle-orm'
import type { Database } from '../client'
import { batch, rowsOf } from '../client'
import { isUniqueViolation } from '../errors'
import { memberships, oauthIdentities, organizations, passkeys, twoFactorChallenges, users, webauthnChallenges } from '../schema'
import type { Account } from './accounts'

export type Passkey = typeof passkeys.$inferSelect
export type Ceremony = (typeof webauthnChallenges.$inferSelect)['ceremony']

/** What an options answer lists of a credential: `allowCredentials` / `excludeCredentials`. */
export interface CredentialDescriptor {
  credentialId: string
  transports: string[]
}

export interface NewWebAuthnChallenge {
  challengeHash: string
  now: Date
  expiresAt: Date
}

// Every statement that issues a challenge also sweeps a few expired ones: no cron, no extra
// round trip, and the table stays the size of the ceremonies in flight.
const SWEEP = 20
const sweepExpired = (now: Date) => sql`
  delete from ${webauthnChallenges} where challenge_hash in (
    select challenge_hash from ${webauthnChallenges} where expires_at <= ${now.toISOString()} limit ${SWEEP}
  )`

const descriptors = (rows: { credential_id: string | null; transports: string[] | null }[]): CredentialDescriptor[] =>
  rows.filter((r) => r.credential_id !== null).map((r) => ({ credentialId: r.credential_id!, transports: r.transports ?? [] }))

/**
 * A registration challenge for a signed-in user, and the credentials they already hold (to
 * exclude, so one authenticator is not registered twice): one statement.
 */
export async function insertRegistrationChallenge(db: Database, c: NewWebAuthnChallenge & { userId: string }): Promise<CredentialDescriptor[]> {
  const result = await db.execute(sql`
    with swept as (${sweepExpired(c.now)}), issued as (
      insert into ${webauthnChallenges} (challenge_hash, ceremony, user_id, user_bound, created_at, expires_at)
      values (${c.challengeHash}, 'registration', ${c.userId}, true, ${c.now.toISOString()}, ${c.expiresAt.toISOString()})
    )
    select credential_id, transports from ${passkeys} where user_id = ${c.userId} order by created_at`)
  return descriptors(rowsOf(result))
}

/**
 * A sign-in challenge. With an email it is bound to that account, known or not (an unknown
 * email binds it to no one, so no credential can complete it), and the account's
 * credentials come back; without one it is for a discoverable credential. One statement.
 */
export async function insertLoginChallenge(db: Database, c: NewWebAuthnChallenge & { emailNormalized?: string }): Promise<CredentialDescriptor[]> {
  const bound = c.emailNormalized !== undefined
  const result = await db.execute(sql`
    with swept as (${sweepExpired(c.now)}), account as (
      select id from ${users} where email_normalized = ${c.emailNormalized ?? null} and owns_email and ${bound}
    ), issued as (
      insert into ${webauthnChallenges} (challenge_hash, ceremony, user_id, user_bound, created_at, expires_at)
      values (${c.challengeHash}, 'login', (select id from account), ${bound}, ${c.now.toISOString()}, ${c.expiresAt.toISOString()})
    )
    select credential_id, transports from ${passkeys} where user_id = (select id from account) order by created_at`)
  return descriptors(rowsOf(result))
}

/**
 * A challenge for completing a two-step login with a passkey, bound to the 2FA
 * session_token and its user. Undefined when that session_token is unknown, spent, expired
 * or out of attempts (then nothing is inserted).
 */
export async function insertSecondFactorChallenge(
  db: Database,
  c: NewWebAuthnChallenge & { sessionTokenHash: string; maxAttempts: number },
): Promise<{ userId: string; firstFactorPasskeyId: string | null; credentials: CredentialDescriptor[] } | undefined> {
  const result = await db.execute(sql`
    with swept as (${sweepExpired(c.now)}), pending as (
      select user_id, first_factor_passkey_id from ${twoFactorChallenges}
      where token_hash = ${c.sessionTokenHash} and used_at is null and expires_at > ${c.now.toISOString()}
        and failed_attempts < ${c.maxAttempts}
    ), issued as (
      insert into ${webauthnChallenges} (challenge_hash, ceremony, user_id, user_bound, session_token_hash, created_at, expires_at)
      select ${c.challengeHash}, 'second_factor', user_id, true, ${c.sessionTokenHash}, ${c.now.toISOString()}, ${c.expiresAt.toISOString()}
      from pending
    )
    select pending.user_id, pending.first_factor_passkey_id, p.credential_id, p.transports from pending
    left join ${passkeys} p on p.user_id = pending.user_id order by p.created_at`)
  const rows = rowsOf<{ user_id: string; first_factor_passkey_id: string | null; credential_id: string | null; transports: string[] | null }>(result)
  if (rows.length === 0) return undefined
  return { userId: rows[0]!.user_id, firstFactorPasskeyId: rows[0]!.first_factor_passkey_id, credentials: descriptors(rows) }
}

export interface ConsumedChallenge {
  userId: string | null
  userBound: boolean
  sessionTokenHash: string | null
  expiresAt: Date
  /** The credential the response names, whoever holds it, with its holder's account. */
  passkey: Passkey | null
  account: Account | null
}

/**
 * Spends a challenge of one ceremony: deleted by the statement that reads it, so of any
 * number of concurrent uses exactly one gets it back. The same statement looks up the
 * credential the response names and its holder's account. Undefined when the challenge is
 * unknown, already spent, or of another ceremony. An expired challenge is spent too, and
 * comes back for the caller to refuse.
 */
export async function consumeChallenge(
  db: Database,
  c: { challengeHash: string; ceremony: Ceremony; credentialId: string },
): Promise<ConsumedChallenge | undefined> {
  const consumed = db.$with('consumed').as(
    db
      .delete(webauthnChallenges)
      .where(and(eq(webauthnChallenges.challengeHash, c.challengeHash), eq(webauthnChallenges.ceremony, c.ceremony)))
      .returning({
        userId: webauthnChallenges.userId,
        userBound: webauthnChallenges.userBound,
        sessionTokenHash: webauthnChallenges.sessionTokenHash,
        expiresAt: webauthnChallenges.expiresAt,
      }),
  )
  const [row] = await db
    .with(consumed)
    .select({
      userId: consumed.userId,
      userBound: consumed.userBound,
      sessionTokenHash: consumed.sessionTokenHash,
      expiresAt: consumed.expiresAt,
      passkey: passkeys,
      user: users,
      org: { id: organizations.id, name: organizations.name },
      role: memberships.role,
    })
    .from(consumed)
    .leftJoin(passkeys, eq(passkeys.credentialId, c.credentialId))
    .leftJoin(users, eq(users.id, passkeys.userId))
    .leftJoin(memberships, eq(memberships.userId, users.id))
    .leftJoin(organizations, eq(organizations.id, memberships.orgId))
  if (!row) return undefined
  const { user, org, role, passkey, ...challenge } = row
  return { ...challenge, expiresAt: new Date(challenge.expiresAt), passkey, account: user && org && role ? { user, org, role } : null }
}

// WebAuthn §6.1.1 as a condition of the UPDATE: the counter must move forward unless it is
// and stays 0. Two concurrent assertions carrying one counter value cannot both pass.
const counterMovesTo = (signCount: number) => sql`((${passkeys.signCount} = 0 and ${signCount}::bigint = 0) or ${passkeys.signCount} < ${signCount}::bigint)`

/** Records a verified use of a passkey; false when its counter did not move forward (a possible clone). */
export async function recordPasskeyUse(db: Database, u: { passkeyId: string; signCount: number; now: Date }): Promise<boolean> {
  const rows = await db
    .update(passkeys)
    .set({ signCount: u.signCount, lastUsedAt: u.now })
    .where(and(eq(passkeys.id, u.passkeyId), counterMovesTo(u.signCount)))
    .returning({ id: passkeys.id })
  return rows.length > 0
}

/**
 * Completes a two-step login with a verified passkey: records the use and spends the 2FA
 * challenge (giving back the attempt taken for it) in one statement. The challenge is
 * spent only if the counter moved; both facts come back.
 */
export async function completeChallengeWithPasskey(
  db: Database,
  c: { passkeyId: string; signCount: number; tokenHash: string; now: Date },
): Promise<{ counterMoved: boolean; challengeSpent: boolean }> {
  const now = c.now.toISOString()
  const result = await db.execute(sql`
    with used as (
      update ${passkeys} set sign_count = ${c.signCount}, last_used_at = ${now}
      where id = ${c.passkeyId} and ${counterMovesTo(c.signCount)}
      returning id
    ), spent as (
      update ${twoFactorChallenges} set used_at = ${now}, failed_attempts = failed_attempts - 1
      where token_hash = ${c.tokenHash} and used_at is null and expires_at > ${now} and exists (select 1 from used)
      returning token_hash
    )
    select (select count(*) from used)::int as used, (select count(*) from spent)::int as spent`)
  const [row] = rowsOf<{ used: number; spent: number }>(result)
  return { counterMoved: row!.used > 0, challengeSpent: row!.spent > 0 }
}

export interface NewPasskey {
  userId: string
  credentialId: string
  publicKey: JsonWebKey
  algorithm: number
  signCount: number
  transports: string[]
  backupEligible: boolean
  name: string
  now: Date
}

/** Stores a new passkey; undefined when its credential id is already registered (to anyone). */
export async function insertPasskey(db: Database, p: NewPasskey): Promise<Passkey | undefined> {
  try {
    const [row] = await db
      .insert(passkeys)
      .values({
        userId: p.userId,
        credentialId: p.credentialId,
        publicKey: p.publicKey,
        algorithm: p.algorithm,
        signCount: p.signCount,
        transports: p.transports,
        backupEligible: p.backupEligible,
        name: p.name,
        createdAt: p.now,
      })
      .returning()
    return row
  } catch (error) {
    if (isUniqueViolation(error)) return undefined
    throw error
  }
}

export async function listPasskeys(db: Database, userId: string): Promise<Passkey[]> {
  return db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(desc(passkeys.createdAt), desc(passkeys.id))
}

export async function renamePasskey(db: Database, userId: string, id: string, name: string): Promise<Passkey | undefined> {
  const [row] = await db
    .update(passkeys)
    .set({ name })
    .where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))
    .returning()
  return row
}

/**
 * Deletes a passkey unless it is the user's last way to sign in (no password, no OAuth
 * identity, no other passkey). The user's row is locked first, so two concurrent deletes
 * of a user's last two passkeys are decided one after the other and one of them is refused.
 */
export async function deletePasskey(db: Database, userId: string, id: string): Promise<'deleted' | 'not_found' | 'last_sign_in_method'> {
  // One batch (one transaction, one round trip): the lock, then the conditional delete.
  const [, result] = await batch(db, [
    db.select({ id: users.id }).from(users).where(eq(users.id, userId)).for('update'),
    // A new statement after the lock: under READ COMMITTED it sees what the other committed.
    db.execute(sql`
      with target as (
        select id from ${passkeys} where id = ${id} and user_id = ${userId}
      ), gone as (
        delete from ${passkeys} where id in (select id from target) and (
          exists (select 1 from ${users} where id = ${userId} and password_hash is not null)
          or exists (select 1 from ${oauthIdentities} where user_id = ${userId})
          or (select count(*) from ${passkeys} where user_id = ${userId}) > 1
        )
        returning id
      )
      select (select count(*) from target)::int as found, (select count(*) from gone)::int as deleted`),
  ])
  const [row] = rowsOf<{ found: number; deleted: number }>(result)
  return row!.deleted > 0 ? 'deleted' : row!.found > 0 ? 'last_sign_in_method' : 'not_found'
}
