import type { ErrorCode } from '../core/errors'

/**
 * The status of every failure the core names, as the contract fixes them (spec/API.md). An
 * endpoint where a code means something else declares it in its spec (`statuses`): a wrong
 * code or password in the body of a settings change is a field to correct (422), where at
 * sign-in it is a failed proof of identity (401).
 */
export const STATUSES: Record<ErrorCode, number> = {
  malformed_json: 400,
  unsupported_media_type: 400,
  invitation_invalid: 400,
  email_token_invalid: 400,
  token_missing: 401,
  token_invalid: 401,
  token_expired: 401,
  session_revoked: 401,
  invalid_credentials: 401,
  invalid_code: 401,
  refresh_token_invalid: 401,
  refresh_token_reused: 401,
  challenge_invalid: 401,
  oauth_failed: 401,
  passkey_invalid: 401,
  account_inactive: 403,
  insufficient_scope: 403,
  forbidden: 403,
  reauthentication_required: 403,
  not_found: 404,
  email_taken: 409,
  conflict: 409,
  last_owner: 409,
  two_factor_already_enabled: 409,
  two_factor_not_enabled: 409,
  link_requires_password: 409,
  passkey_already_registered: 409,
  last_sign_in_method: 409,
  payload_too_large: 413,
  validation_failed: 422,
  oauth_email_missing: 422,
  provider_not_configured: 422,
  passkey_registration_invalid: 422,
  rate_limited: 429,
  internal_error: 500,
  mail_unavailable: 502,
  provider_error: 502,
  database_unavailable: 503,
  provider_unavailable: 503,
}

/** Where a settings change takes a password or a code to prove the caller: a wrong one is a field to fix. */
export const WRONG_PROOF_IS_A_FIELD = { invalid_credentials: 422, invalid_code: 422 } as const
