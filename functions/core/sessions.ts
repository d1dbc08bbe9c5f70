import type { BatchItem, BatchResponse } from 'drizzle-orm/batch'
import { batch, rowsOf } from '../../db/client'
import type { RequestDatabase } from '../../db/client'
import type { Role } from '../../db/schema'
import {
  findPrincipal,
  sessionStatements,
  revokeSessionSql,
  revokeSessionStatement,
  revokeUserSessionsSql,
  rotateRefreshTokenForClient,
  selectPrincipal,
  sessionOfSpentRefreshToken,
} from '../../db/queries/sessions'
import type { NewSession, Principal, Rotation } from '../../db/queries/sessions'
import type { Config } from '../config'
import { eventRow, eventStatement } from './audit'
import { changeWithEvent } from '../../db/queries/events'
import { hashToken, randomToken } from './crypto'
import { AuthError, notFound, unauthenticated } from './errors'
import { checkClientWindow, clientHitOf, clientWindow } from './rate-limit'
import type { Services } from './services'
import { scopesFor } from './roles'
import { signAccessToken, verifyAccessToken } from './tokens'
import type { VerifiedAccess } from './tokens'

export interface IssuedTokens {
  accessToken: string
  refreshToken: string
  expiresIn: number
  sessionId: string
}

export interface ClientInfo {
  userAgent?: string | null
  ip?: string | null
}

const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000)

function issueAccessToken(
  config: Config,
  p: { userId: string; sessionId: string; orgId: string; role: Role; sessionCreatedAt: Date },
  now: Date,
) {
  return signAccessToken(
    config.keys,
    {
      sub: p.userId,
      sid: p.sessionId,
      org: p.orgId,
      scopes: scopesFor(p.role),
      // A session opens only at a full sign-in, so its start is the sign-in's time.
      authTime: Math.floor(p.sessionCreatedAt.getTime() / 1000),
    },
    { issuer: config.issuer, audience: config.audience, ttlSeconds: config.accessTokenTtlSeconds, now },
  )
}

/**
 * A new session's tokens, and the statements that store it, for the caller to write in its
 * own batch (with the account, the audit row...): the id is chosen here, so the access token
 * is signed before the round trip instead of after it.
 */
export async function prepareSession(s: Pick<Services, 'db' | 'config' | 'now' | 'client'>, account: { userId: string; orgId: string; role: Role }) {
  const { row, sign } = await prepareSessionRow(s)
  const statements = sessionStatements(s.db, { ...row, userId: account.userId })
  return { tokens: await sign(account), statements }
}

/**
 * A new session's row but its user, and `sign` for its tokens: for a login whose account a
 * statement finds (a returning OAuth identity), so the ids and the refresh token are chosen
 * before the round trip and the access token is signed after it (signing needs no database).
 */
export async function prepareSessionRow(s: Pick<Services, 'config' | 'now' | 'client'>) {
  const { config, now, client } = s
  const refreshToken = randomToken()
  const sessionId = crypto.randomUUID()
  const row: Omit<NewSession, 'userId'> & { id: string } = {
    id: sessionId,
    now,
    expiresAt: addSeconds(now, config.sessionMaxAgeSeconds),
    refreshTokenHash: await hashToken(refreshToken),
    refreshExpiresAt: addSeconds(now, config.refreshTokenTtlSeconds),
    maxLiveSessions: config.maxSessionsPerUser,
    ...client,
  }
  const sign = async (account: { userId: string; orgId: string; role: Role }): Promise<IssuedTokens> => ({
    accessToken: await issueAccessToken(config, { ...account, sessionId, sessionCreatedAt: now }, now),
    refreshToken,
    expiresIn: config.accessTokenTtlSeconds,
    sessionId,
  })
  return { row, sign }
}

/**
 * Spends a refresh token for a new pair. A token that was already spent means it was
 * copied: the whole session is revoked (reuse detection), for the thief and the owner alike.
 * The session's absolute lifetime (`expires_at`) is checked by `loadPrincipal`: rotation
 * never extends it.
 */
export async function refreshSession(s: Services, refreshToken: string): Promise<IssuedTokens & { principal: Principal }> {
  const { db, config, now } = s
  const oldHash = await hashToken(refreshToken)
  const next = randomToken()
  // One round trip: the per-IP window, the rotation (only under the limit) and the principal.
  const [rotation] = rowsOf<Rotation>(
    await rotateRefreshTokenForClient(db, {
      ...clientWindow(s, 'refresh'),
      oldHash,
      newHash: await hashToken(next),
      now,
      expiresAt: addSeconds(now, config.refreshTokenTtlSeconds),
    }),
  )
  checkClientWindow(s, 'refresh', clientHitOf(rotation!))
  const sessionId = rotation!.session_id
  if (!sessionId) {
    // The failure path may take more trips: was the token spent already (copied)?
    const stolen = await sessionOfSpentRefreshToken(db, oldHash)
    if (stolen) {
      await batch(db, [
        revokeSessionStatement(db, stolen.sessionId, now),
        eventStatement(s, {
          type: 'refresh_reuse_detected',
          outcome: 'failure',
          userId: stolen.userId,
          orgId: stolen.orgId,
          detail: { session_id: stolen.sessionId, session_revoked: true },
        }),
      ])
      throw unauthenticated('refresh_token_reused', 'The refresh token was already used; the session has been ended.')
    }
    throw unauthenticated('refresh_token_invalid', 'The refresh token is invalid or expired.')
  }
  const read = rotation!.principal
  const principal = checkPrincipal(
    read
      ? { ...read, sessionExpiresAt: new Date(read.sessionExpiresAt), sessionCreatedAt: new Date(read.sessionCreatedAt), createdAt: new Date(read.createdAt) }
      : undefined,
    now,
  )
  const accessToken = await issueAccessToken(config, principal, now)
  return { accessToken, refreshToken: next, expiresIn: config.accessTokenTtlSeconds, sessionId, principal }
}

