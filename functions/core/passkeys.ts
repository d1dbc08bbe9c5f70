import { normalizeEmail } from '../../db/queries/accounts'
import type { Account } from '../../db/queries/accounts'
import {
  consumeChallenge,
  consumeChallengeStatement,
  consumedChallenge,
  deletePasskey,
  hitWindowThenIssueRegistrationChallenge,
  insertLoginChallenge,
  insertPasskeyStatement,
  insertRegistrationChallenge,
  insertRegistrationChallengeStatement,
  registrationChallengeCredentials,
  insertSecondFactorChallenge,
  selectPasskeys,
  recordPasskeyUseStatement,
  renamePasskey,
  selectChallengeStatement,
  spendChallengeStatement,
  spendLiveChallenge,
} from '../../db/queries/passkeys'
import type { ConsumedChallenge, CredentialDescriptor, NewWebAuthnChallenge, Passkey } from '../../db/queries/passkeys'
import type { Principal } from '../../db/queries/sessions'
import { allOrNothing, batch, required, rowsOf } from '../../db/client'
import type { Database, Statements } from '../../db/client'
import type { BatchResponse } from 'drizzle-orm/batch'
import type { CallerAttempt } from '../../db/queries/rate-limits'
import type { Config } from '../config'
import { isRequirementUnmet, isUniqueViolation } from '../../db/errors'
import { hitWindowStatement, underWindowLimit } from '../../db/queries/rate-limits'
import { spendChallenge as spendTwoFactorChallenge } from '../../db/queries/two-factor'
import { eventRow, eventStatement, recordEvent } from './audit'
import { judgePassword, reauthenticationReads, reauthenticationRequired, requireRecentSignIn, signedInWithin, wrongPassword } from './reauthentication'
import { base64url, hashToken, randomBytes } from './crypto'
import { AuthError, notFound, unauthenticated } from './errors'
import { completeLogin, refuseInactive } from './login'
import type { LoginOutcome } from './login'
import { checkAssertion, checkAttestation, decodeBase64url, readClientData, SUPPORTED_ALGORITHMS, userHandle } from './passkeys-webauthn'
import type { CeremonyFailure } from './passkeys-webauthn'
import {
  accountKey,
  checkClientWindow,
  checkLimit,
  checkWindow,
  clientKey,
  judgeCallerAttempt,
  limitClient,
  userKey,
  windowOfCallerAttempt,
} from './rate-limit'
import type { Services } from './services'
import { prepareSession } from './sessions'
import type { Caller as SessionCaller, IssuedTokens } from './sessions'
import { CHALLENGE_MAX_ATTEMPTS, openChallenge, recordFailedTwoFactorAttempt, twoFactorSuccessStatements } from './two-factor'

// Passkeys: the two WebAuthn ceremonies (registration, authentication) over our storage.
// Every challenge is 32 random bytes, handed out once, stored as a SHA-256 hash, bound to
// its ceremony and user, spent by the one request that presents it, and dead after 5 minutes.

export const PASSKEY_CHALLENGE_TTL_SECONDS = 5 * 60
/** Registration ceremonies a user may start per hour: each one writes a row. */
export const PASSKEY_REGISTRATIONS_PER_HOUR = 30

// ---- the JSON forms browsers speak (WebAuthn Level 3 §5.1.8, §5.1.9, §5.5, §5.4) ----

export interface CredentialDescriptorJSON {
  type: 'public-key'
  id: string
  transports?: string[]
}

export interface CreationOptionsJSON {
  rp: { id: string; name: string }
  user: { id: string; name: string; displayName: string }
  challenge: string
  pubKeyCredParams: { type: 'public-key'; alg: number }[]
  timeout: number
  excludeCredentials: CredentialDescriptorJSON[]
  authenticatorSelection: { residentKey: 'required'; requireResidentKey: true; userVerification: string }
  attestation: 'none'
  extensions: { credProps: true }
}

export interface RequestOptionsJSON {
  challenge: string
  timeout: number
  rpId: string
  allowCredentials: CredentialDescriptorJSON[]
  userVerification: string
}

export interface RegistrationResponseJSON {
  id: string
  rawId: string
  type: 'public-key'
  response: { clientDataJSON: string; attestationObject: string; transports?: string[] }
}

