import { and, count, eq, gt, isNotNull, isNull, lt, or, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import type { BatchItem } from 'drizzle-orm/batch'
import { allOrNothing, required } from '../client'
import type { Database, Statements } from '../client'
import { memberships, recoveryCodes, twoFactorChallenges, users } from '../schema'
import { changeWithEventsStatement, changedCount } from './events'
import type { EventOfChange, NewAuthEvent } from './events'
import { revokeUserSessionsStatement } from './sessions'

export interface TotpState {
  secret: string | null
  keyId: string | null
  enabledAt: Date | null
  lastStep: number | null
}

export async function findTotpState(db: Database, userId: string): Promise<TotpState | undefined> {
  const [row] = await selectTotpState(db, userId)
  return row
}

/** `findTotpState` as a statement, for a batch (the session check's): at most one row. */
export const selectTotpState = (db: Database, userId: string) =>
  db
    .select({ secret: users.totpSecret, keyId: users.totpKeyId, enabledAt: users.totpEnabledAt, lastStep: users.totpLastStep })
    .from(users)
    .where(eq(users.id, userId))

/**
 * Stores a new, not yet active secret (replacing an earlier unconfirmed one). False when 2FA
 * is already on: the condition is in the statement, so a concurrent `enable` cannot be undone.
 */
export async function storePendingTotpSecret(
  db: Database,
  userId: string,
  secret: { ciphertext: string; keyId: string },
  now: Date,
): Promise<boolean> {
  return (await storePendingTotpSecretStatement(db, userId, secret, now)).length > 0
}

/** `storePendingTotpSecret` as a statement, for a batch: one row when stored, none while 2FA is on. */
export const storePendingTotpSecretStatement = (db: Database, userId: string, secret: { ciphertext: string; keyId: string }, now: Date) =>
  db
    .update(users)
    .set({ totpSecret: secret.ciphertext, totpKeyId: secret.keyId, totpLastStep: null, updatedAt: now })
    .where(and(eq(users.id, userId), isNull(users.totpEnabledAt)))
    .returning({ id: users.id })

// RFC 6238 §5.2: a step is accepted only if it is newer than the last one accepted. Being a
// condition of the UPDATE, two concurrent uses of one code cannot both pass.
const newerStep = (step: number) => or(isNull(users.totpLastStep), lt(users.totpLastStep, step))

/**
 * Records a verified TOTP step, as a `required` statement for the front of a batch: when that
 * step (or a later one) was already used, the batch writes nothing.
 */
export const advanceTotpStep = (db: Database, userId: string, step: number, now: Date) =>
  required(
    db,
    db
      .update(users)
      .set({ totpLastStep: step, updatedAt: now })
      .where(and(eq(users.id, userId), isNotNull(users.totpEnabledAt), newerStep(step)))
      .returning({ id: users.id }),
  )

// Every batch here locks rows in one order, challenge → recovery codes → user, so two
// of them can never wait on each other (no deadlock between a login and a disable).

/**
 * Turns 2FA on with the secret the code was checked against, stores the first set of
 * recovery codes, and ends every session of the user but `keepSession`, all at once: whoever
 * else holds a session may be who is locking the owner out. Returns how many sessions ended,
 * or null when the secret changed meanwhile (a new setup), 2FA is already on, or the step
 * was already used: then nothing was written. One batch, one round trip.
 */
export async function enableTotp(
  db: Database,
  e: { userId: string; ciphertext: string; step: number; recoveryCodeHashes: string[]; now: Date; keepSession: string },
  /** Its audit row: the number of sessions ended goes in as `other_sessions_ended`. */
  enabled: NewAuthEvent,
  alsoWrite: BatchItem<'pg'>[] = [],
  /** Statements before the change (an attempt admitted, `required`): the batch writes nothing unless they pass. */
  first: BatchItem<'pg'>[] | undefined = [],
): Promise<number | null> {
  const before = first ?? []
  const statements: BatchItem<'pg'>[] = [
    ...before,
    ...recoveryCodeStatements(db, e.userId, e.recoveryCodeHashes, e.now),
    required(
      db,
      db
        .update(users)
        .set({ totpEnabledAt: e.now, totpLastStep: e.step, updatedAt: e.now })
        .where(and(eq(users.id, e.userId), isNull(users.totpEnabledAt), eq(users.totpSecret, e.ciphertext), newerStep(e.step)))
        .returning({ id: users.id }),
    ),
    changeWithEventsStatement(db, revokeUserSessionsStatement(db, e.userId, e.now, e.keepSession).getSQL(), [
      { event: enabled, countAs: 'other_sessions_ended' },
    ]),
    ...alsoWrite,
  ]
  const done = await allOrNothing(db, statements as unknown as Statements)
  return done ? changedCount(done[before.length + 3]) : null
}

// The user's recovery codes replaced: the old set stops working in the same transaction.
const recoveryCodeStatements = (db: Database, userId: string, hashes: string[], now: Date) =>
  [
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
    db.insert(recoveryCodes).values(hashes.map((codeHash) => ({ userId, codeHash, createdAt: now }))),
  ] as const

/** Replaces the user's recovery codes (statements, for a batch): the old set stops working in the same transaction. */
export const replaceRecoveryCodes = recoveryCodeStatements

/** Spends a recovery code, as a `required` statement: of two concurrent uses, exactly one finds `used_at is null`. */
export const spendRecoveryCode = (db: Database, userId: string, codeHash: string, now: Date) =>
  required(db, spendRecoveryCodeStatement(db, userId, codeHash, now))

const spendRecoveryCodeStatement = (db: Database, userId: string, codeHash: string, now: Date) =>
  db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, codeHash), isNull(recoveryCodes.usedAt)))
    .returning({ id: recoveryCodes.id })

