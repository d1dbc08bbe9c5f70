import { decodeProtectedHeader, errors, importJWK, jwtVerify } from 'jose'
import type { JWK } from 'jose'

/** The claims of a Gatehouse access token, checked. */
export interface GatehouseClaims {
  /** The user id. */
  sub: string
  /** The session id: the RPC mode checks it live. */
  sid: string
  /** The organization id. */
  org: string
  /** The same as `org`, under the name the /v1 dialect's clients know. */
  business_id: string
  /** The scopes the user's role granted when the token was issued. */
  scopes: string[]
  /** When the user last proved who they are (seconds since the epoch), when the token says. */
  auth_time?: number
  iss: string
  /** Absent on tokens issued before Gatehouse set it. */
  aud?: string | string[]
  iat: number
  exp: number
  jti: string
}

/**
 * Why a token was refused. Local verification answers `expired`, `invalid` or
 * `insufficient_scope`; the RPC mode can also answer `revoked` and `inactive`.
 */
export type VerifyError = 'expired' | 'invalid' | 'insufficient_scope' | 'revoked' | 'inactive'

export interface VerifyFailure {
  ok: false
  error: VerifyError
  /** Gatehouse's stable error code (`token_expired`, `token_invalid`, `insufficient_scope`, ...). */
  code: string
  /** The HTTP status Gatehouse answers for it. */
  status: 401 | 403
  /** A sentence safe to show to the caller. */
  detail: string
}

export type VerifyResult = { ok: true; claims: GatehouseClaims } | VerifyFailure

/** A service binding (Cloudflare's `Fetcher`), or anything else with a `fetch` method. */
export interface Fetcher {
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>
}

export interface VerifierOptions {
  /** Gatehouse's `JWT_ISSUER`, compared exactly with the token's `iss`. */
  issuer: string
  /** The JWKS URL (`https://<gatehouse>/.well-known/jwks.json`), or a service binding to Gatehouse. */
  jwks: URL | string | Fetcher
  /** Gatehouse's `JWT_AUDIENCE`: a token that carries `aud` must name it. */
  audience?: string
  /** Leeway for `exp` and `nbf`, in seconds (default 0). */
  clockToleranceSeconds?: number
  /** The shortest time between two JWKS fetches caused by unknown `kid`s, in seconds (default 30). */
  refetchIntervalSeconds?: number
  /** The clock, in milliseconds since the epoch; for tests. */
  now?: () => number
}

export interface Verifier {
  /** Never throws for a bad token: the failure is a value. */
  verify(token: string, options?: { scope?: string }): Promise<VerifyResult>
}

// RFC 9068: Gatehouse types its access tokens, so an ID token or any other JWT signed by
// the same key cannot pass as one.
const ACCESS_TOKEN_TYPE = 'at+jwt'
// As the server: a token issued further in the future than this is not valid yet.
const ISSUED_AT_SKEW_SECONDS = 30
const DEFAULT_MAX_AGE_SECONDS = 300
// A JWKS that says `no-store` is still kept this long: the alternative is a fetch per token.
const MIN_MAX_AGE_SECONDS = 30
const MAX_MAX_AGE_SECONDS = 86_400
// Asymmetric algorithms only: an `oct` key in a JWKS would be a published secret.
const ALGORITHMS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'])
const REQUIRED_CLAIMS = ['sub', 'iat', 'exp', 'jti', 'sid', 'org', 'scopes']
// Where a service binding is asked for the JWKS; the host is not used by a service binding.
const BINDING_JWKS_URL = 'https://gatehouse.internal/.well-known/jwks.json'

interface KeyEntry {
  alg: string
  key: CryptoKey
}

interface KeyCache {
  keys: Map<string, KeyEntry>
  /** Until when (ms) the keys are fresh, as the JWKS response's Cache-Control said. */
  freshUntil: number
  /** When (ms) the JWKS was last asked of Gatehouse: unknown kids refetch at most once per interval. */
  fetchedAt: number
  pending?: Promise<void>
}

// Per isolate, shared by every verifier of the same JWKS: a Worker may create its verifier
// per request and still pay no fetch.
const caches = new Map<string, KeyCache>()

