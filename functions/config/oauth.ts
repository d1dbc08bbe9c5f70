import { facebook } from '../core/oauth/facebook'
import { google } from '../core/oauth/google'
import type { OAuthBindings, OAuthProvider, ProviderName } from '../core/oauth/index'
import { PROVIDER_NAMES } from '../core/oauth/index'
import { outlook } from '../core/oauth/outlook'
import { onOff } from './values'

export interface OAuthConfig {
  /** Exact strings: no normalization, so no prefix, case or trailing-slash tricks get through. */
  redirectUris: readonly string[]
  timeoutMs: number
  /** OAUTH_REQUIRE_PKCE: a callback without `code_verifier` is refused. */
  requirePkce: boolean
  providers: Partial<Record<ProviderName, OAuthProvider>>
}

const factories: Record<ProviderName, (env: OAuthBindings) => OAuthProvider | undefined> = { google, facebook, outlook }

/** Reads the OAuth part of the configuration; throws on a value that cannot be meant. */
export function oauthConfig(env: OAuthBindings): OAuthConfig {
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
