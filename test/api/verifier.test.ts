import { Hono } from 'hono'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { JWK } from 'jose'
import { beforeEach, describe, expect, it } from 'vitest'
import { loadKeySet, signAccessToken } from '../../functions/core/tokens'
import type { KeySet } from '../../functions/core/tokens'
import { gatehouse } from '../../verify/src/hono'
import type { GatehouseVariables } from '../../verify/src/hono'
import { clearJwksCache, createVerifier } from '../../verify/src/index'
import { testApp } from '../support/app'
import { TEST_ISSUER, testRsaKey } from '../support/keys'
import { problem, V1_UNAUTHENTICATED } from '../support/errors'

const issuer = 'https://gatehouse.test'
const start = Date.parse('2026-11-22T12:00:00Z')
const claims = {
  sub: '6f1c0d7e-8d3a-4c55-9a41-2f0e6e1c9b10',
  sid: 'a4f0c1de-0000-4000-8000-000000000001',
  org: 'b1e2c3d4-0000-4000-8000-000000000002',
  scopes: ['profile:read'],
}

let rotated: Promise<JWK> | undefined
/** A second RSA key, as a rotation brings in. */
const nextRsaKey = () =>
  (rotated ??= generateKeyPair('RS256', { extractable: true }).then(async ({ privateKey }) => ({
    ...(await exportJWK(privateKey)),
    kid: 'next-rs256',
    alg: 'RS256',
  })))

/** Gatehouse's JWKS endpoint as a Fetcher that counts its calls; `keys` can be swapped (a rotation). */
function jwksServer(keys: KeySet, cacheControl = 'public, max-age=300') {
  const server = {
    keys,
    fetches: 0,
    async fetch(_input: Request | string | URL) {
      server.fetches++
      return Response.json(server.keys.jwks, { headers: { 'Cache-Control': cacheControl } })
    },
  }
  return server
}

function setup(options: { cacheControl?: string; audience?: string } = {}) {
  return (async () => {
    const keys = await loadKeySet(JSON.stringify([(await testRsaKey()).private]), 'RS256')
    const server = jwksServer(keys, options.cacheControl)
    let now = start
    const clock = { now: () => now, advance: (seconds: number) => (now += seconds * 1000) }
    const verifier = createVerifier({ issuer, jwks: server, now: clock.now, audience: options.audience })
    const sign = (keySet = keys, extra: { ttlSeconds?: number } = {}) =>
      signAccessToken(keySet, claims, { issuer, ttlSeconds: extra.ttlSeconds ?? 86400, now: new Date(now), audience: options.audience ?? issuer })
    return { keys, server, clock, verifier, sign }
  })()
}

beforeEach(() => clearJwksCache())

