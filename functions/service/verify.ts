import type { RequestDatabase } from '../../db/client'
import type { VerifyError, VerifyResult } from '../../verify/src/index'
import type { Config } from '../config'
import { AuthError } from '../core/errors'
import type { ErrorCode } from '../core/errors'
import { authorize } from '../core/sessions'
import { STATUSES } from '../http/statuses'

// The failures a downstream service can meet, named as gatehouse/verify names them.
const REASONS: Partial<Record<ErrorCode, VerifyError>> = {
  token_missing: 'invalid',
  token_invalid: 'invalid',
  token_expired: 'expired',
  session_revoked: 'revoked',
  account_inactive: 'inactive',
  insufficient_scope: 'insufficient_scope',
}

/**
 * What the service binding's `verify(token, scope?)` answers: the bearer path of every
 * protected route (signature, claims, live session, live role), as a value instead of a
 * response. A failure the caller cannot cause (the database down) still throws.
 */
export async function verifyForService(db: RequestDatabase, config: Config, token: string, now: Date, scope?: string): Promise<VerifyResult> {
  try {
    const { claims } = await authorize({ db, config, now }, String(token), scope)
    return { ok: true, claims: { ...claims, business_id: claims.org, iss: config.issuer } }
  } catch (error) {
    const reason = error instanceof AuthError ? REASONS[error.code] : undefined
    if (!reason || !(error instanceof AuthError)) throw error
    return { ok: false, error: reason, code: error.code, status: STATUSES[error.code] as 401 | 403, detail: error.detail }
  }
}
