import { findAccount } from '../../db/queries/accounts'
import type { Account } from '../../db/queries/accounts'
import { revokeUserSessions } from '../../db/queries/sessions'
import {
  advanceTotpStep,
  completeChallengeWithRecoveryCode,
  completeChallengeWithTotp,
  countUnusedRecoveryCodes,
  disableTotp,
  enableTotp,
  findTotpState,
  insertChallenge,
  insertTwoFactorFailure,
  recentTwoFactorFailures,
  replaceRecoveryCodes,
  spendRecoveryCode,
  storePendingTotpSecret,
  takeChallengeAttempt,
} from '../../db/queries/two-factor'
import type { TotpState } from '../../db/queries/two-factor'
import { hashToken, randomToken } from './crypto'
import { decrypt, encrypt } from './encryption'
import type { DataKeys } from './encryption'
import { AuthError, unauthenticated } from './errors'
import { verifyPassword } from './passwords'
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes'
import type { Services } from './services'
import { startSession } from './sessions'
import type { IssuedTokens } from './sessions'
import { base32Encode, newTotpSecret, qrCodeDataUrl, totpUri, verifyTotp } from './totp'

export const CHALLENGE_TTL_SECONDS = 5 * 60
export const CHALLENGE_MAX_ATTEMPTS = 5
// Across challenges: a password holder opening challenge after challenge still gets only
// this many guesses per window. The rate-limit work may replace the two functions below.
export const ACCOUNT_MAX_FAILURES = 10
export const ACCOUNT_FAILURE_WINDOW_SECONDS = 15 * 60

/** A TOTP code as typed: exactly six ASCII digits. */
export const TOTP_CODE_PATTERN = /^[0-9]{6}$/

const invalidCode = () =>
  new AuthError('invalid_code', 422, 'The code is incorrect or was already used.', {
    errors: [{ field: 'code', message: 'is incorrect or was already used' }],
  })
const notEnabled = () => new AuthError('two_factor_not_enabled', 409, 'Two-factor authentication is not enabled.')
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
  if (!state) throw new AuthError('not_found', 404, 'User not found.')
  return state
}

/**
 * Every wrong 2FA code (or password at `disable`) of a user, on any endpoint, goes through
 * here: the hook for account-level limits.
 */
export async function recordFailedTwoFactorAttempt(s: Services, userId: string, via: string): Promise<void> {
  await insertTwoFactorFailure(s.db, { userId, via, now: s.now, ip: s.client.ip, userAgent: s.client.userAgent })
}

/** 429 once the account has had ACCOUNT_MAX_FAILURES wrong codes within the window. */
export async function assertTwoFactorAttemptsLeft(s: Services, userId: string): Promise<void> {
  const windowMs = ACCOUNT_FAILURE_WINDOW_SECONDS * 1000
  const failures = await recentTwoFactorFailures(s.db, userId, new Date(s.now.getTime() - windowMs), ACCOUNT_MAX_FAILURES)
  if (failures.length < ACCOUNT_MAX_FAILURES) return
  const oldest = failures[failures.length - 1]!
  const retryAfterSeconds = Math.max(1, Math.ceil((oldest.getTime() + windowMs - s.now.getTime()) / 1000))
  throw new AuthError('rate_limited', 429, 'Too many wrong two-factor codes; try again later.', { retryAfterSeconds })
}

export async function twoFactorStatus(s: Services, userId: string) {
  const state = await loadState(s, userId)
  const enabled = state.enabledAt !== null
  return { enabled, recoveryCodesRemaining: enabled ? await countUnusedRecoveryCodes(s.db, userId) : 0 }
}

/**
 * A new secret, stored encrypted and inactive until `enableTwoFactor` confirms a code from
 * it. Calling it again before then replaces the secret (a lost QR code is simply redone).
 */
export async function setupTwoFactor(s: Services, user: { id: string; email: string }) {
  const keys = dataKeys(s)
  const secret = newTotpSecret()
  const { kid, ciphertext } = await encrypt(keys, secret, user.id)
  if (!(await storePendingTotpSecret(s.db, user.id, { ciphertext, keyId: kid }, s.now)))
    throw new AuthError('two_factor_already_enabled', 409, 'Two-factor authentication is already enabled.')
  const otpauthUrl = totpUri(secret, s.config.totpIssuer, user.email)
  return { secret: base32Encode(secret), otpauthUrl, qrCode: qrCodeDataUrl(otpauthUrl) }
}

async function newRecoverySet() {
  const codes = newRecoveryCodes()
  const hashes = await Promise.all(codes.map((code) => hashRecoveryCode(normalizeRecoveryCode(code)!)))
  return { codes, hashes }
}