export interface AuthenticationResponseJSON {
  id: string
  rawId: string
  type: 'public-key'
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string | null }
}

/** A passkey as the API shows it. */
export const passkeyView = (p: Passkey) => ({
  id: p.id,
  name: p.name,
  created_at: p.createdAt.toISOString(),
  last_used_at: p.lastUsedAt?.toISOString() ?? null,
})

const descriptor = (c: CredentialDescriptor): CredentialDescriptorJSON => ({
  type: 'public-key',
  id: c.credentialId,
  ...(c.transports.length > 0 && { transports: c.transports }),
})

async function newChallenge(s: Services) {
  const challenge = base64url(randomBytes(32))
  return {
    challenge,
    challengeHash: await hashToken(challenge),
    now: s.now,
    expiresAt: new Date(s.now.getTime() + PASSKEY_CHALLENGE_TTL_SECONDS * 1000),
  }
}

const requestOptions = (
  s: Services,
  challenge: string,
  allow: CredentialDescriptorJSON[],
  userVerification = s.config.passkeys.rp.userVerification,
): RequestOptionsJSON => ({
  challenge,
  timeout: PASSKEY_CHALLENGE_TTL_SECONDS * 1000,
  rpId: s.config.passkeys.rp.id,
  allowCredentials: allow,
  userVerification,
})

// ---- registration ----

export interface Caller {
  principal: Principal
}

/**
 * Adding a way to sign in is the first thing a stolen token would do: it needs a recent full
 * sign-in (PASSKEY_REAUTH_SECONDS, on by default) or the password, and a wrong one is audited.
 */
async function requireRecentPasskeySignIn(s: Services, { principal }: Caller, password: string | undefined): Promise<void> {
  try {
    await requireRecentSignIn(s, principal, password, s.config.passkeys.reauthSeconds ?? 0)
  } catch (error) {
    if (error instanceof AuthError && error.code === 'invalid_credentials') await batch(s.db, [passwordRefused(s, principal)])
    throw error
  }
}

const passwordRefused = (s: Services, principal: Principal) =>
  eventStatement(s, { type: 'passkey_registered', outcome: 'failure', userId: principal.userId, orgId: principal.orgId, detail: { reason: 'password' } })

const registrationWindow = (userId: string) => ({ key: userKey('passkey_register', userId), limit: PASSKEY_REGISTRATIONS_PER_HOUR, windowSeconds: 3600 })

/**
 * Registration options' reads, in the session check's round trip. For a sign-in older than
 * PASSKEY_REAUTH_SECONDS and a body the endpoint acts on (`body`, undefined when refused), one
 * statement counts, only for a caller the check passes: the user's window of registrations
 * started, then (with a password, and within the window) the password's attempt on the
 * account's lock. And the account, for its hash.
 */
export const passkeyRegistrationReads = (s: { db: Database; config: Config; now: Date }, caller: SessionCaller, body: { password?: string } | undefined) =>
  reauthenticationReads(s, caller, body, s.config.passkeys.reauthSeconds ?? 0, registrationWindow(caller.userId))

/**
 * Step one: creation options for `navigator.credentials.create()`. A recent sign-in costs one
 * round trip after the session check: the window of registrations started, the challenge
 * (only under it) and the credentials to exclude, in one statement. An older one proves the
 * password: the window and its attempt counted with the session check (`reads`), argon2 here,
 * then one batch: the counter reset and the challenge, or the failure's audit rows.
 */
