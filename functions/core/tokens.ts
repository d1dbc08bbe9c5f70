import { SignJWT, decodeProtectedHeader, errors, importJWK, jwtVerify } from 'jose'
import type { JWK } from 'jose'
import { AuthError } from './errors'
import { fromBase64url } from './crypto'

export type Algorithm = 'RS256' | 'HS256'
const ALGORITHMS: readonly Algorithm[] = ['RS256', 'HS256']

interface KeyEntry {
  alg: Algorithm
  key: CryptoKey
}

/**
 * Every key the service knows, by kid. The algorithm belongs to the key, held here on the
 * server: a token's `alg` header is never trusted to choose how it is verified.
 */
export interface KeySet {
  alg: Algorithm
  signing: { kid: string; key: CryptoKey }
  verify: Map<string, KeyEntry>
  /** Public JWKs for /.well-known/jwks.json (empty for HS256). */
  jwks: { keys: JWK[] }
}

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
const MIN_HMAC_KEY_BYTES = 32

/**
 * Loads `JWT_KEYS` (a JSON array of JWKs). Private RSA keys can sign; public RSA keys are
 * verify-only (an old key whose tokens are still alive, or the next key, published early).
 * Throws on anything unusable, so a misconfigured Worker refuses to serve rather than
 * signing with a weak key.
 */
export async function loadKeySet(json: string | undefined, alg: string, signingKid?: string): Promise<KeySet> {
  if (!ALGORITHMS.includes(alg as Algorithm)) throw new Error(`JWT_ALG must be one of ${ALGORITHMS.join(', ')}`)
  const algorithm = alg as Algorithm
  let jwks: JWK[]
  try {
    jwks = JSON.parse(json ?? '')
  } catch {
    throw new Error('JWT_KEYS must be a JSON array of JWKs')
  }
  if (!Array.isArray(jwks) || jwks.length === 0) throw new Error('JWT_KEYS must be a non-empty JSON array of JWKs')

  const verify = new Map<string, KeyEntry>()
  const published: JWK[] = []
  let signing: KeySet['signing'] | undefined
  for (const jwk of jwks) {
    if (!jwk.kid) throw new Error('every key in JWT_KEYS needs a kid')
    if (verify.has(jwk.kid)) throw new Error(`duplicate kid in JWT_KEYS: ${jwk.kid}`)
    if (jwk.alg && jwk.alg !== algorithm) throw new Error(`key ${jwk.kid} is ${jwk.alg}, but JWT_ALG is ${algorithm}`)
    if (algorithm === 'HS256') {
      if (jwk.kty !== 'oct' || !jwk.k) throw new Error(`key ${jwk.kid} is not an HS256 secret`)
      if (fromBase64url(jwk.k).length < MIN_HMAC_KEY_BYTES)
        throw new Error(`HS256 key ${jwk.kid} is shorter than ${MIN_HMAC_KEY_BYTES} bytes`)
      const key = (await importJWK({ ...jwk, alg: algorithm }, algorithm)) as CryptoKey
      verify.set(jwk.kid, { alg: algorithm, key })
      signing ??= { kid: jwk.kid, key }
      if (jwk.kid === signingKid) signing = { kid: jwk.kid, key }
      continue
    }
    if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e) throw new Error(`key ${jwk.kid} is not an RSA key`)
    if (fromBase64url(jwk.n).length < 256) throw new Error(`RSA key ${jwk.kid} is shorter than 2048 bits`)
    const { kid, kty, n, e } = jwk
    const publicJwk: JWK = { kty, n, e, kid, alg: algorithm, use: 'sig' }
    verify.set(kid, { alg: algorithm, key: (await importJWK(publicJwk, algorithm)) as CryptoKey })
    published.push(publicJwk)
    if (jwk.d && (!signing || kid === signingKid)) {
      signing = { kid, key: (await importJWK({ ...jwk, alg: algorithm }, algorithm)) as CryptoKey }
    }
  }
  if (!signing) throw new Error('JWT_KEYS holds no key that can sign')
  if (signingKid && signing.kid !== signingKid) throw new Error(`JWT_SIGNING_KID ${signingKid} is not a signing key`)
  return { alg: algorithm, signing, verify, jwks: { keys: published } }
}