/** Confirms the pending secret with a code from it; returns the first recovery codes. */
export async function enableTwoFactor(s: Services, userId: string, code: string): Promise<string[]> {
  const state = await loadState(s, userId)
  if (state.enabledAt) throw new AuthError('two_factor_already_enabled', 409, 'Two-factor authentication is already enabled.')
  if (!state.secret) throw new AuthError('two_factor_not_enabled', 409, 'Set up two-factor authentication first (POST .../2fa/setup).')
  await assertTwoFactorAttemptsLeft(s, userId)
  const step = await verifyTotp(await readSecret(s, userId, state), code, s.now, state.lastStep)
  if (step === null) {
    await recordFailedTwoFactorAttempt(s, userId, 'enable')
    throw invalidCode()
  }
  const { codes, hashes } = await newRecoverySet()
  if (!(await enableTotp(s.db, { userId, ciphertext: state.secret, step, recoveryCodeHashes: hashes, now: s.now }))) {
    // Lost a race: another request enabled 2FA, replaced the secret, or used this step.
    const now = await loadState(s, userId)
    if (now.enabledAt) throw new AuthError('two_factor_already_enabled', 409, 'Two-factor authentication is already enabled.')
    throw invalidCode()
  }
  return codes
}

// A current TOTP code of an enabled user, spent (its step recorded) if right.
async function spendTotp(s: Services, userId: string, state: TotpState, code: string): Promise<boolean> {
  if (!TOTP_CODE_PATTERN.test(code)) return false
  const step = await verifyTotp(await readSecret(s, userId, state), code, s.now, state.lastStep)
  return step !== null && advanceTotpStep(s.db, userId, step, s.now)
}

/** A new set of recovery codes, for a current TOTP code; the old set stops working. */
export async function regenerateRecoveryCodes(s: Services, userId: string, code: string): Promise<string[]> {
  const state = await loadState(s, userId)
  if (!state.enabledAt) throw notEnabled()
  await assertTwoFactorAttemptsLeft(s, userId)
  if (!(await spendTotp(s, userId, state, code))) {
    await recordFailedTwoFactorAttempt(s, userId, 'recovery_codes')
    throw invalidCode()
  }
  const { codes, hashes } = await newRecoverySet()
  await replaceRecoveryCodes(s.db, userId, hashes, s.now)
  return codes
}

export type DisableProof = { code: string; password?: undefined } | { password: string; code?: undefined }

/**
 * Turns 2FA off, on proof: a TOTP code, a recovery code, or the password. Every other
 * session of the user ends: whoever else held one may be why 2FA is being turned off.
 */
export async function disableTwoFactor(s: Services, caller: { userId: string; sessionId: string }, proof: DisableProof) {
  const { userId } = caller
  const state = await loadState(s, userId)
  if (!state.enabledAt) throw notEnabled()
  await assertTwoFactorAttemptsLeft(s, userId)
  if (proof.code !== undefined) {
    const recovery = normalizeRecoveryCode(proof.code)
    const ok = recovery
      ? await spendRecoveryCode(s.db, userId, await hashRecoveryCode(recovery), s.now)
      : await spendTotp(s, userId, state, proof.code)
    if (!ok) {
      await recordFailedTwoFactorAttempt(s, userId, 'disable')
      throw invalidCode()
    }
  } else {
    const account = await findAccount(s.db, userId)
    const hash = account?.user.passwordHash
    if (!hash || !verifyPassword(await s.argon2(), proof.password, hash)) {
      await recordFailedTwoFactorAttempt(s, userId, 'disable_password')
      throw new AuthError('invalid_credentials', 422, 'The password is incorrect.', {
        errors: [{ field: 'password', message: hash ? 'is incorrect' : 'this account has no password; use a code' }],
      })
    }
  }
  await disableTotp(s.db, userId, s.now)
  await revokeUserSessions(s.db, userId, s.now, caller.sessionId)
}

/** Step one of a two-step login: an opaque, single-use session_token instead of tokens. */
export async function startTwoFactorChallenge(s: Services, userId: string): Promise<string> {
  // 256 random bits, stored as a hash: like a refresh token, and equally never a JWT, so it
  // can never pass as an access token.
  const sessionToken = randomToken()
  await insertChallenge(s.db, {
    tokenHash: await hashToken(sessionToken),
    userId,
    now: s.now,
    expiresAt: new Date(s.now.getTime() + CHALLENGE_TTL_SECONDS * 1000),
    userAgent: s.client.userAgent,
    ip: s.client.ip,
  })
  return sessionToken
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
  const tokenHash = await hashToken(sessionToken)
  const attempt = await takeChallengeAttempt(s.db, tokenHash, s.now, CHALLENGE_MAX_ATTEMPTS)
  if (!attempt) throw challengeInvalid()
  const { userId } = attempt
  await assertTwoFactorAttemptsLeft(s, userId)
  const account = await findAccount(s.db, userId)
  if (!account || !account.user.totpEnabledAt || !account.user.totpSecret) throw challengeInvalid()
  if (!account.user.isActive) throw new AuthError('account_inactive', 403, 'The account is inactive.')

  let ok = false
  if (TOTP_CODE_PATTERN.test(code)) {
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
    await recordFailedTwoFactorAttempt(s, userId, 'login')
    throw unauthenticated('invalid_code', 'The code is incorrect or was already used.')
  }
  const tokens = await startSession(s.db, s.config, { userId, orgId: account.org.id, role: account.role }, s.now, s.client)
  return { account, tokens }
}