export async function startPasskeyRegistration(
  s: Services,
  caller: Caller,
  password?: string,
  reads?: BatchResponse<ReturnType<typeof passkeyRegistrationReads>>,
): Promise<CreationOptionsJSON> {
  const { principal } = caller
  const { challenge, ...row } = await newChallenge(s)
  const window = registrationWindow(principal.userId)
  const recent = signedInWithin(s, principal, s.config.passkeys.reauthSeconds ?? 0)
  const proven = !recent && reads ? await provePassword(s, principal, password, { ...row, userId: principal.userId }, reads) : undefined
  let existing = proven
  if (!existing) {
    // A recent sign-in; or (a revocation between the batch's statements) nothing was counted with the check.
    const started = await hitWindowThenIssueRegistrationChallenge(s.db, { ...row, userId: principal.userId, window, issue: recent })
    checkWindow(s, started.hit, window)
    existing = started.credentials
    if (!recent) {
      await requireRecentPasskeySignIn(s, caller, password)
      existing = await insertRegistrationChallenge(s.db, { ...row, userId: principal.userId })
    }
  }
  const { rp } = s.config.passkeys
  return {
    rp: { id: rp.id, name: rp.name },
    user: { id: userHandle(principal.userId), name: principal.email, displayName: principal.fullName },
    challenge,
    pubKeyCredParams: SUPPORTED_ALGORITHMS.map((alg) => ({ type: 'public-key', alg })),
    timeout: PASSKEY_CHALLENGE_TTL_SECONDS * 1000,
    // One authenticator, one passkey per account: the browser skips those already here.
    excludeCredentials: existing.map(descriptor),
    // Discoverable: a passkey signs in without an email typed first.
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: rp.userVerification },
    attestation: 'none',
    extensions: { credProps: true },
  }
}

/**
 * An old sign-in's password, its window and attempt counted with the session check: the
 * credentials to exclude once the challenge is written, or undefined when the reads counted
 * nothing (the caller did not qualify in that statement).
 */
async function provePassword(
  s: Services,
  principal: Principal,
  password: string | undefined,
  challenge: NewWebAuthnChallenge & { userId: string },
  [admission, [account]]: BatchResponse<ReturnType<typeof passkeyRegistrationReads>>,
): Promise<CredentialDescriptor[] | undefined> {
  const counted = rowsOf<CallerAttempt>(admission)[0]!
  const hit = windowOfCallerAttempt(counted)
  if (!hit) return undefined
  checkWindow(s, hit, registrationWindow(principal.userId))
  if (password === undefined) throw reauthenticationRequired()
  const who = { userId: principal.userId, orgId: principal.orgId }
  const policy = s.config.rateLimits.lockout
  const attempt = (await judgeCallerAttempt(s, counted, who, policy)) ?? (await checkLimit(s, accountKey(principal.email), who, policy))
  const hash = account?.user.passwordHash ?? null
  const { matches, statements } = await judgePassword(s, who, hash, password, attempt)
  if (!matches) {
    await batch(s.db, [...statements, passwordRefused(s, principal)] as unknown as Statements)
    throw wrongPassword(hash)
  }
  const [issued] = await batch(s.db, [insertRegistrationChallengeStatement(s.db, challenge), ...statements])
  return registrationChallengeCredentials(issued)
}

const KNOWN_TRANSPORTS = new Set(['usb', 'nfc', 'ble', 'smart-card', 'hybrid', 'internal'])

/**
 * Step two: the browser's `credential.toJSON()`. The challenge it signed must be this
 * user's registration challenge, which `startPasskeyRegistration` issued only after the
 * recent-sign-in rule passed, at most 5 minutes ago. The attestation is checked in the
 * Worker first; then one batch spends the challenge (`required`: live, this user's), stores
 * the passkey and audits it, or writes nothing. A refusal spends the challenge all the same.
 */
