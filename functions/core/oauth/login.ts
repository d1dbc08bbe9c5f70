import { createAccount, findAccountByEmail } from '../../../db/queries/accounts'
import type { Account } from '../../../db/queries/accounts'
import { findAccountByIdentity, insertIdentityStatement, linkIdentity } from '../../../db/queries/oauth'
import { recordEvent } from '../audit'
import { sendVerificationMail } from '../email-verification'
import { AuthError, unauthenticated, validationFailed } from '../errors'
import { completeLogin } from '../login'
import type { LoginOutcome } from '../login'
import { limitClient } from '../rate-limit'
import { passwordMatches } from '../reauthentication'
import type { Services } from '../services'
import type { AuthorizationGrant, ProviderIdentity, ProviderName } from '.'

export type OAuthOutcome = LoginOutcome & { isNewUser: boolean }

/**
 * Logs in with an authorization code from a provider: the redirect URI is checked first
 * (before the provider hears of this code), then the provider proves an identity, then
 * that identity finds, links or creates the account, and the login completes like any other.
 */
export async function oauthLogin(
  s: Services,
  providerName: ProviderName,
  grant: AuthorizationGrant,
  options: { password?: string } = {},
): Promise<OAuthOutcome> {
  await limitClient(s, 'oauth')
  const { oauth } = s.config
  // RFC 9700 §4.1.3: exact string matching, nothing looser.
  if (!oauth.redirectUris.includes(grant.redirectUri))
    throw validationFailed([{ field: 'redirect_uri', message: 'is not an allowed redirect URI' }])
  // RFC 9700 §2.1.1: PKCE against code injection; a deployment whose clients all send it can demand it.
  if (oauth.requirePkce && !grant.codeVerifier)
    throw validationFailed([{ field: 'code_verifier', message: 'is required (PKCE) on this server' }])
  const provider = oauth.providers[providerName]
  if (!provider)
    throw new AuthError('provider_not_configured', `Sign-in with ${providerName} is not configured on this server.`, {
      errors: [{ field: 'provider', message: 'is not configured on this server' }],
    })
  const identity = await provider.identify({ fetch: s.fetch, now: s.now, timeoutMs: oauth.timeoutMs }, grant)
  const { account, isNewUser } = await findOrCreateAccount(s, providerName, identity, options.password)
  if (!account.user.isActive) throw new AuthError('account_inactive', 'The account is inactive.')
  return { ...(await completeLogin(s, account, 'oauth')), isNewUser }
}

const emailTaken = () =>
  new AuthError(
    'email_taken',
    'An account with this email already exists. Sign in to it the way you created it; this sign-in cannot be linked to it.',
  )

async function findOrCreateAccount(
  s: Services,
  provider: ProviderName,
  identity: ProviderIdentity,
  password: string | undefined,
  attempt = 0,
): Promise<{ account: Account; isNewUser: boolean }> {
  const known = await findAccountByIdentity(s.db, provider, identity.subject)
  if (known) return { account: known, isNewUser: false }
  const link = { provider, subject: identity.subject, email: identity.email }

  const existing = identity.email ? await findAccountByEmail(s.db, identity.email) : undefined
  if (existing) {
    // Linking needs both sides to prove the address: the provider vouches for the caller,
    // and the account's own address was verified. Otherwise whoever registered the address
    // first (without owning it) would get the real owner's logins, or the other way round.
    if (!identity.emailVerified || !existing.user.isVerified) throw emailTaken()
    if (!existing.user.isActive) throw new AuthError('account_inactive', 'The account is inactive.')
    // Whoever registered the address chose the password, maybe before its owner proved the
    // mailbox: a provider joins that account only with the password too.
    if (existing.user.passwordHash) await provePassword(s, existing, password)
    if (await linkIdentity(s.db, existing.user.id, link, s.now)) {
      await recordEvent(s, { type: 'identity_linked', outcome: 'success', userId: existing.user.id, orgId: existing.org.id, detail: { provider } })
      return { account: existing, isNewUser: false }
    }
    // Linked concurrently by a twin request: look again.
    return retry(s, provider, identity, password, attempt)
  }

  if (!identity.email)
    throw new AuthError('oauth_email_missing', `${provider} did not share an email address; allow access to it and try again.`)
  // The same bound as full_name everywhere else.
  const fullName = (identity.name ?? identity.email.split('@')[0]!).slice(0, 200)
  const created = await createAccount(
    s.db,
    {
      email: identity.email,
      fullName,
      passwordHash: null,
      organizationName: `${fullName}'s organization`,
      oauthProvider: provider,
      isVerified: identity.emailVerified,
      // An address the provider does not vouch for is only where we write to: it holds
      // nothing (its real owner can still register it) until its mailbox is proven.
      ownsEmail: identity.emailVerified,
    },
    ({ userId }) => [insertIdentityStatement(s.db, userId, link, s.now)],
  )
  if (!created) {
    // The email or the identity was taken between our reads and the insert.
    return retry(s, provider, identity, password, attempt)
  }
  if (!identity.emailVerified)
    await sendVerificationMail(s, created.user, { afterResponse: true }).catch((error) => console.error('verification mail not sent', error))
  return { account: created, isNewUser: true }
}

function retry(s: Services, provider: ProviderName, identity: ProviderIdentity, password: string | undefined, attempt: number) {
  if (attempt >= 1) throw new AuthError('conflict', 'The account changed while signing in; try again.')
  return findOrCreateAccount(s, provider, identity, password, attempt + 1)
}

/** The account's password, for linking. */
async function provePassword(s: Services, account: Account, password: string | undefined): Promise<void> {
  if (password === undefined)
    throw new AuthError(
      'link_requires_password',
      'An account with this email already exists and has a password: send it as `password` to link this sign-in to it.',
    )
  const who = { userId: account.user.id, orgId: account.org.id, email: account.user.email }
  if (!(await passwordMatches(s, who, account.user.passwordHash, password))) {
    await recordEvent(s, { type: 'identity_linked', outcome: 'failure', userId: who.userId, orgId: who.orgId, detail: { reason: 'wrong_password' } })
    throw unauthenticated('invalid_credentials', 'The password is incorrect.')
  }
}
