import { findAccount, updatePasswordHash } from '../../db/queries/accounts'
import { voidEmailTokens } from '../../db/queries/email-tokens'
import { revokeUserSessions } from '../../db/queries/sessions'
import { deleteChallenges } from '../../db/queries/two-factor'
import type { Principal } from '../../db/queries/sessions'
import { transaction } from '../../db/client'
import { recordEvent } from './audit'
import { unauthenticated } from './errors'
import { checkNewPassword } from './password-policy'
import { DUMMY_HASH, hashPassword, verifyPassword } from './passwords'
import { accountKey, checkLimit, recordFailure, resetFailures } from './rate-limit'
import type { Services } from './services'

/**
 * Changes the caller's password. The current password is a guess like any login's, so it
 * counts against the account's lock: a stolen access token cannot brute-force it. The new
 * hash, the end of every other session and of mailed reset links, and the audit rows commit
 * together or not at all;
 * the session making the change stays alive.
 */
export async function changePassword(s: Services, caller: Principal, currentPassword: string, newPassword: string): Promise<void> {
  const who = { userId: caller.userId, orgId: caller.orgId }
  const attempt = await checkLimit(s, accountKey(caller.email), who)
  const argon2 = await s.argon2()
  const account = await findAccount(s.db, caller.userId)
  // An OAuth-only account has no current password to prove; it still costs one hash.
  const hash = account?.user.passwordHash ?? DUMMY_HASH
  if (!verifyPassword(argon2, currentPassword, hash) || !account?.user.passwordHash) {
    await recordEvent(s, { type: 'password_changed', outcome: 'failure', ...who, detail: { reason: 'wrong_current_password' } })
    await recordFailure(s, attempt, who)
    throw unauthenticated('invalid_credentials', 'The current password is incorrect.')
  }
  await checkNewPassword(s, newPassword, { field: 'new_password', email: account.user.email, fullName: account.user.fullName })
  const newHash = hashPassword(argon2, newPassword)
  await transaction(s.db, async (tx) => {
    await updatePasswordHash(tx, caller.userId, newHash, s.now)
    // A reset link mailed before the change would otherwise undo it.
    await voidEmailTokens(tx, caller.userId, 'password_reset', s.now)
    const ended = await revokeUserSessions(tx, caller.userId, s.now, caller.sessionId)
    // A 2FA challenge opened with the old password would otherwise still open a session.
    await deleteChallenges(tx, caller.userId)
    await recordEvent(s, { type: 'password_changed', outcome: 'success', ...who, detail: { other_sessions_ended: ended } }, tx)
    if (ended > 0)
      await recordEvent(s, { type: 'session_revoked', outcome: 'success', ...who, detail: { reason: 'password_changed', sessions: ended } }, tx)
  })
  await resetFailures(s, attempt.key)
}