describe('createVerifier', () => {
  it('returns the typed claims of a Gatehouse access token', async () => {
    const { verifier, sign } = await setup()
    const result = await verifier.verify(await sign())
    expect(result).toEqual({
      ok: true,
      claims: {
        ...claims,
        business_id: claims.org,
        iss: issuer,
        aud: issuer,
        iat: start / 1000,
        exp: start / 1000 + 86400,
        jti: expect.any(String),
      },
    })
  })

  it('fetches the JWKS once, then not across 10,000 verifications with one key', async () => {
    const { verifier, sign, server } = await setup()
    const token = await sign()
    await verifier.verify(token)
    expect(server.fetches).toBe(1)
    for (let i = 0; i < 10_000; i++) {
      const result = await verifier.verify(token)
      if (!result.ok) throw new Error(result.detail)
    }
    expect(server.fetches).toBe(1)
  })

  it('shares the keys between verifiers of the same JWKS in an isolate', async () => {
    const { server, sign, clock } = await setup()
    const token = await sign()
    for (let i = 0; i < 3; i++) expect((await createVerifier({ issuer, jwks: server, now: clock.now }).verify(token)).ok).toBe(true)
    expect(server.fetches).toBe(1)
  })

  it('fetches once more after a rotation, then never again for the new key', async () => {
    const { verifier, sign, server, keys, clock } = await setup()
    expect((await verifier.verify(await sign())).ok).toBe(true)
    clock.advance(60)
    const rotatedKeys = await loadKeySet(JSON.stringify([await nextRsaKey(), (await testRsaKey()).public]), 'RS256')
    server.keys = rotatedKeys
    const fresh = await sign(rotatedKeys)
    for (let i = 0; i < 100; i++) expect((await verifier.verify(fresh)).ok).toBe(true)
    // A token of the old key, still listed, still verifies.
    expect((await verifier.verify(await sign(keys))).ok).toBe(true)
    expect(server.fetches).toBe(2)
  })

  it('fetches at most once per interval under a flood of unknown kids, concurrent or not', async () => {
    const { verifier, server, clock } = await setup()
    const forged = await forgedTokens(200)
    await verifier.verify(forged[0]!)
    expect(server.fetches).toBe(1)
    // Within the interval: nothing, however many kids and however concurrent.
    const results = await Promise.all(forged.map((t) => verifier.verify(t)))
    for (const t of forged) results.push(await verifier.verify(t))
    expect(new Set(results.map((r) => !r.ok && r.detail))).toEqual(new Set(['The token was not signed by a known key.']))
    expect(server.fetches).toBe(1)
    // Each interval: one fetch for the whole flood.
    for (let interval = 1; interval <= 3; interval++) {
      clock.advance(30)
      await Promise.all(forged.map((t) => verifier.verify(t)))
      expect(server.fetches).toBe(1 + interval)
    }
  })

  it("refetches when the JWKS response's max-age runs out, not before", async () => {
    const { verifier, sign, server, clock } = await setup({ cacheControl: 'public, max-age=120' })
    const token = await sign()
    await verifier.verify(token)
    clock.advance(119)
    await verifier.verify(token)
    expect(server.fetches).toBe(1)
    clock.advance(2)
    await verifier.verify(token)
    expect(server.fetches).toBe(2)
  })

  it('keeps verifying with the keys it has while Gatehouse cannot be reached', async () => {
    const { verifier, sign, server, clock } = await setup()
    const token = await sign()
    await verifier.verify(token)
    server.fetch = async () => {
      server.fetches++
      throw new TypeError('fetch failed')
    }
    clock.advance(301)
    for (let i = 0; i < 50; i++) expect((await verifier.verify(token)).ok).toBe(true)
    expect(server.fetches).toBe(2)
  })

  it('answers expired, invalid and insufficient_scope as values, never throwing', async () => {
    const { verifier, sign, clock } = await setup()
    const short = await sign(undefined, { ttlSeconds: 60 })
    expect(await verifier.verify(short, { scope: 'members:write' })).toEqual({
      ok: false,
      error: 'insufficient_scope',
      code: 'insufficient_scope',
      status: 403,
      detail: 'This action needs the "members:write" scope.',
    })
    expect((await verifier.verify(short, { scope: 'profile:read' })).ok).toBe(true)
    clock.advance(61)
    expect(await verifier.verify(short)).toEqual({ ok: false, error: 'expired', code: 'token_expired', status: 401, detail: 'The token has expired.' })
    for (const garbage of ['', 'a.b.c', 'not a token', '.'.repeat(3), `${short}x`, undefined as unknown as string]) {
      expect(await verifier.verify(garbage)).toMatchObject({ ok: false, error: 'invalid', code: 'token_invalid', status: 401 })
    }
  })

  it('refuses a token whose alg is not the key’s (HS256 with the public key as the secret)', async () => {
    const { verifier, clock } = await setup()
    const { public: pub } = await testRsaKey()
    const secret = new TextEncoder().encode(JSON.stringify(pub))
    const forged = await new SignJWT({ ...claims, business_id: claims.org })
      .setProtectedHeader({ alg: 'HS256', kid: pub.kid, typ: 'at+jwt' })
      .setSubject(claims.sub)
      .setIssuer(issuer)
      .setIssuedAt(clock.now() / 1000)
      .setExpirationTime(clock.now() / 1000 + 60)
      .setJti('x')
      .sign(secret)
    expect(await verifier.verify(forged)).toMatchObject({ ok: false, error: 'invalid' })
  })

  it('refuses a token of another type, issuer or audience signed by the same key', async () => {
    const { verifier, clock } = await setup({ audience: 'https://api.example' })
    const { private: priv } = await testRsaKey()
    const key = await loadKeySet(JSON.stringify([priv]), 'RS256')
    const base = (header: Record<string, unknown>, payload: Record<string, unknown>) =>
      new SignJWT({ sid: claims.sid, org: claims.org, business_id: claims.org, scopes: claims.scopes, ...payload })
        .setProtectedHeader({ alg: 'RS256', kid: priv.kid, typ: 'at+jwt', ...header })
        .setSubject(claims.sub)
        .setIssuedAt(clock.now() / 1000)
        .setExpirationTime(clock.now() / 1000 + 60)
        .setJti('j')
        .sign(key.signing.key)
    const good = { iss: issuer, aud: 'https://api.example' }
    expect((await verifier.verify(await base({}, good))).ok).toBe(true)
    // Issued before Gatehouse set `aud`: still accepted until it expires.
    expect((await verifier.verify(await base({}, { iss: issuer }))).ok).toBe(true)
    expect(await verifier.verify(await base({ typ: 'JWT' }, good))).toMatchObject({ ok: false, error: 'invalid' })
    expect(await verifier.verify(await base({}, { ...good, iss: 'https://evil.example' }))).toMatchObject({ ok: false, error: 'invalid' })
    expect(await verifier.verify(await base({}, { ...good, aud: 'https://other-api.example' }))).toMatchObject({ ok: false, error: 'invalid' })
    expect(await verifier.verify(await base({}, { ...good, scopes: 'profile:read' }))).toMatchObject({ ok: false, error: 'invalid' })
  })

  it('ignores symmetric and private keys a JWKS should never hold', async () => {
    const { clock } = await setup()
    const secret = crypto.getRandomValues(new Uint8Array(32))
    const leaky = {
      fetches: 0,
      async fetch() {
        return Response.json({ keys: [{ kty: 'oct', kid: 'hs', alg: 'HS256', k: Buffer.from(secret).toString('base64url') }] })
      },
    }
    const token = await new SignJWT({ ...claims, business_id: claims.org })
      .setProtectedHeader({ alg: 'HS256', kid: 'hs', typ: 'at+jwt' })
      .setSubject(claims.sub)
      .setIssuer(issuer)
      .setIssuedAt(clock.now() / 1000)
      .setExpirationTime(clock.now() / 1000 + 60)
      .setJti('j')
      .sign(secret)
    expect(await createVerifier({ issuer, jwks: leaky, now: clock.now }).verify(token)).toMatchObject({ ok: false, error: 'invalid' })
  })

  it("verifies the tokens of the real app, fetching the app's own JWKS", async () => {
    const t = await testApp()
    const user = await t.register()
    const gatehouseJwks = { fetch: async (input: Request | string | URL) => t.app.request(String(input), {}, t.env) }
    const verifier = createVerifier({ issuer: TEST_ISSUER, jwks: gatehouseJwks, now: () => t.clock.now().getTime() })
    const result = await verifier.verify(user.access_token)
    expect(result).toMatchObject({ ok: true, claims: { sub: user.user_id, org: user.organization_id, business_id: user.organization_id } })
  })
})

