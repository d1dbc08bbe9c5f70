import { loadDataKeys } from '../core/encryption'
import type { DataKeys } from '../core/encryption'
import { loadKeySet } from '../core/tokens'
import type { KeySet } from '../core/tokens'
import type { Bindings } from './bindings'
import { corsOrigins } from './cors'
import { appUrl, environment, isOutboxReadable, issuer } from './environment'
import type { Environment } from './environment'
import { mailConfig } from './mail'
import type { MailConfig } from './mail'
import { oauthConfig } from './oauth'
import type { OAuthConfig } from './oauth'
import { passkeyConfig } from './passkeys'
import type { PasskeyConfig } from './passkeys'
import { pwnedPasswords } from './passwords'
import type { PwnedPasswordsConfig } from './passwords'
import { rateLimits } from './rate-limits'
import type { RateLimitConfig } from './rate-limits'
import { retention } from './retention'
import type { RetentionConfig } from './retention'
import { DAY, count, onOff, seconds, wholeSeconds } from './values'

export type { Bindings } from './bindings'
export type { MailConfig } from './mail'
export { isDeployed, isOutboxReadable } from './environment'

/** Every setting, parsed and checked: one file a concern beside this one, `Bindings` the raw input. */
export interface Config {
  environment: Environment
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