export async function finishPasskeyRegistration(
  s: Services,
  owner: { userId: string; orgId: string },
  input: { name?: string; credential: RegistrationResponseJSON },
): Promise<Passkey> {
  const { rp } = s.config.passkeys
  const { credential } = input
  const refuse = async (reason: CeremonyFailure, spent?: { challengeHash: string }): Promise<never> => {
    const event = eventStatement(s, { type: 'passkey_registered', outcome: 'failure', ...owner, detail: { reason } })
    await batch(s.db, [event, ...(spent ? [spendChallengeStatement(s.db, { ...spent, ceremony: 'registration' })] : [])])
    throw new AuthError('passkey_registration_invalid', 'The passkey could not be registered; ask for new options and try again.', {
      internal: reason,
    })
  }
  const clientDataJSON = decodeBase64url(credential.response.clientDataJSON)
  const attestationObject = decodeBase64url(credential.response.attestationObject)
  if (!clientDataJSON || !attestationObject || credential.id !== credential.rawId) return refuse('malformed')
  const clientData = readClientData(rp, clientDataJSON, 'webauthn.create')
  if (!clientData.ok) return refuse(clientData.reason)
  const challengeHash = await hashToken(clientData.challenge)
  const checked = await checkAttestation(rp, attestationObject, credential.id)
  if (!checked.ok) {
    // The challenge is judged before the attestation: a dead one is the reason given.
    const challenge = await consumeChallenge(s.db, { challengeHash, ceremony: 'registration', credentialId: credential.id })
    const live = challenge && challenge.expiresAt > s.now && challenge.userId === owner.userId
    return refuse(live ? checked.reason : 'challenge_invalid')
  }
  const transports = [...new Set(credential.response.transports ?? [])].filter((t) => KNOWN_TRANSPORTS.has(t))
  const id = crypto.randomUUID()
  let stored: [unknown, Passkey[], unknown] | undefined
  try {
    stored = await allOrNothing(s.db, [
      required(s.db, spendLiveChallenge(s.db, { challengeHash, ceremony: 'registration', now: s.now, userId: owner.userId })),
      insertPasskeyStatement(s.db, {
        id,
        userId: owner.userId,
        credentialId: checked.credentialId,
        publicKey: checked.publicKey.jwk,
        algorithm: checked.publicKey.algorithm,
        signCount: checked.signCount,
        transports,
        backupEligible: checked.backupEligible,
        name: input.name ?? 'Passkey',
        now: s.now,
      }),
      eventStatement(s, {
        type: 'passkey_registered',
        outcome: 'success',
        ...owner,
        detail: { passkey_id: id, algorithm: checked.publicKey.algorithm, user_verified: checked.userVerified, backup_eligible: checked.backupEligible },
      }),
    ])
  } catch (error) {
    if (!isUniqueViolation(error)) throw error
    // The challenge was live (its requirement comes first in the batch): spent with the refusal's audit row.
    await batch(s.db, [
      eventStatement(s, { type: 'passkey_registered', outcome: 'failure', ...owner, detail: { reason: 'already_registered' } }),
      spendChallengeStatement(s.db, { challengeHash, ceremony: 'registration' }),
    ])
    throw new AuthError('passkey_already_registered', 'This passkey is already registered.')
  }
  // Unknown, spent (a concurrent registration won it), expired, or another user's.
  if (!stored) return refuse('challenge_invalid', { challengeHash })
  return stored[1][0]!
}

// ---- management ----

/** The caller's passkeys, read in the session check's round trip (the endpoint's `reads`). */
export const passkeyListReads = (db: Database, caller: { userId: string }) => [selectPasskeys(db, caller.userId)] as const

export async function renameUserPasskey(s: Services, owner: { userId: string; orgId: string }, id: string, name: string) {
  const event = eventRow(s, { type: 'passkey_renamed', outcome: 'success', ...owner, detail: { passkey_id: id } })
  const passkey = await renamePasskey(s.db, owner.userId, id, name, event)
  if (!passkey) throw notFound('Passkey')
  return passkeyView(passkey)
}

/** Deletes one of the caller's passkeys; refused (409) when it is their last way to sign in. */
export async function deleteUserPasskey(s: Services, owner: { userId: string; orgId: string }, id: string): Promise<void> {
  const outcome = await deletePasskey(s.db, owner.userId, id, {
    deleted: eventRow(s, { type: 'passkey_deleted', outcome: 'success', ...owner, detail: { passkey_id: id } }),
    refused: eventRow(s, { type: 'passkey_deleted', outcome: 'denied', ...owner, detail: { passkey_id: id, reason: 'last_sign_in_method' } }),
  })
  if (outcome === 'not_found') throw notFound('Passkey')
  if (outcome === 'last_sign_in_method')
    throw new AuthError('last_sign_in_method', 'This passkey is the only way left to sign in to the account; add another first.')
}

// ---- authentication ----

/**
 * Stand-in credential ids for an email without passkeys (unknown, or password-only), so the
 * answer has the same shape as for one with them: stable per email, unguessable (HMAC).
 */
