import type { BatchItem } from 'drizzle-orm/batch'
import { batch } from '../../db/client'
import { resetCounter } from '../../db/queries/rate-limits'
import { findAccount } from '../../db/queries/accounts'
import { findMember } from '../../db/queries/organizations'
import type { Role } from '../../db/schema'
import type { Account } from '../../db/queries/accounts'
import {
  advanceTotpStep,
  completeChallengeWithRecoveryCode,
  completeChallengeWithTotp,
  countUnusedRecoveryCodes,
  disableTotp,
  enableTotp,
  findTotpState,
  insertChallenge,
  replaceRecoveryCodes,
  spendRecoveryCode,
  storePendingTotpSecret,
  takeChallengeAttempt,
} from '../../db/queries/two-factor'
import type { TotpState } from '../../db/queries/two-factor'
import { eventStatement, recordEvent } from './audit'
import type { AuthEvent } from './audit'
import { hashToken, randomToken } from './crypto'
import { decrypt, encrypt } from './encryption'
import type { DataKeys } from './encryption'
import { AuthError, notFound, unauthenticated } from './errors'
import { verifyPassword } from './passwords'
import { accountKey, checkLimit, failureStatements, limitClient, resetFailures, twoFactorKey } from './rate-limit'
import type { Attempt } from './rate-limit'
import { sendMail } from './mail'
import { requireRecentSignIn } from './reauthentication'
import type { RecentCaller } from './reauthentication'
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes'
import type { Services } from './services'
import { prepareSession, } from './sessions'
import type { IssuedTokens } from './sessions'
import { base32Encode, newTotpSecret, qrCodeDataUrl, totpUri, verifyTotp } from './totp'

export const CHALLENGE_TTL_SECONDS = 5 * 60
export const CHALLENGE_MAX_ATTEMPTS = 5

/** A TOTP code as typed: exactly six ASCII digits. */
export const TOTP_CODE_PATTERN = /^[0-9]{6}$/

const invalidCode = () =>
  new AuthError('invalid_code', 'The code is incorrect or was already used.', {
    errors: [{ field: 'code', message: 'is incorrect or was already used' }],
  })
const notEnabled = () => new AuthError('two_factor_not_enabled', 'Two-factor authentication is not enabled.')
const challengeInvalid = () =>
  unauthenticated('challenge_invalid', 'The session token is invalid, expired, used, or out of attempts; log in again.')

function dataKeys(s: Services): DataKeys {
  // A configuration fault, not the caller's: logged and answered 500.
  if (!s.config.dataKeys) throw new Error('two-factor authentication needs DATA_ENCRYPTION_KEYS')
  return s.config.dataKeys
}

async function readSecret(s: Services, userId: string, state: TotpState): Promise<Uint8Array> {
  // The user id is the additional data: a secret copied onto another user's row does not open.
  return decrypt(dataKeys(s), state.keyId!, state.secret!, userId)
}

async function loadState(s: Services, userId: string): Promise<TotpState> {
  const state = await findTotpState(s.db, userId)
  if (!state) throw new AuthError('not_found', 'User not found.')
  return state
}

/**
 * Admits one 2FA code (or password at `disable`) of a user, on any endpoint, on one
 * per-account counter across challenges (rate-limit.ts `checkLimit`): a password holder
 * opening challenge after challenge still meets the lock. 429 while the account is locked.
 */
export function admitTwoFactorAttempt(s: Services, userId: string): Promise<Attempt> {
  return checkLimit(s, twoFactorKey(userId), { userId }, s.config.rateLimits.twoFactorLockout)
}

/** The user and organization an event is about: every caller already holds both. */
export interface Owner {
  userId: string
  orgId: string
}

/** A wrong code: audited, and the lock it leaves (if any) applied. */
export async function recordFailedTwoFactorAttempt(s: Services, attempt: Attempt, { userId, orgId }: Owner, via: string): Promise<void> {
  // The failure's audit row and the lock it leaves, if any: one batch, one round trip.
  await batch(s.db, [
    eventStatement(s, { type: 'two_factor_code', outcome: 'failure', userId, orgId, detail: { via } }),
    ...failureStatements(s, attempt, { userId, orgId }),
  ])
}

/**
 * A right code: the account's 2FA failures are forgotten and the events audited, with the
 * caller's `alsoWrite` (a new session), in one batch.
 */