/** One row, `{ n }`: the user's unused recovery codes. */
export const countUnusedRecoveryCodes = (db: Database, userId: string) =>
  db
    .select({ n: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))

/**
 * A member of the organization whose 2FA is still on, their row locked for the rest of the
 * batch (a change for `required`): nothing when it was turned off meanwhile or they left. Of
 * concurrent resets, the first takes the lock and the others find 2FA off once it commits.
 */
export const lockMemberWithTwoFactor = (db: Database, orgId: string, userId: string, now: Date) =>
  db
    .update(users)
    .set({ updatedAt: now })
    .where(
      and(
        eq(users.id, userId),
        isNotNull(users.totpEnabledAt),
        sql`exists (select 1 from ${memberships} where ${memberships.userId} = ${userId} and ${memberships.orgId} = ${orgId})`,
      ),
    )
    .returning({ id: users.id })

/**
 * Turns 2FA off (the secret, the recovery codes and any pending login challenge go) and
 * ends every session of the user but `keepSession` (all of them without one), as statements
 * of one batch: never 2FA off with the sessions that may be why it was turned off still
 * alive. `events` are its audit rows (`countAs` names the number of sessions ended). With
 * `proof`, the code proving the change is spent in the same batch, in the lock order above;
 * when it was already used, the batch writes nothing (`allOrNothing` answers undefined).
 */
export function disableTotp(
  db: Database,
  d: { userId: string; now: Date; keepSession?: string; proof?: { codeHash: string } | { step: number } },
  events: EventOfChange[],
): [BatchItem<'pg'>, ...BatchItem<'pg'>[]] {
  const { userId, now, proof } = d
  const spend = (which: 'codeHash' | 'step'): BatchItem<'pg'>[] =>
    proof && which in proof
      ? [
          'codeHash' in proof
            ? spendRecoveryCode(db, userId, proof.codeHash, now)
            : advanceTotpStep(db, userId, (proof as { step: number }).step, now),
        ]
      : []
  return [
    db.delete(twoFactorChallenges).where(eq(twoFactorChallenges.userId, userId)),
    ...spend('codeHash'),
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
    ...spend('step'),
    db
      .update(users)
      .set({ totpSecret: null, totpKeyId: null, totpEnabledAt: null, totpLastStep: null, updatedAt: now })
      .where(eq(users.id, userId)),
    changeWithEventsStatement(db, revokeUserSessionsStatement(db, userId, now, d.keepSession).getSQL(), events),
  ]
}

// ---- the two-step login ----

/** Ends every pending login challenge of the user (their password changed). */
export const deleteChallengesStatement = (db: Database, userId: string) =>
  db.delete(twoFactorChallenges).where(eq(twoFactorChallenges.userId, userId))