describe('the gatehouse() Hono middleware', () => {
  async function downstream(dialect?: 'problem' | 'v1') {
    const s = await setup()
    const app = new Hono<{ Variables: GatehouseVariables }>()
    app.use('/api/*', gatehouse({ issuer, jwks: s.server, now: s.clock.now, dialect }))
    app.get('/api/me', (c) => c.json({ sub: c.var.gatehouse.sub }))
    app.get('/api/members', gatehouse({ issuer, jwks: s.server, now: s.clock.now, scope: 'members:read', dialect }), (c) => c.json([]))
    return { ...s, app }
  }

  it('sets the claims on the context', async () => {
    const { app, sign } = await downstream()
    const res = await app.request('/api/me', { headers: { Authorization: `Bearer ${await sign()}` } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ sub: claims.sub })
  })

  it("answers in Gatehouse's problem details, exactly as Gatehouse does", async () => {
    const { app, sign } = await downstream()
    const t = await testApp()
    const cases: [string, Record<string, string>][] = [
      ['/api/me', {}],
      ['/api/me', { Authorization: 'Basic abc' }],
      ['/api/me', { Authorization: 'Bearer a.b.c' }],
    ]
    for (const [path, headers] of cases) {
      const mine = await app.request(path, { headers })
      const theirs = await t.request('GET', '/api/v1/auth/me', undefined, headers)
      expect(mine.status).toBe(theirs.status)
      expect(mine.headers.get('Content-Type')).toBe(theirs.headers.get('Content-Type'))
      expect(await mine.json()).toEqual(await theirs.json())
    }
    const res = await app.request('/api/members', { headers: { Authorization: `Bearer ${await sign()}` } })
    expect(res.status).toBe(403)
    expect(res.headers.get('Content-Type')).toBe('application/problem+json')
    expect(await res.json()).toEqual(problem(403, 'insufficient_scope', 'This action needs the "members:read" scope.'))
  })

  it('over RPC, answers 503 as Gatehouse does when Gatehouse cannot decide', async () => {
    const broken = {
      async verify(): Promise<never> {
        throw new Error('database unreachable')
      },
    }
    const app = new Hono()
    app.get('/problem', gatehouse({ issuer, rpc: broken }), (c) => c.text('never'))
    app.get('/v1', gatehouse({ issuer, rpc: broken, dialect: 'v1' }), (c) => c.text('never'))
    const headers = { Authorization: 'Bearer a.b.c' }
    const failed = await app.request('/problem', { headers })
    expect(failed.status).toBe(503)
    expect(await failed.json()).toEqual(problem(503, 'database_unavailable', 'The service is temporarily unavailable.'))
    const v1 = await app.request('/v1', { headers })
    expect(v1.status).toBe(503)
    expect(await v1.json()).toEqual({ success: false, message: 'The service is temporarily unavailable.' })
  })

  it('answers in the /v1 envelope when asked', async () => {
    const { app, sign } = await downstream('v1')
    const missing = await app.request('/api/me')
    expect(missing.status).toBe(401)
    expect(await missing.json()).toEqual(V1_UNAUTHENTICATED)
    const scoped = await app.request('/api/members', { headers: { Authorization: `Bearer ${await sign()}` } })
    expect(scoped.status).toBe(403)
    expect(await scoped.json()).toEqual({ success: false, message: 'This action is unauthorized.' })
  })
})

/** Tokens signed by keys Gatehouse never published, each with a kid of its own. */
async function forgedTokens(count: number): Promise<string[]> {
  const { privateKey } = await generateKeyPair('RS256')
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: `forged-${i}`, typ: 'at+jwt' })
        .setIssuer(issuer)
        .sign(privateKey),
    ),
  )
}
