import { createRemoteJWKSet, customFetch, decodeJwt, errors, jwtVerify } from 'jose'
import type { JWTPayload } from 'jose'
import { AuthError } from '../errors'
import type { AuthorizationGrant, ProviderCall, ProviderName } from '.'

// What every provider module shares: calling the provider, redeeming a code, and checking
// an OpenID Connect ID token. Nothing here puts a secret, a code or a token into an error:
// `internal` carries only statuses and the provider's error code.

const unavailable = (provider: ProviderName, internal: unknown) =>
  new AuthError('provider_unavailable', `The ${provider} sign-in service could not be reached; try again.`, { internal })
export const badGateway = (provider: ProviderName, internal: unknown) =>
  new AuthError('provider_error', `The ${provider} sign-in service answered with an error; try again.`, { internal })
const refused = (provider: ProviderName, internal: unknown) =>
  new AuthError('oauth_failed', `${provider} refused the authorization code: it is invalid, expired or already used.`, { internal })
export const invalidIdToken = (provider: ProviderName, reason: string) =>
  new AuthError('oauth_failed', `The ID token from ${provider} is not valid.`, { internal: { provider, reason } })

/**
 * One call to a provider, bounded in time. A timeout or a refused connection is 503, a
 * 5xx or an answer that is not JSON is 502; the caller decides what a 4xx means.
 */
export async function callProvider(
  provider: ProviderName,
  call: ProviderCall,
  url: string,
  init: RequestInit,
): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  let response: Response
  try {
    response = await call.fetch(url, {
      ...init,
      // A provider never needs to redirect these calls; following one could leak the secret.
      redirect: 'manual',
      signal: AbortSignal.timeout(call.timeoutMs),
      headers: { Accept: 'application/json', ...init.headers },
    })
  } catch (error) {
    const reason = (error as Error)?.name === 'TimeoutError' ? 'timeout' : 'network'
    throw unavailable(provider, { provider, url: new URL(url).origin, reason })
  }
  if (response.status >= 500) throw badGateway(provider, { provider, status: response.status })
  let body: unknown
  try {
    body = await response.json()
  } catch {
    body = undefined
  }
  if (response.ok && (typeof body !== 'object' || body === null)) throw badGateway(provider, { provider, status: response.status, reason: 'not json' })
  return { status: response.status, body: typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined }
}

/**
 * RFC 6749 §4.1.3: redeem the code, authenticating with the client secret in the body
 * (client_secret_post), with the PKCE verifier when the client used one (RFC 7636 §4.5).
 */
export async function exchangeCode(
  provider: ProviderName,
  call: ProviderCall,
  tokenUrl: string,
  client: ClientCredentials,
  grant: AuthorizationGrant,
  extra: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code: grant.code,
    redirect_uri: grant.redirectUri,
    client_id: client.clientId,
    client_secret: client.clientSecret,
    ...extra,
  })
  if (grant.codeVerifier) form.set('code_verifier', grant.codeVerifier)
  const { status, body } = await callProvider(provider, call, tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form,
  })
  // RFC 6749 §5.2: invalid_grant and friends; only the error code is safe to log.
  // Facebook nests it: {error: {type, code}}.
  const error = body?.error as unknown
  const errorCode =
    typeof error === 'string' ? error.slice(0, 64) : typeof error === 'object' && error ? String((error as { type?: unknown }).type).slice(0, 64) : undefined
  if (status >= 400) throw refused(provider, { provider, status, error: errorCode })
  if (status !== 200 || !body) throw badGateway(provider, { provider, status })
  return body
}

/** Remote key sets, per fetch function (one per app) and URL, so keys are fetched once per isolate, not per login. */
const keySets = new WeakMap<typeof fetch, Map<string, ReturnType<typeof createRemoteJWKSet>>>()

function keySet(call: ProviderCall, url: string) {
  let byUrl = keySets.get(call.fetch)
  if (!byUrl) keySets.set(call.fetch, (byUrl = new Map()))
  let set = byUrl.get(url)
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: call.timeoutMs, [customFetch]: call.fetch })
    byUrl.set(url, set)
  }
  return set
}

export interface IdTokenCheck {
  jwksUrl: string
  /** The exact `iss` expected; a function when it depends on the token (Microsoft's tenant). */
  issuer: string | readonly string[] | ((claims: JWTPayload) => string | undefined)
  audience: string
  nonce?: string
}

// Providers' clocks and ours drift; OIDC leaves the allowance to us.
const CLOCK_TOLERANCE_SECONDS = 60

/**
 * OIDC Core §3.1.3.7: signature by one of the provider's published keys, `iss`, `aud`
 * (our client id), `exp`, and the nonce when the client used one.
 */
export async function verifyIdToken(provider: ProviderName, call: ProviderCall, idToken: unknown, check: IdTokenCheck): Promise<JWTPayload> {
  if (typeof idToken !== 'string' || !idToken) throw badGateway(provider, { provider, reason: 'no id_token in the token response' })
  let issuer: string | string[] | undefined
  if (typeof check.issuer === 'function') {
    let unverified: JWTPayload
    try {
      unverified = decodeJwt(idToken)
    } catch {
      throw invalidIdToken(provider, 'malformed')
    }
    // Only picks which issuer to demand; jwtVerify below still checks the signature and iss.
    issuer = check.issuer(unverified)
    if (!issuer) throw invalidIdToken(provider, 'no tenant')
  } else {
    issuer = typeof check.issuer === 'string' ? check.issuer : [...check.issuer]
  }
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(idToken, keySet(call, check.jwksUrl), {
      algorithms: ['RS256'],
      issuer,
      audience: check.audience,
      currentDate: call.now,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['sub', 'exp', 'iat'],
    }))
  } catch (error) {
    if (error instanceof errors.JWKSTimeout) throw unavailable(provider, { provider, reason: 'jwks timeout' })
    if (!(error instanceof errors.JOSEError)) throw unavailable(provider, { provider, reason: 'jwks unreachable' })
    if (error.code === 'ERR_JOSE_GENERIC') throw badGateway(provider, { provider, reason: 'jwks fetch failed' })
    throw invalidIdToken(provider, error.code)
  }
  if (check.nonce !== undefined && payload.nonce !== check.nonce) throw invalidIdToken(provider, 'nonce mismatch')
  return payload
}

export const stringClaim = (value: unknown): string | null => (typeof value === 'string' && value.trim() ? value.trim() : null)

export interface ClientCredentials {
  clientId: string
  clientSecret: string
}

/** Client credentials of a provider: both or neither. */
export function clientCredentials(name: string, id: string | undefined, secret: string | undefined): ClientCredentials | undefined {
  if (!id && !secret) return undefined
  if (!id || !secret) throw new Error(`${name}_CLIENT_ID and ${name}_CLIENT_SECRET must be set together`)
  return { clientId: id, clientSecret: secret }
}
