import type { BatchItem, BatchResponse } from 'drizzle-orm/batch'
import { allOrNothing, batch, required, rowsOf } from '../../db/client'
import type { Database, Statements } from '../../db/client'
import { hitWindowThenAdmit, resetCounter } from '../../db/queries/rate-limits'
import type { AdmittedAttempt, CallerAttempt, CallerAttemptCondition, CallerKey, CallerTwoFactorState, ClientAndAttempt } from '../../db/queries/rate-limits'
import type { Config } from '../config'
import type { LockoutPolicy } from '../config/rate-limits'
import { selectAccountById } from '../../db/queries/accounts'
import { selectMember } from '../../db/queries/organizations'
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
  challengeUser,
  insertChallenge,
  lockMemberWithTwoFactor,
  takeChallengeAttemptSql,
  selectTotpState,
  replaceRecoveryCodes,
  storePendingTotpSecretStatement,
} from '../../db/queries/two-factor'
import type { NewChallenge, TotpState } from '../../db/queries/two-factor'
import { eventRow, eventStatement } from './audit'
import type { AuthEvent } from './audit'
import { hashToken, randomToken } from './crypto'
import { decrypt, encrypt } from './encryption'
import type { DataKeys } from './encryption'
import { AuthError, notFound, unauthenticated } from './errors'
import { verifyPassword } from './passwords'
import {
  accountKey,
  callersAccountKey,
  admitClientAttempt,
  attemptStatement,
  callerAttemptStatement,
  checkClientWindow,
  clientHitOf,
  checkLimit,
  clientKey,
  failureStatements,
  judgeAttempt,
  judgeCallerAttempt,
  twoFactorKey,
} from './rate-limit'
import type { Attempt } from './rate-limit'
import { mailFailure, mailWithWrite } from './mail'
import { passwordProvenWithReads, reauthenticationReads, requireRecentSignIn, signedInSince } from './reauthentication'
import type { RecentCaller } from './reauthentication'
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes'
import type { Services } from './services'
import { prepareSession } from './sessions'
import type { Caller, IssuedTokens } from './sessions'
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

/** A right code: the account's 2FA failures forgotten and the events audited, as statements for the caller's batch. */
export const twoFactorSuccessStatements = (s: Services, { userId, orgId }: Owner, events: Omit<AuthEvent, 'userId' | 'orgId'>[]) =>
  [resetCounter(s.db, twoFactorKey(userId)), ...events.map((event) => eventStatement(s, { ...event, userId, orgId }))] as const


/** `twoFactorStatus`'s reads, for the session check's batch. */
export const twoFactorStatusReads = (db: Database, caller: { userId: string }) =>
  [selectTotpState(db, caller.userId), countUnusedRecoveryCodes(db, caller.userId)] as const

/** Whether 2FA is on, and how many recovery codes are left, from `twoFactorStatusReads`. */
export function twoFactorStatus([[state], [unused]]: BatchResponse<ReturnType<typeof twoFactorStatusReads>>) {
  if (!state) throw new AuthError('not_found', 'User not found.')
  const enabled = state.enabledAt !== null
  return { enabled, recoveryCodesRemaining: enabled ? (unused?.n ?? 0) : 0 }
}

/** What a 2FA change reads with the session check: the caller's 2FA state, and their attempt admitted on its counter. */
export interface TwoFactorRead {
  state: TotpState
  /** The attempt, counted only when the statement found the request one the endpoint acts on. */
  admission: CallerAttempt
  /** At /2fa/disable, for a password; at enable, for the password of an old sign-in. */
  account?: Account
  /** At enable: the password's attempt of an old sign-in (`reauthenticationReads`). */
  reauthentication?: CallerAttempt
}

type ReadServices = { db: Database; config: Config; now: Date }

/** The 2FA endpoints' scope (their `auth`): the admission counts only for a role that grants it. */
const SCOPE = 'profile:write'

// The state comes back from the admission's own snapshot: the Worker decides on what was counted on.
const stateAndAttempt = (s: ReadServices, caller: Caller, a: { key: CallerKey; when: CallerAttemptCondition; policy: LockoutPolicy }) =>
  callerAttemptStatement(s, caller, { scope: SCOPE, ...a, withTwoFactorState: true })

const ownCounter = (caller: Caller): CallerKey => ({ key: twoFactorKey(caller.userId) })