async function decoyCredentials(s: Services, email: string): Promise<CredentialDescriptorJSON[]> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', s.config.passkeys.decoyKey, new TextEncoder().encode(normalizeEmail(email))))
  // Lengths real authenticators use (16: Google Password Manager; 20: iCloud Keychain; 32: security keys).
  const length = [16, 20, 32][mac[0]! % 3]!
  return [{ type: 'public-key', id: base64url(mac.subarray(0, length)), transports: ['internal', 'hybrid'] }]
}

/**
 * Request options for `navigator.credentials.get()`. Without an email, for a discoverable
 * credential (the browser offers the passkeys it holds for our RP ID). With one, the
 * account's credentials, and the challenge is bound to that account.
 */
export async function startPasskeyLogin(s: Services, email?: string): Promise<RequestOptionsJSON> {
  await limitClient(s, 'login')
  const { challenge, ...row } = await newChallenge(s)
  const credentials = await insertLoginChallenge(s.db, { ...row, emailNormalized: email === undefined ? undefined : normalizeEmail(email) })
  const allow = email === undefined ? [] : credentials.length > 0 ? credentials.map(descriptor) : await decoyCredentials(s, email)
  return requestOptions(s, challenge, allow)
}

interface VerifiedAssertion {
  challenge: ConsumedChallenge
  passkey: Passkey
  account: Account
  signCount: number
  userVerified: boolean
}

type AssertionFailure = { failure: CeremonyFailure; passkey?: Passkey; account?: Account | null }

/** What an assertion carries, decoded, before any lookup: the challenge it signed, to look up. */
interface ReadAssertion {
  challengeHash: string
  clientDataJSON: Uint8Array
  authenticatorData: Uint8Array
  signature: Uint8Array
}

/** §7.2 steps 5–14 that need no database: the response decodes and its client data is ours. */
async function readAssertion(s: Services, credential: AuthenticationResponseJSON): Promise<ReadAssertion | AssertionFailure> {
  const clientDataJSON = decodeBase64url(credential.response.clientDataJSON)
  const authenticatorData = decodeBase64url(credential.response.authenticatorData)
  const signature = decodeBase64url(credential.response.signature)
  if (!clientDataJSON || !authenticatorData || !signature || credential.id !== credential.rawId) return { failure: 'malformed' }
  const clientData = readClientData(s.config.passkeys.rp, clientDataJSON, 'webauthn.get')
  if (!clientData.ok) return { failure: clientData.reason }
  return { challengeHash: await hashToken(clientData.challenge), clientDataJSON, authenticatorData, signature }
}

/**
 * The rest of §7.2, on the challenge the assertion signed (looked up, and spent or about to
 * be): it must be live; the credential must be one we hold, of the user the challenge is
 * bound to (a credential of user A never completes a ceremony of user B), and its signature
 * must verify.
 */
async function verifyAssertion(
  s: Services,
  credential: AuthenticationResponseJSON,
  read: ReadAssertion,
  challenge: ConsumedChallenge | undefined,
): Promise<VerifiedAssertion | AssertionFailure> {
  if (!challenge || challenge.expiresAt <= s.now) return { failure: 'challenge_invalid' }
  const { passkey, account } = challenge
  if (!passkey || !account) return { failure: 'unknown_credential' }
  if (challenge.userBound && challenge.userId !== passkey.userId) return { failure: 'credential_mismatch', passkey, account }
  // §7.2 step 6: a user handle, when the authenticator returns one, names the credential's owner.
  const handle = credential.response.userHandle
  if (handle != null && handle !== userHandle(passkey.userId)) return { failure: 'credential_mismatch', passkey, account }
  const { authenticatorData, clientDataJSON, signature } = read
  const checked = await checkAssertion(
    s.config.passkeys.rp,
    { jwk: passkey.publicKey, algorithm: passkey.algorithm },
    { authenticatorData, clientDataJSON, signature },
  )
  if (!checked.ok) return { failure: checked.reason, passkey, account }
  return { challenge, passkey, account, signCount: checked.signCount, userVerified: checked.userVerified }
}

// WebAuthn §6.1.1: the counter must move forward unless it is and stays 0 (a synced passkey).
// Judged here on the value read, and again by the UPDATE (`recordPasskeyUseStatement`) against concurrent uses.
const counterMoves = (stored: number, received: number) => (stored === 0 && received === 0) || stored < received

