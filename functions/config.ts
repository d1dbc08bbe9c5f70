import { DEFAULT_RATE_LIMITS, NIST_MAX_CONSECUTIVE_FAILURES } from './core/rate-limit'
import type { ClientAction, RateLimitConfig, WindowPolicy } from './core/rate-limit'
import { oauthConfig, onOff } from './core/oauth'
import type { OAuthConfig } from './core/oauth'
import type { DataKeys } from './core/encryption'
import { loadDataKeys } from './core/encryption'
import type { KeySet } from './core/tokens'
import type { PwnedPasswordsConfig } from './core/password-policy'
import { DEFAULT_RETENTION } from './core/retention'
import type { RetentionConfig } from './core/retention'
import { loadKeySet } from './core/tokens'
import { passkeyConfig } from './core/passkeys-config'
import type { PasskeyConfig } from './core/passkeys-config'

/** What the Worker receives from wrangler.toml [vars], secrets, and .dev.vars in development. */
export interface Bindings {
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

  // OAuth login (POST /api/v1/auth/oauth/callback). A provider is on when its client id and
  // secret are both set. Every endpoint defaults to the real provider's.
  /** The redirect URIs a client may name, compared exactly: a JSON array or a comma-separated list. */
  OAUTH_REDIRECT_URIS?: string
  /** `on`: a callback without a PKCE `code_verifier` is refused (default off; recommended). */
  OAUTH_REQUIRE_PKCE?: string
  /** How long one call to a provider may take, in milliseconds (default 10000). */
  OAUTH_TIMEOUT_MS?: string
  GOOGLE_CLIENT_ID?: string
  GOOGLE_CLIENT_SECRET?: string
  GOOGLE_TOKEN_URL?: string
  GOOGLE_JWKS_URL?: string
  GOOGLE_ISSUER?: string
  FACEBOOK_CLIENT_ID?: string
  FACEBOOK_CLIENT_SECRET?: string
  FACEBOOK_TOKEN_URL?: string
  /** The Graph API's `/me`. */
  FACEBOOK_USERINFO_URL?: string
  OUTLOOK_CLIENT_ID?: string
  OUTLOOK_CLIENT_SECRET?: string
  /** A tenant id, or `common` (default), `organizations` or `consumers`. */
  OUTLOOK_TENANT?: string
  OUTLOOK_TOKEN_URL?: string
  OUTLOOK_JWKS_URL?: string
  /** The issuer with `{tenantid}` where the token's tenant goes. */
  OUTLOOK_ISSUER?: string
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
  /**
   * Retention, in days, after a row stops being usable (core/retention.ts): audit events (90),
   * ended sessions (30), spent or expired tokens (1), ended invitations (30), the dev outbox (7),
   * rate-limit counters (1). And the purge's batch size (1000 rows) and batches per table per run (20).
   */
  RETENTION_AUDIT_EVENTS_DAYS?: string
  RETENTION_ENDED_SESSIONS_DAYS?: string
  RETENTION_SPENT_TOKENS_DAYS?: string
  RETENTION_INVITATIONS_DAYS?: string
  RETENTION_MAIL_OUTBOX_DAYS?: string
  RETENTION_RATE_LIMITS_DAYS?: string
  RETENTION_BATCH_SIZE?: string
  RETENTION_MAX_BATCHES?: string
  /** The issuer shown in authenticator apps (the otpauth:// URI); default "Gatehouse". */
  TOTP_ISSUER?: string
  /** Origins whose pages may call the API (`https://app.example.com`), exact: a JSON array or a comma-separated list. Default none. */
  CORS_ORIGINS?: string

  // Passkeys (WebAuthn).
  /** The relying party id: the site's domain, e.g. `example.com` (default APP_URL's host). */
  WEBAUTHN_RP_ID?: string
  /** The exact origins the browser may report (JSON array or comma-separated; default APP_URL's origin). */
  WEBAUTHN_ORIGINS?: string
  /** The name browsers show for the relying party (default "Gatehouse"). */
  WEBAUTHN_RP_NAME?: string
  /** `preferred` (default: a passkey without user verification is one factor) or `required`. */
  WEBAUTHN_USER_VERIFICATION?: string
  /** Seconds after a full sign-in during which a passkey may be added without the password (default 600; 0: no rule). */
  PASSKEY_REAUTH_SECONDS?: string
}

export interface MailConfig {
  transport: 'outbox' | 'http'
  apiUrl: string
  apiKey?: string
  from?: string
}