export type RevokeReason = 'logout' | 'revoked' | 'logout_all'

/** Ends one of the caller's own sessions; 404 when it is not theirs or already ended. */
export async function endSession(s: Services, owner: Pick<Principal, 'userId' | 'orgId'>, sessionId: string, reason: RevokeReason) {
  // The revocation and its audit row in one statement (the row only if a session ended).
  const ended = await changeWithEvent(
    s.db,
    revokeSessionSql(s.db, sessionId, s.now, owner.userId),
    eventRow(s, { type: 'session_revoked', outcome: 'success', userId: owner.userId, orgId: owner.orgId, detail: { session_id: sessionId, reason } }),
    { only: 'if-changed' },
  )
  if (!ended) throw notFound('Session')
}

/** Ends every live session of the caller, the current one included. */
export async function endAllSessions(s: Services, owner: Pick<Principal, 'userId' | 'orgId'>): Promise<number> {
  return changeWithEvent(
    s.db,
    revokeUserSessionsSql(s.db, owner.userId, s.now),
    eventRow(s, { type: 'session_revoked', outcome: 'success', userId: owner.userId, orgId: owner.orgId, detail: { reason: 'logout_all' } }),
    { countAs: 'sessions' },
  )
}

/**
 * The caller behind a session, read alone or in a batch with the request's reads, checked
 * live: a revoked or expired session is 401, an inactive account 403, a user no longer in an
 * organization 401.
 */
export function checkPrincipal(principal: Principal | undefined, now: Date): Principal {
  if (!principal) throw unauthenticated('session_revoked', 'The session has ended.')
  // Before the revocation check: deactivation also ends the sessions, and the contract
  // wants a deactivated user's tokens to say 403 (inactive), not 401.
  if (!principal.isActive) throw new AuthError('account_inactive', 'The account is inactive.')
  if (principal.sessionRevoked || principal.sessionExpiresAt <= now) throw unauthenticated('session_revoked', 'The session has ended.')
  return principal
}

/** What checking a bearer token needs: a request's services, or a service binding's call. */
export type TokenServices = Pick<Services, 'db' | 'config' | 'now'>

/** Who a verified access token says the caller is; its session is not checked yet. */
export interface Caller {
  userId: string
  orgId: string
  sessionId: string
  /** The token's scopes (its role at issue time), for reads that must only act for a caller `authorize` will pass. */
  scopes?: readonly string[]
}

/** The statements an endpoint reads about its caller, in the same round trip as the session check. */
export type CallerReads = readonly [BatchItem<'pg'>, ...BatchItem<'pg'>[]]

/**
 * Verifies a bearer token (no database) and its session (one round trip). `reads` are the
 * endpoint's own queries about the caller: they go in the same batch as the session check
 * and are answered only if it passes, so an authenticated read costs one round trip in all.
 * They are keyed on the token's signed claims; should the live organization differ, they
 * are read again for it.
 */
export async function authenticate<R extends CallerReads>(
  { db, config, now }: TokenServices,
  token: string,
  options: {
    reads?: (db: RequestDatabase, caller: Caller) => R
    /** Throws when the caller may not do this (a scope): judged before any error of `reads`. */
    authorize?: (auth: { claims: VerifiedAccess; principal: Principal }) => void
  } = {},
): Promise<{ claims: VerifiedAccess; principal: Principal; reads?: BatchResponse<R> }> {
  const { reads, authorize = () => {} } = options
  const claims = await verifyAccessToken(config.keys, token, { issuer: config.issuer, audience: config.audience, now })
  const passed = (principal: Principal | undefined) => {
    const auth = { claims, principal: checkPrincipal(principal, now) }
    authorize(auth)
    return auth
  }
  let statements: R | undefined
  try {
    statements = reads?.(db, { userId: claims.sub, orgId: claims.org, sessionId: claims.sid, scopes: claims.scopes })
  } catch (error) {
    // A bad query parameter: the caller still hears about their session and scope first.
    passed(await findPrincipal(db, claims.sid, claims.sub))
    throw error
  }
  if (!statements) return passed(await findPrincipal(db, claims.sid, claims.sub))
  const [principals, ...results] = await db.batch([selectPrincipal(db, claims.sid, claims.sub), ...statements])
  const auth = passed(principals[0])
  const { principal } = auth
  // Never seen while a user belongs to one organization for life; correct, at one more trip, if it were.
  if (principal.orgId !== claims.org) return { ...auth, reads: await db.batch(reads!(db, { ...principal, scopes: claims.scopes })) }
  return { ...auth, reads: results as BatchResponse<R> }
}

/**
 * `authenticate`, and with `scope`, the token must carry that scope and the caller's current
 * role grant it (403 otherwise). Every protected route and the service binding's `verify` go
 * through here.
 */
export async function authorize<R extends CallerReads>(
  s: TokenServices,
  token: string,
  scope?: string,
  reads?: (db: RequestDatabase, caller: Caller) => R,
) {
  return authenticate(s, token, {
    reads,
    // The token's scopes are the role at issue time; the live role (loaded with the session)
    // must still grant it too, so a demotion takes effect at once, not at the next refresh.
    authorize: ({ claims, principal }) => {
      if (scope && !(claims.scopes.includes(scope) && scopesFor(principal.role).includes(scope)))
        throw new AuthError('insufficient_scope', `This action needs the "${scope}" scope.`)
    },
  })
}