const passkeyInvalid = (reason: CeremonyFailure) =>
  new AuthError('passkey_invalid', 'The passkey could not be verified; ask for new options and try again.', { internal: reason })

/** The audit trail of a suspected clone: the counter seen against the one stored. */
function recordCloneSuspected(s: Services, passkey: Passkey, orgId: string, received: number, via: string) {
  return recordEvent(s, {
    type: 'passkey_clone_suspected',
    outcome: 'denied',
    userId: passkey.userId,
    orgId,
    detail: { passkey_id: passkey.id, stored_count: passkey.signCount, received_count: received, via },
  })
}

/**
 * Signs in with a passkey. With user verification it is two factors and opens the
 * session even when 2FA is on; without, a 2FA user gets the `requires_2fa` challenge.
 *
 * Two round trips: one batch counts the client's login window and, only under it, spends the
 * challenge and reads the credential with its account; the signature is checked in the Worker;
 * one batch moves the signature counter (`required`: a concurrent use with the same count
 * writes nothing) and opens the session (or the 2FA challenge) with its audit row.
 */
export async function passkeyLogin(s: Services, credential: AuthenticationResponseJSON): Promise<LoginOutcome> {
  const read = await readAssertion(s, credential)
  const refuse = async (failure: AssertionFailure): Promise<never> => {
    const who = failure.account ? { userId: failure.account.user.id, orgId: failure.account.org.id } : {}
    await recordEvent(s, { type: 'login', outcome: 'failure', ...who, detail: { method: 'passkey', reason: failure.failure } })
    throw passkeyInvalid(failure.failure)
  }
  if ('failure' in read) {
    await limitClient(s, 'login')
    return refuse(read)
  }
  const window = s.config.rateLimits.perIp.login
  const key = clientKey('login', s.client.ip)
  const [[hit], consumed] = await batch(s.db, [
    hitWindowStatement(s.db, key, window.windowSeconds, s.now),
    consumeChallengeStatement(s.db, { challengeHash: read.challengeHash, ceremony: 'login', credentialId: credential.id }, underWindowLimit(key, window.limit)),
  ])
  checkClientWindow(s, 'login', hit!)
  const verified = await verifyAssertion(s, credential, read, consumedChallenge(consumed))
  if ('failure' in verified) return refuse(verified)
  const { passkey, account, signCount, userVerified } = verified
  const clone = async (): Promise<never> => {
    await recordCloneSuspected(s, passkey, account.org.id, signCount, 'login')
    throw passkeyInvalid('counter_regressed')
  }
  if (!counterMoves(passkey.signCount, signCount)) return clone()
  const used = required(s.db, recordPasskeyUseStatement(s.db, { passkeyId: passkey.id, signCount, now: s.now }))
  try {
    await refuseInactive(s, account, 'passkey', [used])
    return await completeLogin(
      s,
      account,
      'passkey',
      { multiFactor: userVerified, detail: { passkey_id: passkey.id, user_verified: userVerified }, firstFactorPasskeyId: passkey.id },
      [used],
    )
  } catch (error) {
    // The counter moved under us (the same count used concurrently): nothing was written.
    if (isRequirementUnmet(error)) return clone()
    throw error
  }
}

// ---- as a second factor ----

const challengeInvalid = () => unauthenticated('challenge_invalid', 'The session token is invalid, expired, used, or out of attempts; log in again.')

/** Request options for the passkeys of the user a 2FA session_token belongs to. */
export async function startPasskeySecondFactor(s: Services, sessionToken: string): Promise<RequestOptionsJSON> {
  await limitClient(s, 'two_factor')
  const { challenge, ...row } = await newChallenge(s)
  const issued = await insertSecondFactorChallenge(s.db, {
    ...row,
    sessionTokenHash: await hashToken(sessionToken),
    maxAttempts: CHALLENGE_MAX_ATTEMPTS,
  })
  if (!issued) throw challengeInvalid()
  if (issued.credentials.length === 0) throw notFound('Passkey')
  // After a passkey without user verification, only verification adds a factor: ask for it.
  return requestOptions(s, challenge, issued.credentials.map(descriptor), issued.firstFactorPasskeyId ? 'required' : undefined)
}