/** For tests: forget every JWKS this isolate holds. */
export function clearJwksCache(): void {
  caches.clear()
}

const failure = (error: VerifyError, code: string, status: 401 | 403, detail: string): VerifyFailure => ({
  ok: false,
  error,
  code,
  status,
  detail,
})
const invalid = (detail: string) => failure('invalid', 'token_invalid', 401, detail)

const isFetcher = (jwks: VerifierOptions['jwks']): jwks is Fetcher => typeof jwks !== 'string' && !(jwks instanceof URL)

/**
 * A verifier of Gatehouse access tokens for downstream services: RS256 signatures checked
 * against the JWKS (cached in the isolate and the Cache API), then `typ`, `iss`, `aud`,
 * `exp` and the claims. Web Crypto only: Workers, Node, Deno and Bun.
 *
 * @example
 * const verifier = createVerifier({ issuer: 'https://auth.example.com', jwks: new URL('https://auth.example.com/.well-known/jwks.json') })
 * const result = await verifier.verify(token, { scope: 'members:read' })
 * if (!result.ok) return new Response(result.detail, { status: result.status })
 * result.claims.sub
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const { issuer, audience } = options
  const now = options.now ?? Date.now
  const tolerance = options.clockToleranceSeconds ?? 0
  const intervalMs = (options.refetchIntervalSeconds ?? 30) * 1000
  const fetcher = isFetcher(options.jwks) ? options.jwks : undefined
  const url = fetcher ? BINDING_JWKS_URL : String(options.jwks)
  // The Cache API needs an http(s) URL: a binding's JWKS is filed under its issuer.
  const cacheKey = fetcher ? `${BINDING_JWKS_URL}?iss=${encodeURIComponent(issuer)}` : url

  const state = (): KeyCache => {
    let cache = caches.get(cacheKey)
    if (!cache) caches.set(cacheKey, (cache = { keys: new Map(), freshUntil: 0, fetchedAt: Number.NEGATIVE_INFINITY }))
    return cache
  }

  async function load(cache: KeyCache, fromColo: boolean) {
    const colo = colocache()
    if (fromColo && colo) {
      const hit = await colo.match(cacheKey).catch(() => undefined)
      const freshUntil = Number(hit?.headers.get('x-gatehouse-fresh-until'))
      if (hit && freshUntil > now()) {
        const keys = await importKeySet(await hit.json().catch(() => null))
        if (keys) return void Object.assign(cache, { keys, freshUntil })
      }
    }
    cache.fetchedAt = now()
    const response = await (fetcher ? fetcher.fetch(url) : fetch(url)).catch(() => null)
    if (!response?.ok) {
      await response?.body?.cancel()
      return // keep what we had: a Gatehouse outage must not fail tokens signed by known keys
    }
    const text = await response.text()
    const keys = await importKeySet(safeParse(text))
    if (!keys) return
    const maxAge = maxAgeSeconds(response.headers.get('Cache-Control'))
    cache.keys = keys
    cache.freshUntil = now() + maxAge * 1000
    if (colo) {
      const stored = new Response(text, {
        headers: {
          'Content-Type': 'application/json',
          'Cache-Control': `max-age=${maxAge}`,
          'x-gatehouse-fresh-until': String(cache.freshUntil),
        },
      })
      await colo.put(cacheKey, stored).catch(() => {})
    }
  }

  function refresh(cache: KeyCache, fromColo: boolean): Promise<void> {
    cache.pending ??= load(cache, fromColo).finally(() => (cache.pending = undefined))
    return cache.pending
  }

  async function keyFor(kid: string): Promise<KeyEntry | undefined> {
    const cache = state()
    // Stale keys are refreshed, but no more often than unknown kids are: while Gatehouse
    // cannot be reached, tokens signed by keys already known keep verifying.
    if (cache.freshUntil <= now() && now() - cache.fetchedAt >= intervalMs) await refresh(cache, true)
    let entry = cache.keys.get(kid)
    if (!entry && cache.pending) {
      await cache.pending
      entry = cache.keys.get(kid)
    }
    // An unknown kid: a key rotated in since the last fetch, or a forged header. Ask
    // Gatehouse itself (not the colo's copy), and at most once per interval.
    if (!entry && now() - cache.fetchedAt >= intervalMs) {
      await refresh(cache, false)
      entry = cache.keys.get(kid)
    }
    return entry
  }

  return {
    async verify(token, { scope } = {}) {
      if (typeof token !== 'string') return invalid('The token is not a JWT.')
      let kid: unknown
      try {
        kid = decodeProtectedHeader(token).kid
      } catch {
        return invalid('The token is not a JWT.')
      }
      const entry = typeof kid === 'string' ? await keyFor(kid) : undefined
      if (!entry) return invalid('The token was not signed by a known key.')
      let payload: Record<string, unknown>
      try {
        ;({ payload } = await jwtVerify(token, entry.key, {
          // Pinned to the key's algorithm: the token's `alg` header never chooses.
          algorithms: [entry.alg],
          issuer,
          typ: ACCESS_TOKEN_TYPE,
          currentDate: new Date(now()),
          clockTolerance: tolerance,
          requiredClaims: REQUIRED_CLAIMS,
        }))
      } catch (error) {
        if (error instanceof errors.JWTExpired) return failure('expired', 'token_expired', 401, 'The token has expired.')
        return invalid('The token is invalid.')
      }
      const { sub, sid, org, scopes, iat, aud, auth_time } = payload
      if (
        typeof sub !== 'string' ||
        typeof sid !== 'string' ||
        typeof org !== 'string' ||
        !Array.isArray(scopes) ||
        !scopes.every((s) => typeof s === 'string') ||
        (auth_time !== undefined && typeof auth_time !== 'number')
      )
        return invalid('The token claims are malformed.')
      if ((iat as number) > now() / 1000 + Math.max(ISSUED_AT_SKEW_SECONDS, tolerance)) return invalid('The token is not yet valid.')
      // Tokens issued before Gatehouse set `aud` carry none; they stay valid until they expire.
      if (audience !== undefined && aud !== undefined && !(Array.isArray(aud) ? aud.includes(audience) : aud === audience))
        return invalid('The token is invalid.')
      if (scope !== undefined && !scopes.includes(scope))
        return failure('insufficient_scope', 'insufficient_scope', 403, `This action needs the "${scope}" scope.`)
      return { ok: true, claims: { ...payload, business_id: (payload.business_id as string | undefined) ?? org } as GatehouseClaims }
    },
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

/** The usable verification keys of a JWK Set, by kid; null when it is not a JWK Set. */
async function importKeySet(set: unknown): Promise<Map<string, KeyEntry> | null> {
  const list = (set as { keys?: unknown } | null)?.keys
  if (!Array.isArray(list)) return null
  const keys = new Map<string, KeyEntry>()
  for (const jwk of list as JWK[]) {
    // A key without `alg` cannot pin one; a private or symmetric key has no business in a JWKS.
    if (typeof jwk?.kid !== 'string' || typeof jwk.alg !== 'string' || !ALGORITHMS.has(jwk.alg)) continue
    if (jwk.kty === 'oct' || jwk.d !== undefined || (jwk.use !== undefined && jwk.use !== 'sig')) continue
    try {
      keys.set(jwk.kid, { alg: jwk.alg, key: (await importJWK(jwk, jwk.alg)) as CryptoKey })
    } catch {}
  }
  return keys
}

/** RFC 9111 §5.2.2.1 max-age, kept within bounds; `no-store`/`no-cache` count as the minimum. */
function maxAgeSeconds(header: string | null): number {
  if (!header) return DEFAULT_MAX_AGE_SECONDS
  if (/(^|,)\s*(no-store|no-cache)\s*(,|$)/i.test(header)) return MIN_MAX_AGE_SECONDS
  const match = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(header)
  if (!match) return DEFAULT_MAX_AGE_SECONDS
  return Math.min(MAX_MAX_AGE_SECONDS, Math.max(MIN_MAX_AGE_SECONDS, Number(match[1])))
}

interface ColoCache {
  match(key: string): Promise<Response | undefined>
  put(key: string, response: Response): Promise<void>
}

/** Cloudflare's Cache API (`caches.default`), shared by the isolates of a colo; absent elsewhere. */
function colocache(): ColoCache | undefined {
  return (globalThis as { caches?: { default?: ColoCache } }).caches?.default
}