export interface Config {
  environment: 'development' | 'production' | 'preview' | 'test'
  issuer: string
  audience: string
  keys: KeySet
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
  sessionMaxAgeSeconds: number
  maxSessionsPerUser: number
  rateLimits: RateLimitConfig
  appUrl: string
  mail: MailConfig
  invitationTtlSeconds: number
  oauth: OAuthConfig
  /** Null when DATA_ENCRYPTION_KEYS is unset: everything but two-factor authentication works. */
  dataKeys: DataKeys | null
  totpIssuer: string
  /** 0: off. */
  twoFactorReauthSeconds: number
  /** GET /dev/mail is served (ENVIRONMENT development or preview, and DEV_MAIL=on). */
  devMail: boolean
  /** Exact origins allowed cross-origin access; empty: none. */
  corsOrigins: readonly string[]
  passkeys: PasskeyConfig
  /** Null (the default): no Have I Been Pwned check. */
  pwnedPasswords: PwnedPasswordsConfig | null
  retention: RetentionConfig
}

const DAY = 86_400

function seconds(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number of seconds`)
  return n
}

function count(value: string | undefined, fallback: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0 || n > max) throw new Error(`${name} must be a whole number from 1 to ${max}`)
  return n
}

function window(value: string | undefined, fallback: WindowPolicy, name: string): WindowPolicy {
  if (value === undefined || value === '') return fallback
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*s?\s*$/.exec(value)
  if (!match || Number(match[1]) <= 0 || Number(match[2]) <= 0)
    throw new Error(`${name} must be "<requests>/<seconds>", e.g. "20/60"`)
  return { limit: Number(match[1]), windowSeconds: Number(match[2]) }
}

const PER_IP_VARS: Record<ClientAction, keyof Bindings> = {
  login: 'RATE_LIMIT_LOGIN_PER_IP',
  register: 'RATE_LIMIT_REGISTER_PER_IP',
  oauth: 'RATE_LIMIT_OAUTH_PER_IP',
  refresh: 'RATE_LIMIT_REFRESH_PER_IP',
  two_factor: 'RATE_LIMIT_TWO_FACTOR_PER_IP',
  password_reset: 'RATE_LIMIT_PASSWORD_RESET_PER_IP',
}

function rateLimits(env: Bindings): RateLimitConfig {
  const d = DEFAULT_RATE_LIMITS
  const perIp = {} as RateLimitConfig['perIp']
  for (const [action, name] of Object.entries(PER_IP_VARS) as [ClientAction, keyof Bindings][])
    perIp[action] = window(env[name], d.perIp[action], name)
  const lockout = {
    lockAfterFailures: count(env.LOCKOUT_AFTER_FAILURES, d.lockout.lockAfterFailures, 'LOCKOUT_AFTER_FAILURES'),
    baseLockSeconds: count(env.LOCKOUT_BASE_SECONDS, d.lockout.baseLockSeconds, 'LOCKOUT_BASE_SECONDS'),
    maxLockSeconds: count(env.LOCKOUT_MAX_SECONDS, d.lockout.maxLockSeconds, 'LOCKOUT_MAX_SECONDS'),
    // NIST 800-63B §5.2.2: no more than 100 consecutive failed attempts on one account.
    hardLimit: count(env.LOCKOUT_HARD_LIMIT, d.lockout.hardLimit, 'LOCKOUT_HARD_LIMIT', NIST_MAX_CONSECUTIVE_FAILURES),
  }
  const twoFactorLockout = {
    ...lockout,
    lockAfterFailures: count(
      env.LOCKOUT_TWO_FACTOR_AFTER_FAILURES,
      // A lowered hard limit lowers the default with it; only an explicit value can conflict.
      Math.min(d.twoFactorLockout.lockAfterFailures, lockout.hardLimit),
      'LOCKOUT_TWO_FACTOR_AFTER_FAILURES',
    ),
  }
  if (lockout.lockAfterFailures > lockout.hardLimit) throw new Error('LOCKOUT_AFTER_FAILURES must not exceed LOCKOUT_HARD_LIMIT')
  if (twoFactorLockout.lockAfterFailures > lockout.hardLimit)
    throw new Error('LOCKOUT_TWO_FACTOR_AFTER_FAILURES must not exceed LOCKOUT_HARD_LIMIT')
  if (lockout.baseLockSeconds > lockout.maxLockSeconds) throw new Error('LOCKOUT_BASE_SECONDS must not exceed LOCKOUT_MAX_SECONDS')
  return {
    perIp,
    passwordForgotPerEmail: window(
      env.RATE_LIMIT_PASSWORD_FORGOT_PER_EMAIL,
      d.passwordForgotPerEmail,
      'RATE_LIMIT_PASSWORD_FORGOT_PER_EMAIL',
    ),
    invitationsPerUser: window(env.RATE_LIMIT_INVITATIONS_PER_USER, d.invitationsPerUser, 'RATE_LIMIT_INVITATIONS_PER_USER'),
    invitationsPerOrg: window(env.RATE_LIMIT_INVITATIONS_PER_ORG, d.invitationsPerOrg, 'RATE_LIMIT_INVITATIONS_PER_ORG'),
    verifyEmailResendPerUser: window(
      env.RATE_LIMIT_VERIFY_EMAIL_RESEND_PER_USER,
      d.verifyEmailResendPerUser,
      'RATE_LIMIT_VERIFY_EMAIL_RESEND_PER_USER',
    ),
    lockout,
    twoFactorLockout,
  }
}

function environment(value: string | undefined): Config['environment'] {
  if (value === 'development' || value === 'test' || value === 'preview') return value
  // Anything unknown is treated as production: the safe side for /dev routes.
  return 'production'
}

/**
 * Production and previews face the internet with real clients: every guard that holds in
 * production holds in a preview too (a preview differs only in where its mail goes).
 */
export const isDeployed = (environment: Config['environment']) => environment === 'production' || environment === 'preview'

/** Where the outbox may be read (GET /dev/mail): reviewers of a preview need its mails. */
export const isOutboxReadable = (environment: Config['environment']) => environment === 'development' || environment === 'preview'

function appUrl(value: string | undefined, where: Config['environment']): string {
  const url = (value || 'http://localhost:8001').replace(/\/+$/, '')
  // Mail links carry reset and invitation tokens: never over plain http to real users.
  if (isDeployed(where) && !/^https:\/\/[^/]/.test(url)) throw new Error(`APP_URL must be an https URL when ENVIRONMENT is ${where}`)
  return url
}

function issuer(value: string | undefined, where: Config['environment']): string {
  // The default names no deployment: a placeholder would be signed into real tokens and pinned
  // by every downstream verifier, and a preview's tokens must never pass for production's.
  if (isDeployed(where) && !value)
    throw new Error(`JWT_ISSUER must be set when ENVIRONMENT is ${where}: the public URL of this Worker, the iss of every token`)
  return value || 'gatehouse'
}

function totpIssuer(value: string | undefined): string {
  if (value === undefined || value === '') return 'Gatehouse'
  // Key URI format: the issuer is the label's prefix, split from the account at ':'.
  if (value.includes(':')) throw new Error('TOTP_ISSUER must not contain ":"')
  return value
}

/** Parses and checks the configuration; throws (the Worker refuses to serve) when it is unusable. */
export async function parseConfig(env: Bindings): Promise<Config> {
  if (!env.DATABASE_URL) throw new Error('DATABASE_URL is not set')
  const where = environment(env.ENVIRONMENT)
  const iss = issuer(env.JWT_ISSUER, where)
  return {
    environment: where,
    issuer: iss,
    audience: env.JWT_AUDIENCE || iss,
    keys: await loadKeySet(env.JWT_KEYS, env.JWT_ALG || 'RS256', env.JWT_SIGNING_KID),
    accessTokenTtlSeconds: seconds(env.ACCESS_TOKEN_TTL, DAY, 'ACCESS_TOKEN_TTL'),
    refreshTokenTtlSeconds: seconds(env.REFRESH_TOKEN_TTL, 30 * DAY, 'REFRESH_TOKEN_TTL'),
    sessionMaxAgeSeconds: seconds(env.SESSION_MAX_AGE, 90 * DAY, 'SESSION_MAX_AGE'),
    maxSessionsPerUser: count(env.SESSIONS_PER_USER_MAX, 100, 'SESSIONS_PER_USER_MAX'),
    rateLimits: rateLimits(env),
    appUrl: appUrl(env.APP_URL, where),
    mail: mailConfig(env, where),
    invitationTtlSeconds: seconds(env.INVITATION_TTL, 7 * DAY, 'INVITATION_TTL'),
    oauth: oauthConfig(env),
    dataKeys: env.DATA_ENCRYPTION_KEYS ? await loadDataKeys(env.DATA_ENCRYPTION_KEYS) : null,
    totpIssuer: totpIssuer(env.TOTP_ISSUER),
    twoFactorReauthSeconds: wholeSeconds(env.TWO_FACTOR_REAUTH_SECONDS, 'TWO_FACTOR_REAUTH_SECONDS'),
    devMail: isOutboxReadable(where) && onOff(env.DEV_MAIL, 'DEV_MAIL'),
    corsOrigins: corsOrigins(env.CORS_ORIGINS),
    passkeys: await passkeyConfig(env),
    pwnedPasswords: pwnedPasswords(env),
    retention: retention(env),
  }
}

function retention(env: Bindings): RetentionConfig {
  const d = DEFAULT_RETENTION
  const days = (value: string | undefined, fallback: number, name: string) => count(value, fallback / DAY, name, 36_500) * DAY
  return {
    auditEventsSeconds: days(env.RETENTION_AUDIT_EVENTS_DAYS, d.auditEventsSeconds, 'RETENTION_AUDIT_EVENTS_DAYS'),
    endedSessionsSeconds: days(env.RETENTION_ENDED_SESSIONS_DAYS, d.endedSessionsSeconds, 'RETENTION_ENDED_SESSIONS_DAYS'),
    spentTokensSeconds: days(env.RETENTION_SPENT_TOKENS_DAYS, d.spentTokensSeconds, 'RETENTION_SPENT_TOKENS_DAYS'),
    invitationsSeconds: days(env.RETENTION_INVITATIONS_DAYS, d.invitationsSeconds, 'RETENTION_INVITATIONS_DAYS'),
    mailOutboxSeconds: days(env.RETENTION_MAIL_OUTBOX_DAYS, d.mailOutboxSeconds, 'RETENTION_MAIL_OUTBOX_DAYS'),
    rateLimitsSeconds: days(env.RETENTION_RATE_LIMITS_DAYS, d.rateLimitsSeconds, 'RETENTION_RATE_LIMITS_DAYS'),
    batchSize: count(env.RETENTION_BATCH_SIZE, d.batchSize, 'RETENTION_BATCH_SIZE', 10_000),
    maxBatchesPerTable: count(env.RETENTION_MAX_BATCHES, d.maxBatchesPerTable, 'RETENTION_MAX_BATCHES', 1000),
  }
}

function pwnedPasswords(env: Bindings): PwnedPasswordsConfig | null {
  const check = env.PWNED_PASSWORDS_CHECK || 'off'
  if (check !== 'on' && check !== 'off') throw new Error('PWNED_PASSWORDS_CHECK must be "on" or "off"')
  if (check === 'off') return null
  return {
    url: env.PWNED_PASSWORDS_URL || 'https://api.pwnedpasswords.com/range/',
    timeoutMs: count(env.PWNED_PASSWORDS_TIMEOUT_MS, 1000, 'PWNED_PASSWORDS_TIMEOUT_MS', 10_000),
  }
}

/**
 * Exact origins only: a wildcard (`*`, `https://*.example.com`) or a URL with a path would
 * let pages nobody listed read the API's answers; `null` is what sandboxed and file:// pages send.
 */
function corsOrigins(value: string | undefined): string[] {
  const text = value?.trim() ?? ''
  if (!text) return []
  let list: unknown
  try {
    list = text.startsWith('[') ? JSON.parse(text) : text.split(',').map((origin) => origin.trim())
  } catch {
    throw new Error('CORS_ORIGINS is not valid JSON')
  }
  if (!Array.isArray(list) || !list.every(isOrigin))
    throw new Error('CORS_ORIGINS must list exact origins such as https://app.example.com (no wildcard, path or trailing slash)')
  return list
}

function isOrigin(value: unknown): value is string {
  if (typeof value !== 'string' || value.includes('*')) return false
  try {
    const url = new URL(value)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value
  } catch {
    return false
  }
}

function wholeSeconds(value: string | undefined, name: string): number {
  if (value === undefined || value === '') return 0
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number of seconds (0: off)`)
  return n
}

function mailConfig(env: Bindings, where: Config['environment']): MailConfig {
  const transport = env.MAIL_TRANSPORT || (where === 'production' ? 'http' : 'outbox')
  if (transport !== 'outbox' && transport !== 'http') throw new Error('MAIL_TRANSPORT must be "outbox" or "http"')
  // A preview registers throwaway accounts with whatever address a reviewer types: real mail
  // from it would reach strangers, and its links point at a URL that dies with the branch.
  if (where === 'preview' && transport !== 'outbox') throw new Error('MAIL_TRANSPORT must be "outbox" when ENVIRONMENT is preview')
  // Missing credentials are not refused here: the Worker still serves everything else, and
  // the first mail sent fails loudly (502, logged) instead of vanishing into an outbox.
  return { transport, apiUrl: env.MAIL_API_URL || 'https://api.resend.com/emails', apiKey: env.MAIL_API_KEY, from: env.MAIL_FROM }
}

const cache = new Map<string, Promise<Config>>()

/** Importing keys costs a few ms; do it once per isolate for a given configuration. */
export function getConfig(env: Bindings): Promise<Config> {
  const id = JSON.stringify(env)
  let config = cache.get(id)
  if (!config) {
    config = parseConfig(env)
    config.catch(() => cache.delete(id))
    cache.set(id, config)
  }
  return config
}