/**
 * /2fa/enable's reads: a wrong code counts only against a pending secret, from a recent enough
 * sign-in, with a valid body; from an older one (TWO_FACTOR_REAUTH_SECONDS), the password's
 * attempt instead, and the account (`reauthenticationReads`): the code counts once the password
 * proved right, in the change's own batch.
 */
export const enableTwoFactorReads = (s: ReadServices, caller: Caller, body: { password?: string } | undefined) =>
  [
    stateAndAttempt(s, caller, {
      key: ownCounter(caller),
      when: { act: body !== undefined, twoFactor: 'pending', signedInSince: signedInSince(s) },
      policy: s.config.rateLimits.twoFactorLockout,
    }),
    ...reauthenticationReads(s, caller, body, s.config.twoFactorReauthSeconds),
  ] as const

/** /2fa/setup's reads: an old sign-in's password (TWO_FACTOR_REAUTH_SECONDS), admitted with the session check, and the account. */
export const setupTwoFactorReads = (s: ReadServices, caller: Caller, body: { password?: string } | undefined) =>
  reauthenticationReads(s, caller, body, s.config.twoFactorReauthSeconds)

/** The answer of `enableTwoFactorReads`. */
export function enableTwoFactorRead([admitted, password, accounts]: BatchResponse<ReturnType<typeof enableTwoFactorReads>>): TwoFactorRead {
  return { ...twoFactorRead([admitted, accounts]), reauthentication: rowsOf<CallerAttempt>(password)[0] }
}

/** /2fa/recovery-codes' reads: a wrong code counts only while 2FA is on, with a valid body. */
export const recoveryCodesReads = (s: ReadServices, caller: Caller, bodyValid: boolean) =>
  [stateAndAttempt(s, caller, { key: ownCounter(caller), when: { act: bodyValid, twoFactor: 'on' }, policy: s.config.rateLimits.twoFactorLockout })] as const

/** /2fa/disable's reads: the proof's attempt on its own counter (a password on the login's), only while 2FA is on; the account, for a password. */
export const disableTwoFactorReads = (s: ReadServices, caller: Caller, proof: DisableProof | undefined) =>
  [
    proof?.password !== undefined
      ? stateAndAttempt(s, caller, { key: callersAccountKey, when: { act: true, twoFactor: 'on' }, policy: s.config.rateLimits.lockout })
      : stateAndAttempt(s, caller, { key: ownCounter(caller), when: { act: proof !== undefined, twoFactor: 'on' }, policy: s.config.rateLimits.twoFactorLockout }),
    selectAccountById(s.db, caller.userId),
  ] as const

/** The answer of the reads above. */
export function twoFactorRead([admitted, accounts]: readonly [unknown, ...unknown[]]): TwoFactorRead {
  const row = rowsOf<CallerAttempt & CallerTwoFactorState>(admitted)[0]!
  const state: TotpState = {
    secret: row.totp_secret,
    keyId: row.totp_key_id,
    enabledAt: row.totp_enabled_at_ms === null ? null : new Date(row.totp_enabled_at_ms),
    lastStep: row.totp_last_step,
  }
  return { state, admission: row, account: (accounts as Account[] | undefined)?.[0] }
}

/** The attempt admitted with the reads, or (without them, or when they counted nothing) admitted now. */
async function admitted(s: Services, read: TwoFactorRead | undefined, subject: Parameters<typeof judgeCallerAttempt>[2], policy: LockoutPolicy, admit: () => Promise<Attempt>) {
  const attempt = read === undefined ? undefined : await judgeCallerAttempt(s, read.admission, subject, policy)
  return attempt ?? (await admit())
}

/**
 * A new secret, stored encrypted and inactive until `enableTwoFactor` confirms a code from
 * it. Calling it again before then replaces the secret (a lost QR code is simply redone).
 * With TWO_FACTOR_REAUTH_SECONDS, an older sign-in needs the password.
 */