export async function twoFactorSucceeded(
  s: Services,
  { userId, orgId }: Owner,
  events: Omit<AuthEvent, 'userId' | 'orgId'>[],
  alsoWrite: BatchItem<'pg'>[] = [],
): Promise<void> {
  await batch(s.db, [
    resetCounter(s.db, twoFactorKey(userId)),
    ...events.map((event) => eventStatement(s, { ...event, userId, orgId })),
    ...alsoWrite,
  ])
}

export async function twoFactorStatus(s: Services, userId: string) {
  const state = await loadState(s, userId)
  const enabled = state.enabledAt !== null
  return { enabled, recoveryCodesRemaining: enabled ? await countUnusedRecoveryCodes(s.db, userId) : 0 }
}

/**
 * A new secret, stored encrypted and inactive until `enableTwoFactor` confirms a code from
 * it. Calling it again before then replaces the secret (a lost QR code is simply redone).
 * With TWO_FACTOR_REAUTH_SECONDS, an older sign-in needs the password.
 */
export async function setupTwoFactor(s: Services, caller: RecentCaller, password?: string) {
  await requireRecentSignIn(s, caller, password)
  const keys = dataKeys(s)
  const secret = newTotpSecret()
  const { kid, ciphertext } = await encrypt(keys, secret, caller.userId)
  if (!(await storePendingTotpSecret(s.db, caller.userId, { ciphertext, keyId: kid }, s.now)))
    throw new AuthError('two_factor_already_enabled', 'Two-factor authentication is already enabled.')
  const otpauthUrl = totpUri(secret, s.config.totpIssuer, caller.email)
  return { secret: base32Encode(secret), otpauthUrl, qrCode: qrCodeDataUrl(otpauthUrl) }
}

async function newRecoverySet() {
  const codes = newRecoveryCodes()
  const hashes = await Promise.all(codes.map((code) => hashRecoveryCode(normalizeRecoveryCode(code)!)))
  return { codes, hashes }
}

/** The caller of a 2FA change: who, their session, and when it signed in. */
export type TwoFactorCaller = RecentCaller & { sessionId: string; fullName: string }

/**
 * Confirms the pending secret with a code from it; returns the first recovery codes. Every
 * other session ends (a thief's among them), and the account's address hears of it.
 */
export async function enableTwoFactor(s: Services, caller: TwoFactorCaller, code: string, password?: string): Promise<string[]> {
  const { userId } = caller
  await requireRecentSignIn(s, caller, password)
  const state = await loadState(s, userId)
  if (state.enabledAt) throw new AuthError('two_factor_already_enabled', 'Two-factor authentication is already enabled.')
  if (!state.secret) throw new AuthError('two_factor_not_enabled', 'Set up two-factor authentication first (POST .../2fa/setup).')
  const attempt = await admitTwoFactorAttempt(s, userId)
  const step = await verifyTotp(await readSecret(s, userId, state), code, s.now, state.lastStep)
  if (step === null) {
    await recordFailedTwoFactorAttempt(s, attempt, caller, 'enable')
    throw invalidCode()
  }
  const { codes, hashes } = await newRecoverySet()
  // The audit row commits with the change: an answer lost after the commit must not lose it.
  const enabled: AuthEvent = { type: 'two_factor_enabled', outcome: 'success', userId, orgId: caller.orgId }
  const ended = await enableTotp(
    s.db,
    { userId, ciphertext: state.secret, step, recoveryCodeHashes: hashes, now: s.now, keepSession: caller.sessionId },
    (tx, sessionsEnded) => recordEvent(s, { ...enabled, detail: { other_sessions_ended: sessionsEnded } }, tx),
  )
  if (ended === null) {
    // Lost a race: another request enabled 2FA, replaced the secret, or used this step.
    const now = await loadState(s, userId)
    if (now.enabledAt) throw new AuthError('two_factor_already_enabled', 'Two-factor authentication is already enabled.')
    throw invalidCode()
  }
  // The account's 2FA failures are forgotten (a counter: lost with the answer, it only stays strict).
  await twoFactorSucceeded(s, caller, [])
  await tellOwner(s, caller, 'turned on', 'Every other session of your account was ended.')
  return codes
}

/**
 * Mails the account's address about a change to its 2FA, so a change made with a stolen
 * session does not go unnoticed. A mail that fails is logged: the change itself stands.
 */
