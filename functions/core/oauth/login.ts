import { batch } from '../../../db/client'
import { isUniqueViolation } from '../../../db/errors'
import { accountStatements, selectAccountByEmail } from '../../../db/queries/accounts'
import type { Account } from '../../../db/queries/accounts'
import { insertIdentityStatement, linkIdentity, selectAccountByIdentity, signedInAs, signInIdentityStatement } from '../../../db/queries/oauth'
import { eventRow, recordEvent } from '../audit'
import { newAccountVerificationMail } from '../email-verification'
import { AuthError, unauthenticated, validationFailed } from '../errors'
import { completeLogin, prepareLogin } from '../login'
import type { LoginOutcome } from '../login'
import { mailFailure } from '../mail'
import { limitClient } from '../rate-limit'
import { passwordMatches } from '../reauthentication'
import type { Services } from '../services'
import { prepareSessionRow } from '../sessions'
import { prepareChallengeRow } from '../two-factor'
import type { AuthorizationGrant, ProviderIdentity, ProviderName } from '.'

export type OAuthOutcome = LoginOutcome & { isNewUser: boolean }

/**
 * Logs in with an authorization code from a provider: the redirect URI is checked first
 * (before the provider hears of this code), then the provider proves an identity, then
 * that identity finds, links or creates the account, and the login completes like any other.
 *
 * Two round trips for a known identity: the client's window (before the provider is called),
 * then one batch that signs it in, decided in SQL on its account (`signInIdentityStatement`),
 * with the lookups. Three for a new account: that batch writes nothing, and the whole new
 * account signed in is one more write.
 */
export async function oauthLogin(
  s: Services,
  providerName: ProviderName,
  grant: AuthorizationGrant,
  options: { password?: string } = {},
): Promise<OAuthOutcome> {
  // First, alone: a client over its window must not get the provider's token endpoint called
  // with our credentials (the provider would throttle them for every user).
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
  const found = await findOrCreateAccount(s, providerName, identity, options.password)
  if ('login' in found) return { ...found.login, isNewUser: found.isNewUser }
  const { account } = found
  if (!account.user.isActive) throw new AuthError('account_inactive', 'The account is inactive.')
  return { ...(await completeLogin(s, account, 'oauth')), isNewUser: false }
}

const emailTaken = () =>
  new AuthError(
    'email_taken',
    'An account with this email already exists. Sign in to it the way you created it; this sign-in cannot be linked to it.',
  )

/** The account of an identity, linked (to sign in); or already signed in (`login`): a known identity, or a new account. */
type Found = { account: Account } | { login: LoginOutcome; isNewUser: boolean }

async function findOrCreateAccount(
  s: Services,
  provider: ProviderName,
  identity: ProviderIdentity,
  password: string | undefined,
  attempt = 0,
): Promise<Found> {
  // A known identity is signed in by the batch that looks it up: the write first, so its lock
  // on the account holds while the reads after it see the account as the write judged it.
  const signIn = await prepareIdentityLogin(s, provider, identity.subject)
  const [written, [known], [byEmail]] = await batch(s.db, [
    signIn.statement,
    selectAccountByIdentity(s.db, provider, identity.subject),
    selectAccountByEmail(s.db, identity.email ?? ''),
  ])
  if (known) {
    const login = await signIn.outcome(known, signedInAs(written))
    if (login) return { login, isNewUser: false }
    if (!known.user.isActive) throw new AuthError('account_inactive', 'The account is inactive.')
    // Reactivated between the write and the reads: nothing was written; look again.
    return retry(s, provider, identity, password, attempt)
  }
  const link = { provider, subject: identity.subject, email: identity.email }

  const existing = identity.email ? byEmail : undefined
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
      return { account: existing }
    }
    // Linked concurrently by a twin request: look again.
    return retry(s, provider, identity, password, attempt)
  }

  if (!identity.email)
    throw new AuthError('oauth_email_missing', `${provider} did not share an email address; allow access to it and try again.`)
  const login = await createAndSignIn(s, provider, identity as ProviderIdentity & { email: string })
  // The email or the identity was taken between our reads and the write.
  return login ? { login, isNewUser: true } : retry(s, provider, identity, password, attempt)
}

/**
 * A returning identity's login as one statement, its rows chosen here but their user: the
 * session, or with 2FA on only the challenge (as `completeLogin`), written only for an active
 * account. `outcome` reads what the statement wrote; undefined when it wrote nothing.
 */
async function prepareIdentityLogin(s: Services, provider: ProviderName, subject: string) {
  const [session, challenge] = await Promise.all([prepareSessionRow(s), prepareChallengeRow(s)])
  const statement = signInIdentityStatement(s.db, {
    provider,
    subject,
    session: session.row,
    challenge: challenge.challenge,
    events: {
      login: eventRow(s, { type: 'login', outcome: 'success', detail: { method: 'oauth', session_id: session.row.id } }),
      firstFactor: eventRow(s, { type: 'login_first_factor', outcome: 'success', detail: { method: 'oauth' } }),
    },
  })
  const outcome = async (account: Account, written: { sessions: number; challenges: number }): Promise<LoginOutcome | undefined> => {
    if (written.challenges) return { kind: 'two_factor', account, sessionToken: challenge.sessionToken }
    if (!written.sessions) return undefined
    return { kind: 'tokens', account, tokens: await session.sign({ userId: account.user.id, orgId: account.org.id, role: account.role }) }
  }
  return { statement, outcome }
}

/**
 * A new account for an identity, signed in, in one batch (as register's): organization, user,
 * membership, the identity, the first session with its login event, and, for an address the
 * provider does not vouch for, the verification link and its outbox mail. All or nothing:
 * undefined when the email or the identity was taken meanwhile (a unique violation).
 */
async function createAndSignIn(s: Services, provider: ProviderName, identity: ProviderIdentity & { email: string }): Promise<LoginOutcome | undefined> {
  // The same bound as full_name everywhere else.
  const fullName = (identity.name ?? identity.email.split('@')[0]!).slice(0, 200)
  const organizationName = `${fullName}'s organization`
  const ids = { orgId: crypto.randomUUID(), userId: crypto.randomUUID() }
  const owner = { ...ids, role: 'owner' as const }
  // A new account has no 2FA and is active: its session opens in the account's own batch.
  const login = await prepareLogin(s, owner, 'oauth')
  // An address the provider does not vouch for is only where we write to: it holds
  // nothing (its real owner can still register it) until its mailbox is proven.
  const mail = identity.emailVerified ? undefined : await newAccountVerificationMail(s, { id: ids.userId, email: identity.email.trim(), fullName })
  let user: Account['user'] | undefined
  try {
    const [, [created]] = await batch(s.db, [
      ...accountStatements(s.db, {
        ...ids,
        email: identity.email,
        fullName,
        passwordHash: null,
        organizationName,
        oauthProvider: provider,
        isVerified: identity.emailVerified,
        ownsEmail: identity.emailVerified,
      }),
      insertIdentityStatement(s.db, ids.userId, { provider, subject: identity.subject, email: identity.email }, s.now),
      ...login.statements,
      ...(mail?.statements ?? []),
    ])
    user = created
  } catch (error) {
    if (isUniqueViolation(error)) return undefined
    throw error
  }
  // The account exists either way: a mail that fails is logged, and /verify-email/resend sends another.
  await mail?.afterCommit().catch((error) => s.log.error('verification mail not sent', mailFailure(error)))
  return { kind: 'tokens', account: { user: user!, org: { id: ids.orgId, name: organizationName }, role: 'owner' }, tokens: login.tokens }
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
