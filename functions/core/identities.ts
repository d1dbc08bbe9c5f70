import { listIdentities, unlinkIdentity } from '../../db/queries/oauth'
import { recordEvent } from './audit'
import { AuthError, notFound } from './errors'
import { requireRecentSignIn } from './reauthentication'
import type { RecentCaller } from './reauthentication'
import type { Services } from './services'

export const linkedIdentities = (s: Services, userId: string) => listIdentities(s.db, userId)

/**
 * Unlinks the caller's identities of one provider: that provider no longer signs into this
 * account. Refused (409) when it is the last way to sign in: no password, no other provider and no passkey.
 */
export async function unlink(s: Services, caller: RecentCaller, provider: string, password: string | undefined): Promise<void> {
  await requireRecentSignIn(s, caller, password)
  const outcome = await unlinkIdentity(s.db, caller.userId, provider)
  if (outcome === 'not_found') throw notFound('Identity')
  if (outcome === 'last_sign_in_method')
    throw new AuthError(
      'last_sign_in_method',
      'This is the only way to sign in to the account: set a password (through password reset), link another provider or add a passkey first.',
    )
  await recordEvent(s, { type: 'identity_unlinked', outcome: 'success', userId: caller.userId, orgId: caller.orgId, detail: { provider } })
}