function tellOwner(s: Services, to: { email: string; fullName: string }, change: string, consequence: string): Promise<void> {
  return sendMail(
    s,
    {
      to: to.email,
      subject: `Two-factor authentication was ${change}`,
      text: [
        `Hello ${to.fullName},`,
        '',
        `Two-factor authentication was ${change} for your account on ${s.now.toISOString()}. ${consequence}`,
        '',
        'If this was not you, reset your password now and contact your organization’s owner.',
      ].join('\n'),
    },
    { afterResponse: true },
  ).catch((error) => console.error('2FA notice not sent', error))
}

// A current TOTP code of an enabled user, spent (its step recorded) if right.
async function spendTotp(s: Services, userId: string, state: TotpState, code: string): Promise<boolean> {
  if (!TOTP_CODE_PATTERN.test(code)) return false
  const step = await verifyTotp(await readSecret(s, userId, state), code, s.now, state.lastStep)
  return step !== null && advanceTotpStep(s.db, userId, step, s.now)
}

/** A new set of recovery codes, for a current TOTP code; the old set stops working. */
export async function regenerateRecoveryCodes(s: Services, owner: Owner, code: string): Promise<string[]> {
  const { userId } = owner
  const state = await loadState(s, userId)
  if (!state.enabledAt) throw notEnabled()
  const attempt = await admitTwoFactorAttempt(s, userId)
  if (!(await spendTotp(s, userId, state, code))) {
    await recordFailedTwoFactorAttempt(s, attempt, owner, 'recovery_codes')
    throw invalidCode()
  }
  const { codes, hashes } = await newRecoverySet()
  await replaceRecoveryCodes(s.db, userId, hashes, s.now)
  await twoFactorSucceeded(s, owner, [{ type: 'recovery_codes_regenerated', outcome: 'success' }])
  return codes
}

export type DisableProof = { code: string; password?: undefined } | { password: string; code?: undefined }

/**
 * Turns 2FA off, on proof: a TOTP code, a recovery code, or the password. Every other
 * session of the user ends: whoever else held one may be why 2FA is being turned off.
 */
export async function disableTwoFactor(s: Services, caller: Owner & { sessionId: string; email: string; fullName: string }, proof: DisableProof) {
  const { userId } = caller
  const state = await loadState(s, userId)
  if (!state.enabledAt) throw notEnabled()
  // A password is a guess at the password, wherever it is typed: it counts on the login's
  // counter, or a stolen access token would get the 2FA counter's guesses on top of the login's.
  const attempt =
    proof.code !== undefined ? await admitTwoFactorAttempt(s, userId) : await checkLimit(s, accountKey(caller.email), caller)
  let proofKind: 'totp' | 'recovery_code' | 'password' = 'password'
  if (proof.code !== undefined) {
    const recovery = normalizeRecoveryCode(proof.code)
    proofKind = recovery ? 'recovery_code' : 'totp'
    const ok = recovery
      ? await spendRecoveryCode(s.db, userId, await hashRecoveryCode(recovery), s.now)
      : await spendTotp(s, userId, state, proof.code)
    if (!ok) {
      await recordFailedTwoFactorAttempt(s, attempt, caller, 'disable')
      throw invalidCode()
    }
  } else {
    const account = await findAccount(s.db, userId)
    const hash = account?.user.passwordHash
    if (!hash || !verifyPassword(await s.argon2(), proof.password, hash)) {
      await recordFailedTwoFactorAttempt(s, attempt, caller, 'disable_password')
      throw new AuthError('invalid_credentials', 'The password is incorrect.', {
        errors: [{ field: 'password', message: hash ? 'is incorrect' : 'this account has no password; use a code' }],
      })
    }
  }
  const ended = await disableTotp(s.db, userId, s.now, caller.sessionId)
  if (proofKind === 'password') await resetFailures(s, attempt.key)
  await twoFactorSucceeded(s, caller, [
    ...(proofKind === 'recovery_code' ? [{ type: 'recovery_code_used' as const, outcome: 'success' as const, detail: { via: 'disable' } }] : []),
    { type: 'two_factor_disabled', outcome: 'success', detail: { proof: proofKind, other_sessions_ended: ended } },
  ])
  await tellOwner(s, caller, 'turned off', 'Every other session of your account was ended.')
}

/**
 * An owner turns a member's 2FA off (a lost authenticator and spent recovery codes): every
 * session of the member ends, the member is mailed, and the audit log names the owner.
 * Owners only, and never their own (that is /2fa/disable, with proof).
 */
