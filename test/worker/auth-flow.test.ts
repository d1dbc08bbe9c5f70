import { createPublicKey, verify } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestWorker } from '../support/worker'
import { startTestWorker } from '../support/worker'
import { V1_UNAUTHENTICATED } from '../support/errors'

// The built Worker in workerd, over the Neon driver and the relay: the production path.
describe('auth flows in workerd', () => {
  let worker: TestWorker
  beforeAll(async () => {
    worker = await startTestWorker()
  })
  afterAll(() => worker?.stop())

  const post = (path: string, body: unknown, token?: string) =>
    worker.fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token && { Authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    })
  const get = (path: string, token?: string) => worker.fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} })
  const password = 'correct horse battery staple'

  it('registers, logs in through both dialects, reads /me, refreshes and logs out', async () => {
    const email = `flow-${Date.now()}@example.com`
    const registered = await post('/api/v1/auth/register', { email, password, full_name: 'Grace Hopper', organization_name: 'COBOL' })
    expect(registered.status).toBe(201)
    const account = (await registered.json()) as Record<string, string>

    const v1 = (await (await post('/v1/login', { email, password })).json()) as { success: boolean; data: Record<string, string> }
    expect(v1).toMatchObject({ success: true, data: { token_type: 'Bearer', expires_in: 86400, user: { id: account.user_id, name: 'Grace Hopper', email } } })
    const api = (await (await post('/api/v1/auth/login', { email, password })).json()) as Record<string, string>
    expect(api).toMatchObject({ token_type: 'bearer', user_id: account.user_id, organization_id: account.organization_id })

    expect(await (await get('/api/v1/auth/me', v1.data.token)).json()).toMatchObject({ id: account.user_id, email, oauth_provider: 'local' })
    expect(await (await get('/v1/me', api.access_token)).json()).toMatchObject({ success: true, data: { id: account.user_id, business_id: account.organization_id } })

    const refreshed = (await (await post('/api/v1/auth/refresh', { refresh_token: api.refresh_token })).json()) as Record<string, string>
    expect(refreshed.token_type).toBe('bearer')
    expect((await post('/api/v1/auth/refresh', { refresh_token: api.refresh_token })).status).toBe(401)

    expect((await post('/api/v1/auth/logout', {}, v1.data.token)).status).toBe(204)
    expect(await (await get('/v1/me', v1.data.token)).json()).toEqual(V1_UNAUTHENTICATED)
  })

  it('publishes a JWKS that an independent RS256 implementation (OpenSSL via node:crypto) verifies tokens with', async () => {
    const email = `jwks-${Date.now()}@example.com`
    const { access_token } = (await (await post('/api/v1/auth/register', { email, password, full_name: 'K', organization_name: 'K' })).json()) as Record<string, string>
    const jwks = (await (await get('/.well-known/jwks.json')).json()) as { keys: Record<string, string>[] }
    const [header, payload, signature] = access_token!.split('.') as [string, string, string]
    const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString())
    expect(alg).toBe('RS256')
    const jwk = jwks.keys.find((k) => k.kid === kid)!
    const key = createPublicKey({ key: jwk, format: 'jwk' })
    expect(verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url'))).toBe(true)
    expect(verify('RSA-SHA256', Buffer.from(`${header}.${payload}x`), key, Buffer.from(signature, 'base64url'))).toBe(false)
  })

  it('answers bad input with the contract’s 4xx and a JSON body, never a 500', async () => {
    const malformed = await worker.fetch('/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' })
    expect(malformed.status).toBe(400)
    expect(malformed.headers.get('Content-Type')).toBe('application/problem+json')
    const big = await post('/api/v1/auth/login', { email: 'a@example.com', password: 'x'.repeat(40_000) })
    expect(big.status).toBe(413)
    const surrogate = await worker.fetch('/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"email":"a@example.com","password":"\\ud800\\u0000xxxxxxx"}' })
    expect(surrogate.status).toBe(422)
    expect(await surrogate.json()).toMatchObject({ success: false, errors: { password: ['must not contain null bytes'] } })
  })
})

describe('workerd with the database down', () => {
  let worker: TestWorker
  beforeAll(async () => {
    // A relay port where nothing listens: the driver cannot open its WebSocket.
    worker = await startTestWorker({ DB_WS_PROXY: '127.0.0.1:9' })
  })
  afterAll(() => worker?.stop())

  it('answers 503 to register in both dialects, with nothing of the driver inside', async () => {
    const res = await worker.fetch('/api/v1/auth/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'down@example.com', password: 'correct horse', full_name: 'D', organization_name: 'D' }),
    })
    expect(res.status).toBe(503)
    expect(await res.json()).toMatchObject({ status: 503, code: 'database_unavailable' })
    const v1 = await worker.fetch('/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'down@example.com', password: 'correct horse' }) })
    expect(v1.status).toBe(503)
    expect(await v1.json()).toEqual({ success: false, message: 'The service is temporarily unavailable.' })
  })
})
