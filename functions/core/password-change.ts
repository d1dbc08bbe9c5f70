import { selectAccountById, updatePasswordHash } from '../../db/queries/accounts'
import { voidEmailTokensStatement } from '../../db/queries/email-tokens'
import { changeWithEventsStatement } from '../../db/queries/events'
import { resetCounter } from '../../db/queries/rate-limits'
import { revokeUserSessionsStatement } from '../../db/queries/sessions'
import { deleteChallengesStatement } from '../../db/queries/two-factor'
import type { Principal } from '../../db/queries/sessions'
import { batch, rowsOf } from '../../db/client'
import type { Database } from '../../db/client'
import { eventRow, eventStatement } from './audit'
import type { AuthEvent } from './audit'
import { unauthenticated } from './errors'
import { checkNewPassword } from './password-policy'
import { DUMMY_HASH, hashPassword, verifyPassword } from './passwords'
import { accountKey, callersAccountKey, callerAttemptStatement, checkLimit, failureStatements, judgeCallerAttempt } from './rate-limit'
import type { Services } from './services'
import type { Caller } from './sessions'
import type { CallerAttempt } from '../../db/queries/rate-limits'
import type { Config } from '../config'
import type { BatchResponse } from 'drizzle-orm/batch'

/**
 * A password change's reads, in the session check's round trip: the attempt admitted on the
 * account's lock (only for a caller the check passes, and a body the endpoint will act on)
 * and the account.
 */
export const passwordChangeReads = (s: { db: Database; config: Config; now: Date }, caller: Caller, bodyValid: boolean) =>
  [
    callerAttemptStatement(s, caller, { scope: 'profile:write', key: callersAccountKey, when: { act: bodyValid }, policy: s.config.rateLimits.lockout }),
    selectAccountById(s.db, caller.userId),
  ] as const

/**
 * Changes the caller's password. The current password is a guess like any login's, so it
 * counts against the account's lock: a stolen access token cannot brute-force it. The new
 * hash, the end of every other session and of mailed reset links, and the audit rows commit
 * together or not at all;
 * the session making the change stays alive.
 */
export async function changePassword(
  s: Services,
  caller: Principal,
  currentPassword: string,
  newPassword: string,
  reads?: BatchResponse<ReturnType<typeof passwordChangeReads>>,
): Promise<void> {
  const who = { userId: caller.userId, orgId: caller.orgId }
  const policy = s.config.rateLimits.lockout
  // Admitted and read with the session check (the reads); without them, or should a
  // revocation have come between the batch's statements, admitted here, one trip more.
  const [admission, [account]] = reads ?? [undefined, await selectAccountById(s.db, caller.userId)]
  const admitted = admission === undefined ? undefined : await judgeCallerAttempt(s, rowsOf<CallerAttempt>(admission)[0]!, who, policy)
  const attempt = admitted ?? (await checkLimit(s, accountKey(caller.email), who, policy))
  const argon2 = await s.argon2()
  // An OAuth-only account has no current password to prove; it still costs one hash.
  const hash = account?.user.passwordHash ?? DUMMY_HASH
  if (!verifyPassword(argon2, currentPassword, hash) || !account?.user.passwordHash) {
    await batch(s.db, [
      eventStatement(s, { type: 'password_changed', outcome: 'failure', ...who, detail: { reason: 'wrong_current_password' } }),
      ...failureStatements(s, attempt, who),
    ])
    throw unauthenticated('invalid_credentials', 'The current password is incorrect.')
  }
  await checkNewPassword(s, newPassword, { field: 'new_password', email: account.user.email, fullName: account.user.fullName })
  const newHash = hashPassword(argon2, newPassword)
  const event = (e: AuthEvent, countAs: string, only?: 'if-changed') => ({ event: eventRow(s, e), countAs, only })
  // One batch (one transaction, one round trip): the hash, the end of other sessions, of reset
  // links and of 2FA challenges, the audit rows, and the account's failures forgotten.
  await batch(s.db, [
    updatePasswordHash(s.db, caller.userId, newHash, s.now),
    // A reset link mailed before the change would otherwise undo it.
    voidEmailTokensStatement(s.db, caller.userId, 'password_reset', s.now),
    changeWithEventsStatement(s.db, revokeUserSessionsStatement(s.db, caller.userId, s.now, caller.sessionId).getSQL(), [
      event({ type: 'password_changed', outcome: 'success', ...who }, 'other_sessions_ended'),
      event({ type: 'session_revoked', outcome: 'success', ...who, detail: { reason: 'password_changed' } }, 'sessions', 'if-changed'),
    ]),
    // A 2FA challenge opened with the old password would otherwise still open a session.
    deleteChallengesStatement(s.db, caller.userId),
    resetCounter(s.db, attempt.key),
  ])
}
