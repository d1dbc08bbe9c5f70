import { and, count, eq, gt, isNotNull, isNull, lt, ne, or, sql } from 'drizzle-orm'
import { batch, transaction } from '../client'
import type { Database } from '../client'
import { recoveryCodes, sessions, twoFactorChallenges, users } from '../schema'
import { revokeUserSessions } from './sessions'

export interface TotpState {
  secret: string | null
  keyId: string | null
  enabledAt: Date | null
  lastStep: number | null
}

export async function findTotpState(db: Database, userId: string): Promise<TotpState | undefined> {
  const [row] = await db
    .select({ secret: users.totpSecret, keyId: users.totpKeyId, enabledAt: users.totpEnabledAt, lastStep: users.totpLastStep })
    .from(users)
    .where(eq(users.id, userId))
  return row
}

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
  const rows = await db
    .update(users)
    .set({ totpSecret: secret.ciphertext, totpKeyId: secret.keyId, totpLastStep: null, updatedAt: now })
    .where(and(eq(users.id, userId), isNull(users.totpEnabledAt)))
    .returning({ id: users.id })
  return rows.length > 0
}

// RFC 6238 §5.2: a step is accepted only if it is newer than the last one accepted. Being a
// condition of the UPDATE, two concurrent uses of one code cannot both pass.
const newerStep = (step: number) => or(isNull(users.totpLastStep), lt(users.totpLastStep, step))

/** Records a verified TOTP step; false when that step (or a later one) was already used. */
export async function advanceTotpStep(db: Database, userId: string, step: number, now: Date): Promise<boolean> {
  const rows = await db
    .update(users)
    .set({ totpLastStep: step, updatedAt: now })
    .where(and(eq(users.id, userId), isNotNull(users.totpEnabledAt), newerStep(step)))
    .returning({ id: users.id })
  return rows.length > 0
}

// Every transaction here locks rows in one order, challenge → recovery codes → user, so two
// of them can never wait on each other (no deadlock between a login and a disable).

// Thrown inside a transaction to roll it back when a condition fails; never escapes.
class Rollback extends Error {}

/** Runs `work` in a transaction that commits only if it returns true. */
async function allOrNothing(db: Database, work: (tx: Database) => Promise<boolean>): Promise<boolean> {
  try {
    return await transaction(db, async (tx) => {
      if (!(await work(tx))) throw new Rollback()
      return true
    })
  } catch (error) {
    if (error instanceof Rollback) return false
    throw error
  }
}

async function insertRecoveryCodes(db: Database, userId: string, hashes: string[], now: Date) {
  await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId))
  await db.insert(recoveryCodes).values(hashes.map((codeHash) => ({ userId, codeHash, createdAt: now })))
}

/**
 * Turns 2FA on with the secret the code was checked against, stores the first set of
 * recovery codes, and ends every session of the user but `keepSession`, all at once: whoever
 * else holds a session may be who is locking the owner out. Returns how many sessions ended,
 * or null when the secret changed meanwhile (a new setup), 2FA is already on, or the step
 * was already used.
 */
export async function enableTotp(
  db: Database,
  e: { userId: string; ciphertext: string; step: number; recoveryCodeHashes: string[]; now: Date; keepSession: string },
  within?: (tx: Database, sessionsEnded: number) => Promise<void>,
): Promise<number | null> {
  let ended = 0
  const enabled = await allOrNothing(db, async (tx) => {
    await insertRecoveryCodes(tx, e.userId, e.recoveryCodeHashes, e.now)
    const rows = await tx
      .update(users)
      .set({ totpEnabledAt: e.now, totpLastStep: e.step, updatedAt: e.now })
      .where(and(eq(users.id, e.userId), isNull(users.totpEnabledAt), eq(users.totpSecret, e.ciphertext), newerStep(e.step)))
      .returning({ id: users.id })
    if (rows.length === 0) return false
    ended = await revokeUserSessions(tx, e.userId, e.now, e.keepSession)
    await within?.(tx, ended)
    return true
  })
  return enabled ? ended : null
}

/** Replaces the user's recovery codes: the old set stops working in the same transaction (one batch, one round trip). */
export async function replaceRecoveryCodes(db: Database, userId: string, hashes: string[], now: Date): Promise<void> {
  await batch(db, [
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
    db.insert(recoveryCodes).values(hashes.map((codeHash) => ({ userId, codeHash, createdAt: now }))),
  ])
}

/** Spends a recovery code. Of two concurrent uses, exactly one finds `used_at is null`. */
export async function spendRecoveryCode(db: Database, userId: string, codeHash: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, codeHash), isNull(recoveryCodes.usedAt)))
    .returning({ id: recoveryCodes.id })
  return rows.length > 0
}

export async function countUnusedRecoveryCodes(db: Database, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
  return row?.n ?? 0
}

/**
 * Turns 2FA off (the secret, the recovery codes and any pending login challenge go) and
 * ends every session of the user but `keepSession` (all of them without one), in one
 * transaction: never 2FA off with the sessions that may be why it was turned off still
 * alive. Returns how many sessions ended.
 */
export async function disableTotp(db: Database, userId: string, now: Date, keepSession?: string): Promise<number> {
  // One batch (one transaction, one round trip), in the lock order above.
  const [, , , ended] = await batch(db, [
    db.delete(twoFactorChallenges).where(eq(twoFactorChallenges.userId, userId)),
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
    db
      .update(users)
      .set({ totpSecret: null, totpKeyId: null, totpEnabledAt: null, totpLastStep: null, updatedAt: now })
      .where(eq(users.id, userId)),
    db
      .update(sessions)
      .set({ revokedAt: now })
      .where(
        and(
          eq(sessions.userId, userId),
          isNull(sessions.revokedAt),
          keepSession === undefined ? undefined : ne(sessions.id, keepSession),
        ),
      )
      .returning({ id: sessions.id }),
  ])
  return ended.length
}

// ---- the two-step login ----

/** Ends every pending login challenge of the user (their password changed). */
export async function deleteChallenges(db: Database, userId: string): Promise<void> {
  await db.delete(twoFactorChallenges).where(eq(twoFactorChallenges.userId, userId))
}

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

// Spends the challenge and gives back the attempt taken for the code that proved right.
async function spendChallenge(db: Database, tokenHash: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(twoFactorChallenges)
    .set({ usedAt: now, failedAttempts: sql`${twoFactorChallenges.failedAttempts} - 1` })
    .where(and(eq(twoFactorChallenges.tokenHash, tokenHash), isNull(twoFactorChallenges.usedAt), gt(twoFactorChallenges.expiresAt, now)))
    .returning({ tokenHash: twoFactorChallenges.tokenHash })
  return rows.length > 0
}

/**
 * Completes a login challenge with a verified TOTP step: the challenge is spent and the step
 * recorded together, or neither (the challenge row's lock orders concurrent verifications,
 * and the second finds it spent).
 */
export function completeChallengeWithTotp(
  db: Database,
  c: { tokenHash: string; userId: string; step: number; now: Date },
): Promise<boolean> {
  return allOrNothing(db, async (tx) => (await spendChallenge(tx, c.tokenHash, c.now)) && advanceTotpStep(tx, c.userId, c.step, c.now))
}

/** Completes a login challenge with a recovery code: both are spent, or neither. */
export function completeChallengeWithRecoveryCode(
  db: Database,
  c: { tokenHash: string; userId: string; codeHash: string; now: Date },
): Promise<boolean> {
  return allOrNothing(
    db,
    async (tx) => (await spendChallenge(tx, c.tokenHash, c.now)) && spendRecoveryCode(tx, c.userId, c.codeHash, c.now),
  )
}