export interface NewChallenge {
  tokenHash: string
  userId: string
  now: Date
  expiresAt: Date
  userAgent?: string | null
  ip?: string | null
  firstFactorPasskeyId?: string
}

export function insertChallenge(db: Database, c: NewChallenge) {
  return db.insert(twoFactorChallenges).values({
    tokenHash: c.tokenHash,
    userId: c.userId,
    createdAt: c.now,
    expiresAt: c.expiresAt,
    userAgent: c.userAgent ?? null,
    ip: c.ip ?? null,
    firstFactorPasskeyId: c.firstFactorPasskeyId ?? null,
  })
}

/**
 * `takeChallengeAttempt` as SQL for `hitWindowThenAdmit`'s `subject`: taken only while
 * `underLimit`, it returns the challenge's user and their counter's key (`keyPrefix` + id).
 */
export const takeChallengeAttemptSql = (tokenHash: string, now: Date, maxAttempts: number, keyPrefix: string, underLimit: SQL) => sql`
  update ${twoFactorChallenges} set failed_attempts = failed_attempts + 1
  where token_hash = ${tokenHash} and used_at is null and expires_at > ${now.toISOString()}::timestamptz
    and failed_attempts < ${maxAttempts}::int and ${underLimit}
  returning ${keyPrefix}::text || user_id as key, user_id, first_factor_passkey_id`

/** The user of a challenge, as a subquery (for the account read in the same batch). */
export const challengeUser = (tokenHash: string) =>
  sql`(select ${twoFactorChallenges.userId} from ${twoFactorChallenges} where ${twoFactorChallenges.tokenHash} = ${tokenHash})`

/**
 * Takes one of a challenge's attempts before its code is checked, counting it as failed
 * until it succeeds. Taking it first, in one conditional statement, means concurrent
 * guesses cannot get past the cap: the (max+1)th finds nothing to take. Returns the user,
 * or undefined when the challenge is unknown, spent, expired or out of attempts.
 */
export async function takeChallengeAttempt(
  db: Database,
  tokenHash: string,
  now: Date,
  maxAttempts: number,
): Promise<{ userId: string; firstFactorPasskeyId: string | null } | undefined> {
  const [row] = await db
    .update(twoFactorChallenges)
    .set({ failedAttempts: sql`${twoFactorChallenges.failedAttempts} + 1` })
    .where(
      and(
        eq(twoFactorChallenges.tokenHash, tokenHash),
        isNull(twoFactorChallenges.usedAt),
        gt(twoFactorChallenges.expiresAt, now),
        lt(twoFactorChallenges.failedAttempts, maxAttempts),
      ),
    )
    .returning({ userId: twoFactorChallenges.userId, firstFactorPasskeyId: twoFactorChallenges.firstFactorPasskeyId })
  return row
}

// Spends the challenge and gives back the attempt taken for the code (or passkey) that proved right.
export const spendChallenge = (db: Database, tokenHash: string, now: Date) =>
  db
    .update(twoFactorChallenges)
    .set({ usedAt: now, failedAttempts: sql`${twoFactorChallenges.failedAttempts} - 1` })
    .where(and(eq(twoFactorChallenges.tokenHash, tokenHash), isNull(twoFactorChallenges.usedAt), gt(twoFactorChallenges.expiresAt, now)))
    .returning({ tokenHash: twoFactorChallenges.tokenHash })

/**
 * The statements completing a login challenge with a verified TOTP step, for the front of
 * the login's batch: the challenge is spent and the step recorded together, or the batch
 * writes nothing (`allOrNothing` answers undefined). The challenge row's lock orders
 * concurrent verifications, and the second finds it spent.
 */
export const completeChallengeWithTotp = (db: Database, c: { tokenHash: string; userId: string; step: number; now: Date }) =>
  [
    required(db, spendChallenge(db, c.tokenHash, c.now)),
    advanceTotpStep(db, c.userId, c.step, c.now),
  ] as const

/** The same with a recovery code: the challenge and the code are both spent, or the batch writes nothing. */
export const completeChallengeWithRecoveryCode = (db: Database, c: { tokenHash: string; userId: string; codeHash: string; now: Date }) =>
  [required(db, spendChallenge(db, c.tokenHash, c.now)), required(db, spendRecoveryCodeStatement(db, c.userId, c.codeHash, c.now))] as const
