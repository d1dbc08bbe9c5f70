import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { JWK } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadKeySet, signAccessToken } from '../../functions/core/tokens'
import type { KeySet } from '../../functions/core/tokens'
import { startVerifyWorker } from '../support/verify-worker'

const start = Date.parse('2026-11-22T12:00:00Z')
const claims = {
  sub: '6f1c0d7e-8d3a-4c55-9a41-2f0e6e1c9b10',
  sid: 'a4f0c1de-0000-4000-8000-000000000001',
  org: 'b1e2c3d4-0000-4000-8000-000000000002',
  scopes: ['profile:read'],
}

async function rsaKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256' }
}

// gatehouse/verify inside workerd: Web Crypto and the Cache API as a Worker has them.
describe('gatehouse/verify in workerd', () => {
  let worker: Awaited<ReturnType<typeof startVerifyWorker>>
  let first: KeySet
  let rotated: KeySet
  let tests = 0
  beforeAll(async () => {
    const [a, b] = await Promise.all([rsaKey('first'), rsaKey('second')])
    first = await loadKeySet(JSON.stringify([a]), 'RS256')
    const { d, p, q, dp, dq, qi, ...aPublic } = a
    void [d, p, q, dp, dq, qi]
    rotated = await loadKeySet(JSON.stringify([b, aPublic]), 'RS256')
    worker = await startVerifyWorker()
  })
  afterAll(() => worker?.stop())

  // Each test its own issuer, so its own JWKS cache entry in the isolate and in the Cache API.
  const fresh = () => `https://gatehouse-${++tests}.test`
  const sign = (keys: KeySet, issuer: string) => signAccessToken(keys, claims, { issuer, audience: issuer, ttlSeconds: 86400, now: new Date(start) })

  it('fetches the JWKS once, then not across 10,000 verifications with one key', async () => {
    const issuer = fresh()
    await worker.post('/jwks', first.jwks)
    const token = await sign(first, issuer)
    expect(await worker.post('/verify', { issuer, tokens: [token], now: start })).toEqual({ fetches: 1, results: { ok: 1 } })
    expect(await worker.post('/verify', { issuer, tokens: [token], times: 10_000, now: start + 1000 })).toEqual({ fetches: 0, results: { ok: 10_000 } })
  })

  it('a cold isolate takes the keys from the Cache API: no fetch', async () => {
    const issuer = fresh()
    await worker.post('/jwks', first.jwks)
    const token = await sign(first, issuer)
    expect((await worker.post('/verify', { issuer, tokens: [token], now: start })).fetches).toBe(1)
    expect(await worker.post('/verify', { issuer, tokens: [token], now: start + 1000, coldIsolate: true })).toEqual({ fetches: 0, results: { ok: 1 } })
  })

  it('fetches once after a rotation', async () => {
    const issuer = fresh()
    await worker.post('/jwks', first.jwks)
    const old = await sign(first, issuer)
    expect((await worker.post('/verify', { issuer, tokens: [old], now: start })).fetches).toBe(1)
    await worker.post('/jwks', rotated.jwks)
    const token = await sign(rotated, issuer)
    expect(await worker.post('/verify', { issuer, tokens: [token, old], times: 100, now: start + 60_000 })).toEqual({ fetches: 1, results: { ok: 200 } })
  })

  it('fetches at most once per interval under a flood of unknown kids', async () => {
    const issuer = fresh()
    await worker.post('/jwks', first.jwks)
    const { privateKey } = await generateKeyPair('RS256')
    const forged = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        new SignJWT({ ...claims })
          .setProtectedHeader({ alg: 'RS256', kid: `forged-${i}`, typ: 'at+jwt' })
          .setIssuer(issuer)
          .sign(privateKey),
      ),
    )
    expect(await worker.post('/verify', { issuer, tokens: forged, concurrent: true, now: start })).toEqual({ fetches: 1, results: { invalid: 300 } })
    expect(await worker.post('/verify', { issuer, tokens: forged, times: 3, now: start + 29_000 })).toEqual({ fetches: 0, results: { invalid: 900 } })
    expect(await worker.post('/verify', { issuer, tokens: forged, concurrent: true, now: start + 30_000 })).toEqual({ fetches: 1, results: { invalid: 300 } })
  })
})
