import { and, desc, eq, gt, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import type { AnyPgColumn } from 'drizzle-orm/pg-core'
import type { Database } from '../client'
import { batch, rowsOf } from '../client'
import { memberships, oauthIdentities, organizations, passkeys, twoFactorChallenges, users, webauthnChallenges } from '../schema'
import type { Account } from './accounts'
import { changeWithEventsStatement, changedCount, insertEventWhereSql } from './events'
import type { NewAuthEvent } from './events'
import { hitWindowSql } from './rate-limits'
import type { WindowHit } from './rate-limits'

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

/** A registration challenge for a signed-in user, inserted only `where` the condition holds (SQL for a CTE). */
const issueRegistrationChallengeSql = (c: NewWebAuthnChallenge & { userId: string }, where: SQL) => sql`
  insert into ${webauthnChallenges} (challenge_hash, ceremony, user_id, user_bound, created_at, expires_at)
  select ${c.challengeHash}, 'registration', ${c.userId}, true, ${c.now.toISOString()}, ${c.expiresAt.toISOString()}
  where ${where}`

/**
 * A registration challenge for a signed-in user, and the credentials they already hold (to
 * exclude, so one authenticator is not registered twice): one statement.
 */
export async function insertRegistrationChallenge(db: Database, c: NewWebAuthnChallenge & { userId: string }): Promise<CredentialDescriptor[]> {
  return registrationChallengeCredentials(await insertRegistrationChallengeStatement(db, c))
}

/** `insertRegistrationChallenge` as a statement, for a batch; `registrationChallengeCredentials` reads its result. */
export const insertRegistrationChallengeStatement = (db: Database, c: NewWebAuthnChallenge & { userId: string }) =>
  db.execute(sql`
    with swept as (${sweepExpired(c.now)}), issued as (${issueRegistrationChallengeSql(c, sql`true`)})
    select credential_id, transports from ${passkeys} where user_id = ${c.userId} order by created_at`)

export const registrationChallengeCredentials = (result: unknown): CredentialDescriptor[] => descriptors(rowsOf(result))

/**
 * The first step of adding a passkey, in one statement: a hit on the user's window of
 * registrations started, then (only when `issue` and the window is still under `limit`) a
 * registration challenge, and the credentials the user already holds. A request over the
 * window writes no challenge.
 */
export async function hitWindowThenIssueRegistrationChallenge(
  db: Database,
  c: NewWebAuthnChallenge & { userId: string; window: { key: string; limit: number; windowSeconds: number }; issue: boolean },
): Promise<{ hit: WindowHit; credentials: CredentialDescriptor[] }> {
  const result = await db.execute(sql`
    with swept as (${sweepExpired(c.now)}), client as (${hitWindowSql(c.window.key, c.window.windowSeconds, c.now)}), issued as (${issueRegistrationChallengeSql(
      c,
      sql`${c.issue} and (select client.count from client) <= ${c.window.limit}::int`,
    )})
    select client.count, (extract(epoch from client.window_started_at) * 1000)::float8 as window_started_ms, p.credential_id, p.transports
    from client left join ${passkeys} p on p.user_id = ${c.userId} order by p.created_at`)
  const rows = rowsOf<{ count: number; window_started_ms: number; credential_id: string | null; transports: string[] | null }>(result)
  return { hit: { count: rows[0]!.count, windowStartedAt: new Date(rows[0]!.window_started_ms) }, credentials: descriptors(rows) }
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

const challengeColumns = {
  userId: webauthnChallenges.userId,
  userBound: webauthnChallenges.userBound,
  sessionTokenHash: webauthnChallenges.sessionTokenHash,
  expiresAt: webauthnChallenges.expiresAt,
}

const ofCeremony = (c: { challengeHash: string; ceremony: Ceremony }) =>
  and(eq(webauthnChallenges.challengeHash, c.challengeHash), eq(webauthnChallenges.ceremony, c.ceremony))

/**
 * Spends a challenge of one ceremony, as a statement: deleted by the statement that reads
 * it, so of any number of concurrent uses exactly one gets it back; with `when`, only if that
 * condition holds (a client under its window, counted earlier in the same batch). The same
 * statement looks up the credential the response names and its holder's account.
 * `consumedChallenge` reads its rows.
 */
export function consumeChallengeStatement(db: Database, c: { challengeHash: string; ceremony: Ceremony; credentialId: string }, when?: SQL) {
  const consumed = db.$with('consumed').as(
    db
      .delete(webauthnChallenges)
      .where(and(ofCeremony(c), when))
      .returning(challengeColumns),
  )
  return withCredential(db.with(consumed).select(selection(consumed)).from(consumed), c.credentialId)
}

/** The same rows as `consumeChallengeStatement`, without spending the challenge: a read, for the first round trip of a ceremony that spends it with what it guards. */
export function selectChallengeStatement(db: Database, c: { challengeHash: string; ceremony: Ceremony; credentialId: string }) {
  return withCredential(db.select(selection(webauthnChallenges)).from(webauthnChallenges).where(ofCeremony(c)).$dynamic(), c.credentialId)
}

const selection = <C extends Record<keyof typeof challengeColumns, AnyPgColumn>>(challenge: C) => ({
  userId: challenge.userId,
  userBound: challenge.userBound,
  sessionTokenHash: challenge.sessionTokenHash,
  expiresAt: challenge.expiresAt,
  passkey: passkeys,
  user: users,
  org: { id: organizations.id, name: organizations.name },
  role: memberships.role,
})

// biome-ignore lint/suspicious/noExplicitAny: a select of `selection`, from a challenge table or its CTE
function withCredential<Q extends { leftJoin: (...args: any[]) => any }>(query: Q, credentialId: string) {
  return query
    .leftJoin(passkeys, eq(passkeys.credentialId, credentialId))
    .leftJoin(users, eq(users.id, passkeys.userId))
    .leftJoin(memberships, eq(memberships.userId, users.id))
    .leftJoin(organizations, eq(organizations.id, memberships.orgId))
}

type ChallengeRow = {
  userId: string | null
  userBound: boolean
  sessionTokenHash: string | null
  expiresAt: Date | string
  passkey: Passkey | null
  user: Account['user'] | null
  org: Account['org'] | null
  role: Account['role'] | null
}

/** The challenge of `consumeChallengeStatement`'s or `selectChallengeStatement`'s rows; undefined when there was none. */
export function consumedChallenge(rows: ChallengeRow[]): ConsumedChallenge | undefined {
  const [row] = rows
  if (!row) return undefined
  const { user, org, role, passkey, ...challenge } = row
  return { ...challenge, expiresAt: new Date(challenge.expiresAt), passkey, account: user && org && role ? { user, org, role } : null }
}

/**
 * Spends a challenge of one ceremony (`consumeChallengeStatement`, run alone). Undefined
 * when the challenge is unknown, already spent, or of another ceremony. An expired
 * challenge is spent too, and comes back for the caller to refuse.
 */
export async function consumeChallenge(
  db: Database,
  c: { challengeHash: string; ceremony: Ceremony; credentialId: string },
): Promise<ConsumedChallenge | undefined> {
  return consumedChallenge((await consumeChallengeStatement(db, c)) as ChallengeRow[])
}

// WebAuthn §6.1.1 as a condition of the UPDATE: the counter must move forward unless it is
// and stays 0. Two concurrent assertions carrying one counter value cannot both pass.
const counterMovesTo = (signCount: number) => sql`((${passkeys.signCount} = 0 and ${signCount}::bigint = 0) or ${passkeys.signCount} < ${signCount}::bigint)`

/** Records a verified use of a passkey (`required` in the batch it guards): no row when its counter did not move forward (a possible clone). */
export const recordPasskeyUseStatement = (db: Database, u: { passkeyId: string; signCount: number; now: Date }) =>
  db
    .update(passkeys)
    .set({ signCount: u.signCount, lastUsedAt: u.now })
    .where(and(eq(passkeys.id, u.passkeyId), counterMovesTo(u.signCount)))
    .returning({ id: passkeys.id })

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

/** Stores a new passkey, in a batch: a credential id registered before (to anyone) fails it (23505). `id` is chosen by the caller. */
export const insertPasskeyStatement = (db: Database, p: NewPasskey & { id?: string }) =>
  db
    .insert(passkeys)
    .values({
      id: p.id,
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

/**
 * Spends a live challenge of one ceremony, for `required` in the batch it guards: it deletes
 * only a challenge not yet expired (and, with `userId`, issued to that user), so of any number
 * of concurrent batches presenting it, exactly one changes a row.
 */
export const spendLiveChallenge = (db: Database, c: { challengeHash: string; ceremony: Ceremony; now: Date; userId?: string }) =>
  db
    .delete(webauthnChallenges)
    .where(
      and(
        eq(webauthnChallenges.challengeHash, c.challengeHash),
        eq(webauthnChallenges.ceremony, c.ceremony),
        gt(webauthnChallenges.expiresAt, c.now),
        c.userId === undefined ? undefined : eq(webauthnChallenges.userId, c.userId),
      ),
    )
    .returning({ challengeHash: webauthnChallenges.challengeHash })

/** Spends a challenge of one ceremony whatever it was (expired, another user's): a statement for a refusal's batch. */
export const spendChallengeStatement = (db: Database, c: { challengeHash: string; ceremony: Ceremony }) =>
  db.delete(webauthnChallenges).where(and(eq(webauthnChallenges.challengeHash, c.challengeHash), eq(webauthnChallenges.ceremony, c.ceremony)))

/** A user's passkeys, newest first: a statement, for the session check's batch. */
export const selectPasskeys = (db: Database, userId: string) =>
  db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(desc(passkeys.createdAt), desc(passkeys.id))

/**
 * Renames one of a user's passkeys and audits it (the row only if it was theirs): one batch,
 * one round trip. The update's row lock holds until the batch commits, so the read after it
 * sees the renamed passkey. Undefined when the user has no passkey with this id.
 */
export async function renamePasskey(db: Database, userId: string, id: string, name: string, event: NewAuthEvent): Promise<Passkey | undefined> {
  const mine = and(eq(passkeys.id, id), eq(passkeys.userId, userId))
  const [changed, [row]] = await batch(db, [
    changeWithEventsStatement(db, db.update(passkeys).set({ name }).where(mine).returning({ id: passkeys.id }).getSQL(), [{ event, only: 'if-changed' }]),
    db.select().from(passkeys).where(mine),
  ])
  return changedCount(changed) > 0 ? row : undefined
}

/**
 * Deletes a passkey unless it is the user's last way to sign in (no password, no OAuth
 * identity, no other passkey), and audits the deletion or its refusal. The user's row is
 * locked first, so two concurrent deletes of a user's last two passkeys are decided one
 * after the other and one of them is refused.
 */
export async function deletePasskey(
  db: Database,
  userId: string,
  id: string,
  events: { deleted: NewAuthEvent; refused: NewAuthEvent },
): Promise<'deleted' | 'not_found' | 'last_sign_in_method'> {
  // One batch (one transaction, one round trip): the lock, then the conditional delete with its audit row.
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
      ), deleted as (${insertEventWhereSql(events.deleted, sql`exists (select 1 from gone)`)}
      ), refused as (${insertEventWhereSql(events.refused, sql`exists (select 1 from target) and not exists (select 1 from gone)`)})
      select (select count(*) from target)::int as found, (select count(*) from gone)::int as deleted`),
  ])
  const [row] = rowsOf<{ found: number; deleted: number }>(result)
  return row!.deleted > 0 ? 'deleted' : row!.found > 0 ? 'last_sign_in_method' : 'not_found'
}