export interface AccessClaims {
  sub: string
  sid: string
  org: string
  scopes: string[]
  /**
   * OIDC Core §2 `auth_time`: when the session last fully signed in (password, OAuth, or a
   * completed 2FA challenge), in seconds; a refresh carries it over unchanged, so a relying
   * party can ask for a recent sign-in.
   */
  authTime?: number
}

export interface VerifiedAccess extends AccessClaims {
  /** `auth_time`, or `iat` for a token issued before the claim existed. */
  authTime: number
  /** Absent on tokens issued before Gatehouse set it. */
  aud?: string | string[]
  jti: string
  iat: number
  exp: number
}

// RFC 9068: a distinct type keeps other JWTs (an ID token, say) from passing as access tokens.
const ACCESS_TOKEN_TYPE = 'at+jwt'
const CLOCK_SKEW_SECONDS = 30

/**
 * Signs an access token.
 *
 * @example
 * const token = await signAccessToken(keys, { sub, sid, org, scopes }, { issuer, audience, ttlSeconds: 86400, now: new Date() })
 */
export async function signAccessToken(
  keys: KeySet,
  claims: AccessClaims,
  options: { issuer: string; audience?: string; ttlSeconds: number; now: Date },
): Promise<string> {
  const iat = Math.floor(options.now.getTime() / 1000)
  const jwt = new SignJWT({ sid: claims.sid, org: claims.org, business_id: claims.org, scopes: claims.scopes, auth_time: claims.authTime })
    .setProtectedHeader({ alg: keys.alg, kid: keys.signing.kid, typ: ACCESS_TOKEN_TYPE })
    .setSubject(claims.sub)
    .setIssuer(options.issuer)
  if (options.audience !== undefined) jwt.setAudience(options.audience)
  return jwt
    .setIssuedAt(iat)
    .setExpirationTime(iat + options.ttlSeconds)
    .setJti(crypto.randomUUID())
    .sign(keys.signing.key)
}

/**
 * Verifies an access token's signature and claims (not yet its session: see sessions.ts).
 * Throws AuthError 401 with a code that says why.
 */
export async function verifyAccessToken(
  keys: KeySet,
  token: string,
  options: { issuer: string; audience?: string; now: Date },
): Promise<VerifiedAccess> {
  let kid: string | undefined
  try {
    kid = decodeProtectedHeader(token).kid
  } catch {
    throw invalid('The token is not a JWT.')
  }
  const entry = kid === undefined ? undefined : keys.verify.get(kid)
  if (!entry) throw invalid('The token was not signed by a known key.')
  try {
    const { payload } = await jwtVerify(token, entry.key, {
      algorithms: [entry.alg],
      issuer: options.issuer,
      typ: ACCESS_TOKEN_TYPE,
      currentDate: options.now,
      requiredClaims: ['sub', 'iat', 'exp', 'jti', 'sid', 'org', 'scopes'],
    })
    const { sub, sid, org, scopes, jti, iat, exp, aud, auth_time } = payload
    if (
      typeof sid !== 'string' ||
      // Tokens issued before auth_time existed have none; they expire within a day.
      (auth_time !== undefined && typeof auth_time !== 'number') ||
      typeof org !== 'string' ||
      !Array.isArray(scopes) ||
      !scopes.every((s) => typeof s === 'string')
    )
      throw invalid('The token claims are malformed.')
    // jose checks `nbf`; a token issued in the future is not yet valid either.
    if (iat! > options.now.getTime() / 1000 + CLOCK_SKEW_SECONDS) throw invalid('The token is not yet valid.')
    // RFC 7519 §4.1.3, checked by hand: jose would refuse a token without `aud`, and tokens
    // issued before Gatehouse set it carry none; they stay valid until they expire.
    if (options.audience !== undefined && aud !== undefined && !(Array.isArray(aud) ? aud : [aud]).includes(options.audience))
      throw invalid('The token is not meant for this audience.')
    return { sub: sub!, sid, org, scopes: scopes as string[], authTime: (auth_time as number | undefined) ?? iat!, jti: jti!, iat: iat!, exp: exp!, ...(aud !== undefined && { aud }) }
  } catch (error) {
    if (error instanceof AuthError) throw error
    if (error instanceof errors.JWTExpired) throw new AuthError('token_expired', 'The token has expired.')
    throw invalid('The token is invalid.', error)
  }
}

const invalid = (detail: string, internal?: unknown) => new AuthError('token_invalid', detail, { internal })
