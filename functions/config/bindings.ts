import type { OAuthBindings } from '../core/oauth'
import type { PasskeyBindings } from './passkeys'
import type { RetentionBindings } from './retention'

/** What the Worker receives from wrangler.toml [vars], secrets, and .dev.vars in development. */
export interface Bindings extends OAuthBindings, RetentionBindings, PasskeyBindings {
  /**
   * `production` (and anything unknown), `preview` (a Worker Preview of a pull request: the
   * production guards and limits, mail kept in the outbox and readable at /dev/mail),
   * `development` or `test`.
   */
  ENVIRONMENT?: string
  DATABASE_URL: string
  /** Development only: `host:port` of the local relay (scripts/relay.mjs): WebSocket→Postgres and Neon's SQL-over-HTTP endpoint. */
  DB_WS_PROXY?: string
  JWT_ALG?: string
  /** JSON array of JWKs, each with a `kid`: RSA private keys (sign) or public keys (verify only), or `oct` secrets for HS256. */
  JWT_KEYS: string
  /** The kid that signs new tokens; default the first private key in JWT_KEYS. */
  JWT_SIGNING_KID?: string
  JWT_ISSUER?: string
  /** The `aud` of access tokens, which downstream verifiers check; default JWT_ISSUER. */
  JWT_AUDIENCE?: string
  ACCESS_TOKEN_TTL?: string
  REFRESH_TOKEN_TTL?: string
  SESSION_MAX_AGE?: string
  /** Live sessions one user may hold (default 100); a new one beyond it revokes the least recently used. */
  SESSIONS_PER_USER_MAX?: string
  /** JSON array of `{kid, key}` (32 bytes, base64url) for data encrypted at rest; the first encrypts. */
  DATA_ENCRYPTION_KEYS?: string
  /** Per client IP, each `"<requests>/<seconds>"`. */
  RATE_LIMIT_LOGIN_PER_IP?: string
  RATE_LIMIT_REGISTER_PER_IP?: string
  RATE_LIMIT_OAUTH_PER_IP?: string
  RATE_LIMIT_REFRESH_PER_IP?: string
  RATE_LIMIT_TWO_FACTOR_PER_IP?: string
  RATE_LIMIT_PASSWORD_RESET_PER_IP?: string
  RATE_LIMIT_PASSWORD_FORGOT_PER_EMAIL?: string
  /** Invitations per inviting user, and per organization; verification mails per user. */
  RATE_LIMIT_INVITATIONS_PER_USER?: string
  RATE_LIMIT_INVITATIONS_PER_ORG?: string
  RATE_LIMIT_VERIFY_EMAIL_RESEND_PER_USER?: string
  /** Per account: failures before the first lock, its length, the longest lock, and the hard limit (≤ 100). */
  LOCKOUT_AFTER_FAILURES?: string
  LOCKOUT_BASE_SECONDS?: string
  LOCKOUT_MAX_SECONDS?: string
  LOCKOUT_HARD_LIMIT?: string
  /** Wrong 2FA codes before the first lock of the account's 2FA (its own counter). */
  LOCKOUT_TWO_FACTOR_AFTER_FAILURES?: string
  /** Base URL of the web app that mail links point to (default http://localhost:8001; required, https, in production). */
  APP_URL?: string
  /** `outbox` (mail lands in the database, readable at GET /dev/mail in development and previews) or `http`. */
  MAIL_TRANSPORT?: string
  /** The email API endpoint (Resend's JSON shape); default https://api.resend.com/emails. */
  MAIL_API_URL?: string
  MAIL_API_KEY?: string
  /** The sender, e.g. `Gatehouse <no-reply@example.com>`. */
  MAIL_FROM?: string
  /** Lifetime of an invitation link, in seconds (default 7 days). */
  INVITATION_TTL?: string

  /** Seconds since the session's sign-in after which 2FA setup/enable and unlinking need the password (default 0: off; 600 recommended). */
  TWO_FACTOR_REAUTH_SECONDS?: string
  /** `on`: GET /dev/mail serves the outbox; only with ENVIRONMENT=development or preview too (set by `npm run dev` and the previews' vars). */
  DEV_MAIL?: string
  /** `on`: new passwords are also checked against Have I Been Pwned's range API (k-anonymity, fail-open). Default off. */
  PWNED_PASSWORDS_CHECK?: string
  /** The range endpoint, up to the hash prefix; default https://api.pwnedpasswords.com/range/. */
  PWNED_PASSWORDS_URL?: string
  /** How long the check may take before it is skipped, in milliseconds (default 1000). */
  PWNED_PASSWORDS_TIMEOUT_MS?: string
  /** The issuer shown in authenticator apps (the otpauth:// URI); default "Gatehouse". */
  TOTP_ISSUER?: string
  /** Origins whose pages may call the API (`https://app.example.com`), exact: a JSON array or a comma-separated list. Default none. */
  CORS_ORIGINS?: string
}
