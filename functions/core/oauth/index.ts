export const PROVIDER_NAMES = ['google', 'facebook', 'outlook'] as const
export type ProviderName = (typeof PROVIDER_NAMES)[number]

/**
 * The OAuth settings (POST /api/v1/auth/oauth/callback), part of the Worker's `Bindings`. A
 * provider is on when its client id and secret are both set. Every endpoint defaults to the
 * real provider's.
 */
export interface OAuthBindings {
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
}

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
 * `(env) => OAuthProvider | undefined` (undefined: not configured on this deployment);
 * config/oauth.ts calls them.
 */
export interface OAuthProvider {
  name: ProviderName
  /** Redeems the code and returns the identity it proves; throws AuthError on any failure. */
  identify(call: ProviderCall, grant: AuthorizationGrant): Promise<ProviderIdentity>
}