export async function setupTwoFactor(s: Services, caller: RecentCaller, password?: string, reads?: BatchResponse<ReturnType<typeof setupTwoFactorReads>>) {
  // An old sign-in's password, admitted with the reads: its counter reset rides with the secret.
  const proven = reads && (await passwordProvenWithReads(s, caller, password, { admission: rowsOf<CallerAttempt>(reads[0])[0]!, account: reads[1][0] }))
  if (!proven) await requireRecentSignIn(s, caller, password)
  const keys = dataKeys(s)
  const secret = newTotpSecret()
  const { kid, ciphertext } = await encrypt(keys, secret, caller.userId)
  const [stored] = await batch(s.db, [storePendingTotpSecretStatement(s.db, caller.userId, { ciphertext, keyId: kid }, s.now), ...(proven ?? [])])
  if (stored.length === 0) throw new AuthError('two_factor_already_enabled', 'Two-factor authentication is already enabled.')
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
 * `read` is `enableTwoFactorReads`' answer (`twoFactorRead`), when the caller has it already.
 */
export async function enableTwoFactor(
  s: Services,
  caller: TwoFactorCaller,
  code: string,
  password?: string,
  read?: TwoFactorRead,
): Promise<string[]> {
  const { userId } = caller
  // An old sign-in's password, admitted with the reads: what it writes rides in the next batch.
  const proven = read?.reauthentication && (await passwordProvenWithReads(s, caller, password, { admission: read.reauthentication, account: read.account }))
  if (!proven) await requireRecentSignIn(s, caller, password)
  const carried = proven ?? []
  const refuse = async (error: AuthError): Promise<never> => {
    if (carried.length) await batch(s.db, carried as unknown as Statements)
    throw error
  }
  const state = read?.state ?? (await loadState(s, userId))
  if (state.enabledAt) return refuse(new AuthError('two_factor_already_enabled', 'Two-factor authentication is already enabled.'))
  if (!state.secret) return refuse(new AuthError('two_factor_not_enabled', 'Set up two-factor authentication first (POST .../2fa/setup).'))
  const policy = s.config.rateLimits.twoFactorLockout
  const key = twoFactorKey(userId)
  // After a password proven here, the code's attempt was not counted with the reads: it is
  // counted in the next batch, with the password's outcome, before anything else is written.
  const admitNow = async () => {
    const results = (await batch(s.db, [...carried, attemptStatement(s, key, policy)] as unknown as Statements)) as readonly unknown[]
    return judgeAttempt(s, key, results.at(-1) as AdmittedAttempt[], { userId }, policy)
  }
  const attempt = proven ? undefined : await admitted(s, read, { userId }, policy, () => admitTwoFactorAttempt(s, userId))
  const step = await verifyTotp(await readSecret(s, userId, state), code, s.now, state.lastStep)
  if (step === null) {
    await recordFailedTwoFactorAttempt(s, attempt ?? (await admitNow()), caller, 'enable')
    throw invalidCode()
  }
  const { codes, hashes } = await newRecoverySet()
  const notice = ownerNotice(s, caller, 'turned on', 'Every other session of your account was ended.')
  // The change, its audit row, the counter reset and the notice (with the outbox): one batch.
  const ended = await enableTotp(
    s.db,
    { userId, ciphertext: state.secret, step, recoveryCodeHashes: hashes, now: s.now, keepSession: caller.sessionId },
    eventRow(s, { type: 'two_factor_enabled', outcome: 'success', userId, orgId: caller.orgId }),
    [...twoFactorSuccessStatements(s, caller, []), ...notice.statements],
    // Admitted first (`required`): while the counter is locked, nothing is written.
    proven && [...carried, required(s.db, attemptStatement(s, key, policy))],
  )
  if (ended === null) {
    // Locked: 429, as the admission would have answered before the code. Otherwise counted, as before.
    if (proven) await admitNow()
    // Lost a race: another request enabled 2FA, replaced the secret, or used this step.
    const now = await loadState(s, userId)
    if (now.enabledAt) throw new AuthError('two_factor_already_enabled', 'Two-factor authentication is already enabled.')
    throw invalidCode()
  }
  await noticeSent(s, notice)
  return codes
}

/**
 * The mail to the account's address about a change to its 2FA, so a change made with a
 * stolen session does not go unnoticed: with the outbox, statements for the change's batch;
 * with the email API, sent once it committed (`noticeSent`). A mail that fails is logged: the
 * change itself stands.
 */
function ownerNotice(s: Services, to: { email: string; fullName: string }, change: string, consequence: string) {
  return mailWithWrite(s, {
    to: to.email,
    subject: `Two-factor authentication was ${change}`,
    text: [
      `Hello ${to.fullName},`,
      '',
      `Two-factor authentication was ${change} for your account on ${s.now.toISOString()}. ${consequence}`,
      '',
      'If this was not you, reset your password now and contact your organization’s owner.',
    ].join('\n'),
  })
}

const noticeSent = (s: Services, notice: ReturnType<typeof ownerNotice>) =>
  notice.afterCommit().catch((error) => s.log.error('2FA notice not sent', mailFailure(error)))

// The step of a current TOTP code of an enabled user, or null when the code is wrong.
async function totpStep(s: Services, userId: string, state: TotpState, code: string) {
  if (!TOTP_CODE_PATTERN.test(code)) return null
  return verifyTotp(await readSecret(s, userId, state), code, s.now, state.lastStep)
}

/** A new set of recovery codes, for a current TOTP code; the old set stops working. `read`: `recoveryCodesReads`' answer. */
export async function regenerateRecoveryCodes(s: Services, owner: Owner, code: string, read?: TwoFactorRead): Promise<string[]> {
  const { userId } = owner
  const state = read?.state ?? (await loadState(s, userId))
  if (!state.enabledAt) throw notEnabled()
  const attempt = await admitted(s, read, { userId }, s.config.rateLimits.twoFactorLockout, () => admitTwoFactorAttempt(s, userId))
  const step = await totpStep(s, userId, state, code)
  const { codes, hashes } = await newRecoverySet()
  // The code spent (if still unused), the new set, the counter reset and the audit row: one batch.
  const done =
    step !== null &&
    (await allOrNothing(s.db, [
      advanceTotpStep(s.db, userId, step, s.now),
      ...replaceRecoveryCodes(s.db, userId, hashes, s.now),
      ...twoFactorSuccessStatements(s, owner, [{ type: 'recovery_codes_regenerated', outcome: 'success' }]),
    ]))
  if (!done) {
    await recordFailedTwoFactorAttempt(s, attempt, owner, 'recovery_codes')
    throw invalidCode()
  }
  return codes
}

export type DisableProof = { code: string; password?: undefined } | { password: string; code?: undefined }

/**
 * Turns 2FA off, on proof: a TOTP code, a recovery code, or the password. Every other
 * session of the user ends: whoever else held one may be why 2FA is being turned off.
 * `read`: `disableTwoFactorReads`' answer.
 */
export async function disableTwoFactor(
  s: Services,
  caller: Owner & { sessionId: string; email: string; fullName: string },
  proof_: DisableProof,
  read?: TwoFactorRead,
) {
  const { userId } = caller
  const state = read?.state ?? (await loadState(s, userId))
  if (!state.enabledAt) throw notEnabled()
  let proofKind: 'totp' | 'recovery_code' | 'password' = 'password'
  let attempt: Attempt
  // The code proving the change, spent in its batch; null for a wrong one.
  let proof: { codeHash: string } | { step: number } | null | undefined
  if (proof_.code !== undefined) {
    attempt = await admitted(s, read, { userId }, s.config.rateLimits.twoFactorLockout, () => admitTwoFactorAttempt(s, userId))
    const recovery = normalizeRecoveryCode(proof_.code)
    proofKind = recovery ? 'recovery_code' : 'totp'
    if (recovery) proof = { codeHash: await hashRecoveryCode(recovery) }
    else {
      const step = await totpStep(s, userId, state, proof_.code)
      proof = step === null ? null : { step }
    }
  } else {
    // A password is a guess at the password, wherever it is typed: it counts on the login's
    // counter, or a stolen access token would get the 2FA counter's guesses on top of the login's.
    const key = accountKey(caller.email)
    let account = read?.account
    if (read) attempt = await admitted(s, read, caller, s.config.rateLimits.lockout, () => checkLimit(s, key, caller))
    else {
      const [admission, [found]] = await s.db.batch([attemptStatement(s, key), selectAccountById(s.db, userId)])
      attempt = await judgeAttempt(s, key, admission, caller)
      account = found
    }
    const hash = account?.user.passwordHash
    if (!hash || !verifyPassword(await s.argon2(), proof_.password, hash)) {
      await recordFailedTwoFactorAttempt(s, attempt, caller, 'disable_password')
      throw new AuthError('invalid_credentials', 'The password is incorrect.', {
        errors: [{ field: 'password', message: hash ? 'is incorrect' : 'this account has no password; use a code' }],
      })
    }
  }
  const notice = ownerNotice(s, caller, 'turned off', 'Every other session of your account was ended.')
  const event = (e: Omit<AuthEvent, 'userId' | 'orgId'>) => eventRow(s, { ...e, userId, orgId: caller.orgId })
  // The change, the code spent, its audit rows, the counters reset and the notice: one batch.
  const done =
    proof !== null &&
    (await allOrNothing(s.db, [
      ...disableTotp(s.db, { userId, now: s.now, keepSession: caller.sessionId, proof }, [
        ...(proofKind === 'recovery_code' ? [{ event: event({ type: 'recovery_code_used', outcome: 'success', detail: { via: 'disable' } }) }] : []),
        { event: event({ type: 'two_factor_disabled', outcome: 'success', detail: { proof: proofKind } }), countAs: 'other_sessions_ended' },
      ]),
      resetCounter(s.db, twoFactorKey(userId)),
      ...(proofKind === 'password' ? [resetCounter(s.db, attempt.key)] : []),
      ...notice.statements,
    ]))
  if (!done) {
    await recordFailedTwoFactorAttempt(s, attempt, caller, 'disable')
    throw invalidCode()
  }
  await noticeSent(s, notice)
}

/** The member and their 2FA state, for the session check's batch (`resetMemberTwoFactor`). */
export const memberTwoFactorReads = (db: Database, actor: { orgId: string }, targetUserId: string) =>
  [selectMember(db, actor.orgId, targetUserId), selectTotpState(db, targetUserId)] as const

/**
 * An owner turns a member's 2FA off (a lost authenticator and spent recovery codes): every
 * session of the member ends, the member is mailed, and the audit log names the owner.
 * Owners only, and never their own (that is /2fa/disable, with proof).
 */
export async function resetMemberTwoFactor(
  s: Services,
  actor: Owner & { role: Role },
  targetUserId: string,
  read?: BatchResponse<ReturnType<typeof memberTwoFactorReads>>,
): Promise<void> {
  if (actor.role !== 'owner') throw new AuthError('forbidden', 'Only an owner can reset a member’s two-factor authentication.')
  // Another organization's user and an unknown id are the same answer: nothing leaks across tenants.
  const [[target], [state]] = read ?? (await s.db.batch(memberTwoFactorReads(s.db, actor, targetUserId)))
  if (!target) throw notFound('Member')
  if (target.userId === actor.userId)
    throw new AuthError('forbidden', 'Turn your own two-factor authentication off at /2fa/disable.')
  if (!state?.enabledAt) throw notEnabled()
  const notice = ownerNotice(s, target, 'turned off by an owner of your organization', 'Every session of your account was ended.')
  const member = { userId: target.userId, orgId: actor.orgId }
  // The member's 2FA off, their sessions ended, their counter reset, the audit row naming the
  // owner: one batch, and only while they are still a member with 2FA on.
  const done = await allOrNothing(s.db, [
    required(s.db, lockMemberWithTwoFactor(s.db, actor.orgId, target.userId, s.now)),
    ...disableTotp(s.db, { userId: target.userId, now: s.now }, [
      {
        event: eventRow(s, { type: 'two_factor_reset', outcome: 'success', ...member, detail: { by: actor.userId } }),
        countAs: 'sessions_ended',
      },
    ]),
    resetCounter(s.db, twoFactorKey(target.userId)),
    ...notice.statements,
  ])
  // Turned off (by another owner, say) or the member gone since the read: answer as a fresh read does.
  if (!done) return resetMemberTwoFactor(s, actor, targetUserId)
  await noticeSent(s, notice)
}

/** A new challenge's session_token, and the statement that stores it (for the caller's batch). */
export async function prepareTwoFactorChallenge(s: Services, userId: string, firstFactorPasskeyId?: string) {
  const { sessionToken, challenge } = await prepareChallengeRow(s, firstFactorPasskeyId)
  return { sessionToken, statement: insertChallenge(s.db, { ...challenge, userId }) }
}

/** A challenge's row but its user, for a login whose account a statement finds (`prepareSessionRow`'s twin). */
export async function prepareChallengeRow(s: Pick<Services, 'now' | 'client'>, firstFactorPasskeyId?: string) {
  // 256 random bits, stored as a hash: like a refresh token, and equally never a JWT, so it
  // can never pass as an access token.
  const sessionToken = randomToken()
  const challenge: Omit<NewChallenge, 'userId'> = {
    tokenHash: await hashToken(sessionToken),
    now: s.now,
    expiresAt: new Date(s.now.getTime() + CHALLENGE_TTL_SECONDS * 1000),
    userAgent: s.client.userAgent,
    ip: s.client.ip,
    firstFactorPasskeyId,
  }
  return { sessionToken, challenge }
}

/**
 * The first round trip of step two, one batch: the client's per-IP limit, then (under it)
 * one of the challenge's attempts taken, then (if taken) one attempt admitted on its user's
 * 2FA counter, and the user's account. Exactly `limitClient`, `takeChallengeAttempt`,
 * `admitTwoFactorAttempt` and `findAccount` in turn: 429 over the client's limit, 401 for
 * a challenge unknown, spent, expired or out of attempts, 429 while the user's counter is locked.
 */
export async function openChallenge(
  s: Services,
  tokenHash: string,
  /** Reads for the same batch (a passkey's challenge and credential): their results are `also`. */
  reads: BatchItem<'pg'>[] = [],
): Promise<{ userId: string; attempt: Attempt; account: Account | undefined; firstFactorPasskeyId: string | null; also: unknown[] }> {
  const policy = s.config.rateLimits.twoFactorLockout
  const [admission, [account], ...also] = await s.db.batch([
    hitWindowThenAdmit(s.db, {
      clientKey: clientKey('two_factor', s.client.ip),
      window: s.config.rateLimits.perIp.two_factor,
      rule: policy,
      now: s.now,
      subject: (underLimit) => takeChallengeAttemptSql(tokenHash, s.now, CHALLENGE_MAX_ATTEMPTS, twoFactorKey(''), underLimit),
    }),
    selectAccountById(s.db, challengeUser(tokenHash)),
    ...reads,
  ])
  const row = rowsOf<ClientAndAttempt>(admission)[0]!
  checkClientWindow(s, 'two_factor', clientHitOf(row))
  if (!row.user_id) throw challengeInvalid()
  const userId = row.user_id
  const attempt = await admitClientAttempt(s, 'two_factor', twoFactorKey(userId), row, { userId }, policy)
  return { userId, attempt, account, firstFactorPasskeyId: row.first_factor_passkey_id ?? null, also }
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
  const { userId, attempt, account } = await openChallenge(s, tokenHash)
  if (!account?.user.totpEnabledAt || !account.user.totpSecret) throw challengeInvalid()
  if (!account.user.isActive) throw new AuthError('account_inactive', 'The account is inactive.')
  const owner = { userId, orgId: account.org.id }

  const method = TOTP_CODE_PATTERN.test(code) ? 'totp' : 'recovery_code'
  let completion: ReturnType<typeof completeChallengeWithTotp> | undefined
  if (method === 'totp') {
    const state: TotpState = {
      secret: account.user.totpSecret,
      keyId: account.user.totpKeyId,
      enabledAt: account.user.totpEnabledAt,
      lastStep: account.user.totpLastStep,
    }
    const step = await verifyTotp(await readSecret(s, userId, state), code, s.now, state.lastStep)
    if (step !== null) completion = completeChallengeWithTotp(s.db, { tokenHash, userId, step, now: s.now })
  } else {
    const recovery = normalizeRecoveryCode(code)
    if (recovery !== null)
      completion = completeChallengeWithRecoveryCode(s.db, { tokenHash, userId, codeHash: await hashRecoveryCode(recovery), now: s.now })
  }
  // The code spent with the challenge, and the session opened, in one batch: all or nothing.
  const { tokens, statements } = await prepareSession(s, { userId, orgId: account.org.id, role: account.role })
  const done =
    completion &&
    (await allOrNothing(s.db, [
      ...completion,
      ...twoFactorSuccessStatements(s, owner, [
        ...(method === 'recovery_code' ? [{ type: 'recovery_code_used' as const, outcome: 'success' as const, detail: { via: 'login' } }] : []),
        { type: 'login', outcome: 'success', detail: { method, session_id: tokens.sessionId } },
      ]),
      ...statements,
    ]))
  if (!done) {
    await recordFailedTwoFactorAttempt(s, attempt, owner, 'login')
    throw unauthenticated('invalid_code', 'The code is incorrect or was already used.')
  }
  return { account, tokens }
}
