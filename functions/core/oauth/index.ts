import type { Bindings } from '../../config'
import { facebook } from './facebook'
import { google } from './google'
import { outlook } from './outlook'

export const PROVIDER_NAMES = ['google', 'facebook', 'outlook'] as const
export type ProviderName = (typeof PROVIDER_NAMES)[number]

/** Who the provider says signed in. */
export interface ProviderIdentity {
  /** Stable and unique within the provider; never an email, which users can change. */
  subject: string
  email: string | null
  /** True only when the provider vouches that the user controls `email`. */
  emailVerified: boolean
  name: string | null
}

/** What the client brings back from the provider's authorization redirect. */
export interface AuthorizationGrant {
  code: string
  redirectUri: string
  /** RFC 7636 (PKCE), when the client sent a code_challenge. */
  codeVerifier?: string
  /** OIDC Core §3.1.2.1, when the client sent one: the ID token must carry the same. */
  nonce?: string
}

export interface ProviderCall {
  fetch: typeof fetch
  now: Date
  timeoutMs: number
}

/**
 * One provider, configured: every module in this folder exports a factory
 * `(env) => OAuthProvider | undefined` (undefined: not configured on this deployment).
 */
export interface OAuthProvider {
  name: ProviderName
  /** Redeems the code and returns the identity it proves; throws AuthError on any failure. */
  identify(call: ProviderCall, grant: AuthorizationGrant): Promise<ProviderIdentity>
}

export interface OAuthConfig {
  /** Exact strings: no normalization, so no prefix, case or trailing-slash tricks get through. */
  redirectUris: readonly string[]
  timeoutMs: number
  /** OAUTH_REQUIRE_PKCE: a callback without `code_verifier` is refused. */
  requirePkce: boolean
  providers: Partial<Record<ProviderName, OAuthProvider>>
}

const factories: Record<ProviderName, (env: Bindings) => OAuthProvider | undefined> = { google, facebook, outlook }

/** Reads the OAuth part of the configuration; throws on a value that cannot be meant. */
export function oauthConfig(env: Bindings): OAuthConfig {
  const providers: OAuthConfig['providers'] = {}
  for (const name of PROVIDER_NAMES) {
    const provider = factories[name](env)
    if (provider) providers[name] = provider
  }
  return {
    redirectUris: redirectUris(env.OAUTH_REDIRECT_URIS),
    timeoutMs: timeoutMs(env.OAUTH_TIMEOUT_MS),
    requirePkce: onOff(env.OAUTH_REQUIRE_PKCE, 'OAUTH_REQUIRE_PKCE'),
    providers,
  }
}

function redirectUris(value: string | undefined): string[] {
  const text = value?.trim() ?? ''
  if (!text) return []
  let list: unknown
  if (text.startsWith('[')) {
    try {
      list = JSON.parse(text)
    } catch {
      throw new Error('OAUTH_REDIRECT_URIS is not valid JSON')
    }
  } else {
    list = text.split(',').map((uri) => uri.trim())
  }
  if (!Array.isArray(list) || !list.every((uri) => typeof uri === 'string' && isAbsoluteUrl(uri)))
    throw new Error('OAUTH_REDIRECT_URIS must list absolute URLs')
  return list
}

function isAbsoluteUrl(text: string): boolean {
  try {
    new URL(text)
    return true
  } catch {
    return false
  }
}

function timeoutMs(value: string | undefined): number {
  if (value === undefined || value === '') return 10_000
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new Error('OAUTH_TIMEOUT_MS must be a positive whole number of milliseconds')
  return n
}

/** An opt-in switch: unset, `off` or `false` is off; `on` or `true` is on; anything else is a mistake. */
export function onOff(value: string | undefined, name: string): boolean {
  const text = value?.trim().toLowerCase() ?? ''
  if (text === '' || text === 'off' || text === 'false') return false
  if (text === 'on' || text === 'true') return true
  throw new Error(`${name} must be "on" or "off"`)
}
