import { SignJWT, UnsecuredJWT, base64url, exportJWK, exportSPKI, generateKeyPair, importJWK } from 'jose'
import { describe, expect, it } from 'vitest'
import { AuthError } from '../../functions/core/errors'
import { loadKeySet, signAccessToken, verifyAccessToken } from '../../functions/core/tokens'
import { testRsaKey } from '../support/keys'

const issuer = 'https://issuer.test'
const now = new Date('2026-11-22T12:00:00Z')
const claims = { sub: '6f1c0d7e-8d3a-4c55-9a41-2f0e6e1c9b10', sid: 'a4f0c1de-0000-4000-8000-000000000001', org: 'b1e2c3d4-0000-4000-8000-000000000002', scopes: ['profile:read'] }

async function rsKeys() {
  return loadKeySet(JSON.stringify([(await testRsaKey()).private]), 'RS256')
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (error instanceof AuthError) return error.code
    throw error
  }
  throw new Error('expected an AuthError')
}

describe('access tokens', () => {
  it('carry every claim of the contract, a kid, and typ at+jwt', async () => {
    const keys = await rsKeys()
    const token = await signAccessToken(keys, claims, { issuer, ttlSeconds: 86400, now })
    const [header, payload] = token.split('.').slice(0, 2).map((p) => JSON.parse(new TextDecoder().decode(base64url.decode(p!))))
    expect(header).toEqual({ alg: 'RS256', kid: 'test-rs256', typ: 'at+jwt' })
    expect(payload).toEqual({
      sub: claims.sub,
      sid: claims.sid,
      org: claims.org,
      business_id: claims.org,
      scopes: ['profile:read'],
      iss: issuer,
      iat: now.getTime() / 1000,
      exp: now.getTime() / 1000 + 86400,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    })
    expect(await verifyAccessToken(keys, token, { issuer, now })).toMatchObject(claims)
  })

  it('expire at exp (injected clock)', async () => {
    const keys = await rsKeys()
    const token = await signAccessToken(keys, claims, { issuer, ttlSeconds: 60, now })
    const later = new Date(now.getTime() + 61_000)
    expect(await codeOf(verifyAccessToken(keys, token, { issuer, now: later }))).toBe('token_expired')
  })

  it('are refused before they were issued', async () => {
    const keys = await rsKeys()
    const token = await signAccessToken(keys, claims, { issuer, ttlSeconds: 600, now })
    const earlier = new Date(now.getTime() - 120_000)
    expect(await codeOf(verifyAccessToken(keys, token, { issuer, now: earlier }))).toBe('token_invalid')
  })

  it('refuse alg none', async () => {
    const keys = await rsKeys()
    const token = new UnsecuredJWT({ ...claims }).setIssuer(issuer).setIssuedAt(now.getTime() / 1000).setExpirationTime('1h').encode()
    // An unsecured token carries no kid: put one in by hand, as an attacker would.
    const forged = `${base64url.encode(JSON.stringify({ alg: 'none', kid: 'test-rs256', typ: 'at+jwt' }))}.${token.split('.')[1]}.`
    expect(await codeOf(verifyAccessToken(keys, forged, { issuer, now }))).toBe('token_invalid')
  })

  it('refuse an HS256 token signed with the RS256 public key (algorithm confusion)', async () => {
    const keys = await rsKeys()
    const publicJwk = (await testRsaKey()).public
    // Every form of the public key an attacker could use as an HMAC secret.
    const pem = await exportSPKI((await importJWK(publicJwk, 'RS256', { extractable: true })) as CryptoKey)
    const secrets = [pem, JSON.stringify(publicJwk), String(publicJwk.n)].map((s) => new TextEncoder().encode(s))
    for (const secret of secrets) {
      const forged = await new SignJWT({ sid: claims.sid, org: claims.org, scopes: ['org:manage'] })
        .setProtectedHeader({ alg: 'HS256', kid: 'test-rs256', typ: 'at+jwt' })
        .setSubject(claims.sub)
        .setIssuer(issuer)
        .setIssuedAt(now.getTime() / 1000)
        .setExpirationTime(now.getTime() / 1000 + 3600)
        .setJti('x')
        .sign(secret)
      expect(await codeOf(verifyAccessToken(keys, forged, { issuer, now }))).toBe('token_invalid')
    }
  })

  it('refuse an unknown kid, a tampered payload, a wrong issuer and a foreign key', async () => {
    const keys = await rsKeys()
    const token = await signAccessToken(keys, claims, { issuer, ttlSeconds: 600, now })
    const [h, p, s] = token.split('.')
    const header = JSON.parse(new TextDecoder().decode(base64url.decode(h!)))
    const unknownKid = `${base64url.encode(JSON.stringify({ ...header, kid: 'other' }))}.${p}.${s}`
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(p!)))
    const tampered = `${h}.${base64url.encode(JSON.stringify({ ...payload, scopes: ['org:manage'] }))}.${s}`
    expect(await codeOf(verifyAccessToken(keys, unknownKid, { issuer, now }))).toBe('token_invalid')
    expect(await codeOf(verifyAccessToken(keys, tampered, { issuer, now }))).toBe('token_invalid')
    expect(await codeOf(verifyAccessToken(keys, token, { issuer: 'https://evil.test', now }))).toBe('token_invalid')
    expect(await codeOf(verifyAccessToken(keys, 'not.a.jwt', { issuer, now }))).toBe('token_invalid')

    const { privateKey } = await generateKeyPair('RS256', { extractable: true })
    const foreign = await loadKeySet(JSON.stringify([{ ...(await exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256' }]), 'RS256')
    const forged = await signAccessToken(foreign, claims, { issuer, ttlSeconds: 600, now })
    expect(await codeOf(verifyAccessToken(keys, forged, { issuer, now }))).toBe('token_invalid')
  })

  it('keep verifying with an old key after rotation, and publish old and next keys', async () => {
    const old = (await testRsaKey()).private
    const { privateKey } = await generateKeyPair('RS256', { extractable: true })
    const next = { ...(await exportJWK(privateKey)), kid: 'next', alg: 'RS256' }
    const before = await loadKeySet(JSON.stringify([old]), 'RS256')
    const token = await signAccessToken(before, claims, { issuer, ttlSeconds: 600, now })
    // The new key signs; the old one stays, public only, until its tokens have expired.
    const { d, p, q, dp, dq, qi, ...oldPublic } = old as Record<string, string>
    void [d, p, q, dp, dq, qi]
    const after = await loadKeySet(JSON.stringify([next, oldPublic]), 'RS256')
    expect(after.signing.kid).toBe('next')
    expect(await verifyAccessToken(after, token, { issuer, now })).toMatchObject(claims)
    expect(after.jwks.keys.map((k) => k.kid)).toEqual(['next', 'test-rs256'])
    expect(after.jwks.keys.every((k) => !('d' in k))).toBe(true)
  })

  it('carry aud, and are refused by a service whose audience they do not name', async () => {
    const keys = await rsKeys()
    const token = await signAccessToken(keys, claims, { issuer, audience: 'https://api.a.test', ttlSeconds: 600, now })
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[1]!)))
    expect(payload.aud).toBe('https://api.a.test')
    expect(await verifyAccessToken(keys, token, { issuer, audience: 'https://api.a.test', now })).toMatchObject(claims)
    expect(await codeOf(verifyAccessToken(keys, token, { issuer, audience: 'https://api.b.test', now }))).toBe('token_invalid')
  })

  it('issued before aud existed (none in them) stay valid until they expire', async () => {
    const keys = await rsKeys()
    const token = await signAccessToken(keys, claims, { issuer, ttlSeconds: 600, now })
    expect(await verifyAccessToken(keys, token, { issuer, audience: 'https://api.a.test', now })).toMatchObject(claims)
    const later = new Date(now.getTime() + 601_000)
    expect(await codeOf(verifyAccessToken(keys, token, { issuer, audience: 'https://api.a.test', now: later }))).toBe('token_expired')
  })

  it('support HS256 with a key of at least 32 bytes, and never publish it', async () => {
    const k = base64url.encode(crypto.getRandomValues(new Uint8Array(32)))
    const keys = await loadKeySet(JSON.stringify([{ kty: 'oct', k, kid: 'hs' }]), 'HS256')
    const token = await signAccessToken(keys, claims, { issuer, ttlSeconds: 600, now })
    expect(await verifyAccessToken(keys, token, { issuer, now })).toMatchObject(claims)
    expect(keys.jwks).toEqual({ keys: [] })
  })
})

describe('loadKeySet refuses to start with', () => {
  const short = base64url.encode(crypto.getRandomValues(new Uint8Array(31)))
  it.each([
    ['an HS256 secret shorter than 32 bytes', JSON.stringify([{ kty: 'oct', k: short, kid: 'hs' }]), 'HS256', /shorter than 32 bytes/],
    ['no keys', '[]', 'RS256', /non-empty/],
    ['something that is not JSON', 'secret', 'RS256', /JSON array/],
    ['a key without kid', JSON.stringify([{ kty: 'oct', k: short + short }]), 'HS256', /kid/],
    ['an unsupported algorithm', '[]', 'none', /JWT_ALG/],
  ])('%s', async (_, json, alg, message) => {
    await expect(loadKeySet(json, alg)).rejects.toThrow(message)
  })

  it('an RS256 configuration holding only public keys', async () => {
    const { d, ...publicOnly } = (await testRsaKey()).private as Record<string, string>
    void d
    await expect(loadKeySet(JSON.stringify([{ kty: 'RSA', n: publicOnly.n, e: publicOnly.e, kid: 'p' }]), 'RS256')).rejects.toThrow(/no key that can sign/)
  })
})
