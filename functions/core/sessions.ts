import type { Database } from '../../db/client'
import type { Role } from '../../db/schema'
import {
  findPrincipal,
  insertSession,
  revokeSession,
  revokeUserSessions,
  rotateRefreshToken,
  sessionOfSpentRefreshToken,
} from '../../db/queries/sessions'
import type { Principal } from '../../db/queries/sessions'
import type { Config } from '../config'
import { recordEvent } from './audit'
import { hashToken, randomToken } from './crypto'
import { AuthError, notFound, unauthenticated } from './errors'
import { limitClient } from './rate-limit'
import type { Services } from './services'
import { scopesFor } from './roles'
import { signAccessToken, verifyAccessToken } from './tokens'

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

/** Opens a session for a user who has proven who they are, and issues its first tokens. */
export async function startSession(
  db: Database,
  config: Config,
  account: { userId: string; orgId: string; role: Role },
  now: Date,
  client: ClientInfo = {},
): Promise<IssuedTokens> {
  const refreshToken = randomToken()
  const sessionId = await insertSession(db, {
    userId: account.userId,
    now,
    expiresAt: addSeconds(now, config.sessionMaxAgeSeconds),
    refreshTokenHash: await hashToken(refreshToken),
    refreshExpiresAt: addSeconds(now, config.refreshTokenTtlSeconds),
    ...client,
  })
  const accessToken = await issueAccessToken(config, { ...account, sessionId, sessionCreatedAt: now }, now)
  return { accessToken, refreshToken, expiresIn: config.accessTokenTtlSeconds, sessionId }
}

/**
 * Spends a refresh token for a new pair. A token that was already spent means it was
 * copied: the whole session is revoked (reuse detection), for the thief and the owner alike.
 * The session's absolute lifetime (`expires_at`) is checked by `loadPrincipal`: rotation
 * never extends it.
 */
export async function refreshSession(s: Services, refreshToken: string): Promise<IssuedTokens & { principal: Principal }> {
  const { db, config, now } = s
  await limitClient(s, 'refresh')
  const oldHash = await hashToken(refreshToken)
  const next = randomToken()
  const sessionId = await rotateRefreshToken(db, {
    oldHash,
    newHash: await hashToken(next),
    now,
    expiresAt: addSeconds(now, config.refreshTokenTtlSeconds),
  })
  if (!sessionId) {
    const stolenFrom = await sessionOfSpentRefreshToken(db, oldHash)
    if (stolenFrom) {
      await revokeSession(db, stolenFrom, now)
      const owner = await findPrincipal(db, stolenFrom)
      await recordEvent(s, {
        type: 'refresh_reuse_detected',
        outcome: 'failure',
        userId: owner?.userId,
        orgId: owner?.orgId,
        detail: { session_id: stolenFrom, session_revoked: true },
      })
      throw unauthenticated('refresh_token_reused', 'The refresh token was already used; the session has been ended.')
    }
    throw unauthenticated('refresh_token_invalid', 'The refresh token is invalid or expired.')
  }
  const principal = await loadPrincipal(db, sessionId, undefined, now)
  const accessToken = await issueAccessToken(config, principal, now)
  return { accessToken, refreshToken: next, expiresIn: config.accessTokenTtlSeconds, sessionId, principal }
}

export type RevokeReason = 'logout' | 'revoked' | 'logout_all'

/** Ends one of the caller's own sessions; 404 when it is not theirs or already ended. */
export async function endSession(s: Services, owner: Pick<Principal, 'userId' | 'orgId'>, sessionId: string, reason: RevokeReason) {
  if (!(await revokeSession(s.db, sessionId, s.now, owner.userId))) throw notFound('Session')
  await recordEvent(s, {
    type: 'session_revoked',
    outcome: 'success',
    userId: owner.userId,
    orgId: owner.orgId,
    detail: { session_id: sessionId, reason },
  })
}

/** Ends every live session of the caller, the current one included. */
export async function endAllSessions(s: Services, owner: Pick<Principal, 'userId' | 'orgId'>): Promise<number> {
  const ended = await revokeUserSessions(s.db, owner.userId, s.now)
  await recordEvent(s, {
    type: 'session_revoked',
    outcome: 'success',
    userId: owner.userId,
    orgId: owner.orgId,
    detail: { reason: 'logout_all', sessions: ended },
  })
  return ended
}

/**
 * The caller behind a session, checked live: a revoked or expired session is 401, an
 * inactive account 403, a user no longer in an organization 401.
 */
export async function loadPrincipal(db: Database, sessionId: string, userId: string | undefined, now: Date) {
  const principal = await findPrincipal(db, sessionId, userId)
  if (!principal) throw unauthenticated('session_revoked', 'The session has ended.')
  // Before the revocation check: deactivation also ends the sessions, and the contract
  // wants a deactivated user's tokens to say 403 (inactive), not 401.
  if (!principal.isActive) throw new AuthError('account_inactive', 403, 'The account is inactive.')
  if (principal.sessionRevoked || principal.sessionExpiresAt <= now) throw unauthenticated('session_revoked', 'The session has ended.')
  return principal
}

/** Verifies a bearer token and its session. */
export async function authenticate(db: Database, config: Config, token: string, now: Date) {
  const claims = await verifyAccessToken(config.keys, token, { issuer: config.issuer, audience: config.audience, now })
  const principal = await loadPrincipal(db, claims.sid, claims.sub, now)
  return { claims, principal }
}

/**
 * `authenticate`, and with `scope`, the token must carry that scope and the caller's current
 * role grant it (403 otherwise). Every protected route and the service binding's `verify` go
 * through here.
 */
export async function authorize(db: Database, config: Config, token: string, now: Date, scope?: string) {
  const auth = await authenticate(db, config, token, now)
  // The token's scopes are the role at issue time; the live role (loaded with the session)
  // must still grant it too, so a demotion takes effect at once, not at the next refresh.
  if (scope && !(auth.claims.scopes.includes(scope) && scopesFor(auth.principal.role).includes(scope)))
    throw new AuthError('insufficient_scope', 403, `This action needs the "${scope}" scope.`)
  return auth
}