/**
 * Completes a two-step login with a passkey instead of a code: the same attempts, locks and
 * audit as a code, and the passkey must be the challenge's user's.
 *
 * Two round trips, the shape of a code's: `openChallenge`'s batch (per-IP window, the 2FA
 * challenge's attempt, the user's counter, the account) also reads the WebAuthn challenge and
 * the credential; the signature is checked in the Worker; one batch spends the WebAuthn
 * challenge, moves the counter and spends the 2FA challenge (each `required`), forgets the
 * failures, audits, and opens the session, or writes nothing. Every refusal after the
 * lookup spends the WebAuthn challenge, as the one request that presented it.
 */
export async function verifyTwoFactorWithPasskey(
  s: Services,
  sessionToken: string,
  credential: AuthenticationResponseJSON,
): Promise<{ account: Account; tokens: IssuedTokens }> {
  const tokenHash = await hashToken(sessionToken)
  const read = await readAssertion(s, credential)
  const lookup = 'failure' in read ? undefined : { challengeHash: read.challengeHash, ceremony: 'second_factor' as const, credentialId: credential.id }
  const opened = await openChallenge(s, tokenHash, lookup ? [selectChallengeStatement(s.db, lookup)] : [])
  const { userId, attempt, account: holder, firstFactorPasskeyId } = opened
  const challenge = consumedChallenge((opened.also[0] ?? []) as Parameters<typeof consumedChallenge>[0])
  const spend = async () => {
    if (challenge && lookup) await batch(s.db, [spendChallengeStatement(s.db, lookup)])
  }
  const verified = 'failure' in read ? read : await verifyAssertion(s, credential, read, challenge)
  const bound = !('failure' in verified) && verified.challenge.sessionTokenHash === tokenHash && verified.passkey.userId === userId
  // The key that was the first factor, again without verification, proves nothing new.
  const sameFactor = bound && verified.passkey.id === firstFactorPasskeyId && !verified.userVerified
  const failed = async (reason: CeremonyFailure): Promise<never> => {
    if (!holder) throw challengeInvalid()
    await recordFailedTwoFactorAttempt(s, attempt, { userId, orgId: holder.org.id }, 'login_passkey')
    throw passkeyInvalid(reason)
  }
  if ('failure' in verified || !bound || sameFactor) {
    await spend()
    return failed('failure' in verified ? verified.failure : sameFactor ? 'user_not_verified' : 'credential_mismatch')
  }
  const { account, passkey, signCount } = verified
  if (!account.user.totpEnabledAt || !account.user.isActive) {
    await spend()
    if (!account.user.totpEnabledAt) throw challengeInvalid()
    throw new AuthError('account_inactive', 'The account is inactive.')
  }
  const owner = { userId, orgId: account.org.id }
  const clone = async (stored: Passkey): Promise<never> => {
    await recordCloneSuspected(s, stored, account.org.id, signCount, 'two_factor')
    return failed('counter_regressed')
  }
  if (!counterMoves(passkey.signCount, signCount)) {
    await spend()
    return clone(passkey)
  }
  const { tokens, statements } = await prepareSession(s, { userId, orgId: account.org.id, role: account.role })
  const done = await allOrNothing(s.db, [
    required(s.db, spendLiveChallenge(s.db, { ...lookup!, now: s.now })),
    required(s.db, recordPasskeyUseStatement(s.db, { passkeyId: passkey.id, signCount, now: s.now })),
    required(s.db, spendTwoFactorChallenge(s.db, tokenHash, s.now)),
    ...twoFactorSuccessStatements(s, owner, [
      { type: 'login', outcome: 'success', detail: { method: 'passkey', passkey_id: passkey.id, session_id: tokens.sessionId } },
    ]),
    ...statements,
  ])
  if (done) return { account, tokens }
  // Something changed since the first round trip, and nothing was written: decide as the
  // statements would have one at a time. The WebAuthn challenge spent by another request,
  // the counter moved by a concurrent use of the same count, or the 2FA challenge spent.
  const now = await consumeChallenge(s.db, lookup!)
  if (!now) return failed('challenge_invalid')
  if (!now.passkey) return failed('unknown_credential')
  if (!counterMoves(now.passkey.signCount, signCount)) return clone(now.passkey)
  throw challengeInvalid()
}
