/**
 * Stable machine codes. The core names a failure; the HTTP layer decides its status
 * (http/statuses.ts) and each dialect its body, in one place each.
 */
export type ErrorCode =
  | 'malformed_json'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'validation_failed'
  | 'token_missing'
  | 'token_invalid'
  | 'token_expired'
  | 'session_revoked'
  | 'invalid_credentials'
  | 'refresh_token_invalid'
  | 'refresh_token_reused'
  | 'account_inactive'
  | 'insufficient_scope'
  | 'forbidden'
  | 'last_owner'
  | 'invitation_invalid'
  | 'email_token_invalid'
  | 'mail_unavailable'
  | 'not_found'
  | 'email_taken'
  | 'two_factor_already_enabled'
  | 'two_factor_not_enabled'
  | 'invalid_code'
  | 'challenge_invalid'
  | 'oauth_failed'
  | 'oauth_email_missing'
  | 'provider_not_configured'
  | 'provider_error'
  | 'provider_unavailable'
  | 'conflict'
  | 'link_requires_password'
  | 'passkey_invalid'
  | 'passkey_registration_invalid'
  | 'passkey_already_registered'
  | 'last_sign_in_method'
  | 'reauthentication_required'
  | 'rate_limited'
  | 'database_unavailable'
  | 'internal_error'

export interface FieldError {
  field: string
  message: string
}

/**
 * The one error type of the service: a failure the caller can act on, named by its code,
 * with no HTTP status (the HTTP layer maps the code). `detail` is safe to show to the
 * caller; `internal` goes to the log only and never onto the wire.
 */
export class AuthError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; retryAfterSeconds?: number; internal?: unknown } = {},
  ) {
    super(`${code}: ${detail}`)
    this.name = 'AuthError'
  }
}

/** A failed proof of who is calling: the token, the session, a password or code at sign-in. */
export const unauthenticated = (code: ErrorCode, detail: string) => new AuthError(code, detail)
export const validationFailed = (errors: FieldError[]) =>
  new AuthError('validation_failed', 'The request body did not pass validation.', { errors })
export const notFound = (what = 'Resource') => new AuthError('not_found', `${what} not found.`)
