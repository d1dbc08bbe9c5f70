import type { BatchResponse } from 'drizzle-orm/batch'
import { rowsOf } from '../../db/client'
import { listIdentities, unlinkIdentity } from '../../db/queries/oauth'
import type { CallerAttempt } from '../../db/queries/rate-limits'
import { eventRow } from './audit'
import { AuthError, notFound } from './errors'
import { passwordProvenWithReads, reauthenticationReads, requireRecentSignIn } from './reauthentication'
import type { RecentCaller } from './reauthentication'
import type { Services } from './services'
import type { Caller } from './sessions'

export const linkedIdentities = (s: Services, userId: string) => listIdentities(s.db, userId)

/** An unlink's reads: an old sign-in's password (TWO_FACTOR_REAUTH_SECONDS), admitted with the session check, and the account. */
export const unlinkReads = (s: Pick<Services, 'db' | 'config' | 'now'>, caller: Caller, body: { password?: string } | undefined) =>
  reauthenticationReads(s, caller, body, s.config.twoFactorReauthSeconds)

/**
 * Unlinks the caller's identities of one provider: that provider no longer signs into this
 * account. Refused (409) when it is the last way to sign in: no password, no other provider and no passkey.
 * The unlink, its audit row and an old sign-in's password counter reset: one batch.
 */
export async function unlink(
  s: Services,
  caller: RecentCaller,
  provider: string,
  password: string | undefined,
  reads?: BatchResponse<ReturnType<typeof unlinkReads>>,
): Promise<void> {
  const proven = reads && (await passwordProvenWithReads(s, caller, password, { admission: rowsOf<CallerAttempt>(reads[0])[0]!, account: reads[1][0] }))
  if (!proven) await requireRecentSignIn(s, caller, password)
  const event = eventRow(s, { type: 'identity_unlinked', outcome: 'success', userId: caller.userId, orgId: caller.orgId, detail: { provider } })
  const outcome = await unlinkIdentity(s.db, caller.userId, provider, { event, alsoWrite: proven })
  if (outcome === 'not_found') throw notFound('Identity')
  if (outcome === 'last_sign_in_method')
    throw new AuthError(
      'last_sign_in_method',
      'This is the only way to sign in to the account: set a password (through password reset), link another provider or add a passkey first.',
    )
}