export async function resetMemberTwoFactor(s: Services, actor: Owner & { role: Role }, targetUserId: string): Promise<void> {
  if (actor.role !== 'owner') throw new AuthError('forbidden', 'Only an owner can reset a member’s two-factor authentication.')
  // Another organization's user and an unknown id are the same answer: nothing leaks across tenants.
  const target = await findMember(s.db, actor.orgId, targetUserId)
  if (!target) throw notFound('Member')
  if (target.userId === actor.userId)
    throw new AuthError('forbidden', 'Turn your own two-factor authentication off at /2fa/disable.')
  const state = await loadState(s, target.userId)
  if (!state.enabledAt) throw notEnabled()
  const ended = await disableTotp(s.db, target.userId, s.now)
  // The member's 2FA counter and the audit row (naming the owner) in one batch.
  await twoFactorSucceeded(s, { userId: target.userId, orgId: actor.orgId }, [
    { type: 'two_factor_reset', outcome: 'success', detail: { by: actor.userId, sessions_ended: ended } },
  ])
  await tellOwner(s, target, 'turned off by an owner of your organization', 'Every session of your account was ended.')
}

/** Step one of a two-step login: an opaque, single-use session_token instead of tokens. */
export async function startTwoFactorChallenge(s: Services, userId: string): Promise<string> {
  const { sessionToken, statement } = await prepareTwoFactorChallenge(s, userId)
  await statement
  return sessionToken
}

/** A new challenge's session_token, and the statement that stores it (for the caller's batch). */
export async function prepareTwoFactorChallenge(s: Services, userId: string, firstFactorPasskeyId?: string) {
  // 256 random bits, stored as a hash: like a refresh token, and equally never a JWT, so it
  // can never pass as an access token.
  const sessionToken = randomToken()
  const statement = insertChallenge(s.db, {
    tokenHash: await hashToken(sessionToken),
    userId,
    now: s.now,
    expiresAt: new Date(s.now.getTime() + CHALLENGE_TTL_SECONDS * 1000),
    userAgent: s.client.userAgent,
    ip: s.client.ip,
    firstFactorPasskeyId,
  })
  return { sessionToken, statement }
}

/**
 * Step two: the session_token and a TOTP or recovery code. A right code spends both the
 * challenge and the code in one transaction, and opens the session.
 */
export async function verifyTwoFactorLogin(
  s: Services,
  sessionToken: string,
  code: string,
): Promise<{ account: Account; tokens: IssuedTokens }> {
  await limitClient(s, 'two_factor')
  const tokenHash = await hashToken(sessionToken)
  const challenge = await takeChallengeAttempt(s.db, tokenHash, s.now, CHALLENGE_MAX_ATTEMPTS)
  if (!challenge) throw challengeInvalid()
  const { userId } = challenge
  const attempt = await admitTwoFactorAttempt(s, userId)
  const account = await findAccount(s.db, userId)
  if (!account?.user.totpEnabledAt || !account.user.totpSecret) throw challengeInvalid()
  if (!account.user.isActive) throw new AuthError('account_inactive', 'The account is inactive.')
  const owner = { userId, orgId: account.org.id }

  let ok = false
  const method = TOTP_CODE_PATTERN.test(code) ? 'totp' : 'recovery_code'
  if (method === 'totp') {
    const state: TotpState = {
      secret: account.user.totpSecret,
      keyId: account.user.totpKeyId,
      enabledAt: account.user.totpEnabledAt,
      lastStep: account.user.totpLastStep,
    }
    const step = await verifyTotp(await readSecret(s, userId, state), code, s.now, state.lastStep)
    ok = step !== null && (await completeChallengeWithTotp(s.db, { tokenHash, userId, step, now: s.now }))
  } else {
    const recovery = normalizeRecoveryCode(code)
    ok =
      recovery !== null &&
      (await completeChallengeWithRecoveryCode(s.db, { tokenHash, userId, codeHash: await hashRecoveryCode(recovery), now: s.now }))
  }
  if (!ok) {
    await recordFailedTwoFactorAttempt(s, attempt, owner, 'login')
    throw unauthenticated('invalid_code', 'The code is incorrect or was already used.')
  }
  const { tokens, statements } = await prepareSession(s.db, s.config, { userId, orgId: account.org.id, role: account.role }, s.now, s.client)
  await twoFactorSucceeded(
    s,
    owner,
    [
      ...(method === 'recovery_code' ? [{ type: 'recovery_code_used' as const, outcome: 'success' as const, detail: { via: 'login' } }] : []),
      { type: 'login', outcome: 'success', detail: { method, session_id: tokens.sessionId } },
    ],
    [...statements],
  )
  return { account, tokens }
}
