import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../functions/config'
import { DOCS_POLICY } from '../../functions/service/docs'
import { testApp, testBindings } from '../support/app'

const APP = 'https://app.example'
const preflight = (origin: string, method: string, headers = 'authorization,content-type') => ({
  Origin: origin,
  'Access-Control-Request-Method': method,
  'Access-Control-Request-Headers': headers,
})
const cors = (res: Response) => Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-') || name === 'vary'))

describe('cross-origin callers (CORS_ORIGINS)', () => {
  it('gives no cross-origin access by default: a preflight is the 404 it always was', async () => {
    const t = await testApp()
    const res = await t.request('OPTIONS', '/api/v1/auth/me', undefined, preflight(APP, 'GET'))
    expect(res.status).toBe(404)
    expect(cors(res)).toEqual({})
    const me = await t.request('GET', '/health', undefined, { Origin: APP })
    expect(cors(me)).toEqual({})
  })

  it("answers a listed origin's preflight from the route table: that path's methods and headers", async () => {
    const t = await testApp({ env: { CORS_ORIGINS: `${APP}, http://127.0.0.1:5173` } })
    const me = await t.request('OPTIONS', '/api/v1/auth/me', undefined, preflight(APP, 'PATCH'))
    expect(me.status).toBe(204)
    expect(cors(me)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-allow-methods': 'GET, PATCH',
      'access-control-allow-headers': 'Authorization, Content-Type',
      'access-control-max-age': '7200',
      vary: 'Origin',
    })
    const login = await t.request('OPTIONS', '/v1/login', undefined, preflight('http://127.0.0.1:5173', 'POST', 'content-type'))
    expect(cors(login)).toMatchObject({ 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'Content-Type' })
    const member = await t.request('OPTIONS', '/api/v1/org/members/0b9f2a57-2f5e-4f55-9a3c-5b1f1c1f2f00', undefined, preflight(APP, 'DELETE'))
    expect(cors(member)).toMatchObject({ 'access-control-allow-methods': 'PATCH, DELETE', 'access-control-allow-headers': 'Authorization, Content-Type' })
    // Never with credentials: the API takes bearer tokens, not cookies.
    expect(me.headers.has('access-control-allow-credentials')).toBe(false)
  })

  it('refuses an origin not listed, and paths that are not routes', async () => {
    const t = await testApp({ env: { CORS_ORIGINS: APP } })
    for (const origin of ['https://evil.example', 'https://app.example.evil.example', 'http://app.example', 'null']) {
      const res = await t.request('OPTIONS', '/api/v1/auth/login', undefined, preflight(origin, 'POST'))
      expect(res.status).toBe(404)
      expect(res.headers.has('access-control-allow-origin')).toBe(false)
    }
    const unknown = await t.request('OPTIONS', '/api/v1/auth/nowhere', undefined, preflight(APP, 'POST'))
    expect(unknown.status).toBe(404)
    const other = await t.request('GET', '/health', undefined, { Origin: 'https://evil.example' })
    expect(other.status).toBe(200)
    expect(cors(other)).toEqual({ vary: 'Origin' })
  })

  it('lets a listed origin read answers, errors included, with Retry-After and X-Request-Id exposed', async () => {
    const t = await testApp({ env: { CORS_ORIGINS: APP } })
    const account = await t.register()
    const me = await t.request('GET', '/api/v1/auth/me', undefined, { Origin: APP, ...t.bearer(account.access_token) })
    expect(me.status).toBe(200)
    expect(cors(me)).toEqual({ 'access-control-allow-origin': APP, 'access-control-expose-headers': 'Retry-After, X-Request-Id', vary: 'Origin' })
    const denied = await t.request('GET', '/api/v1/auth/me', undefined, { Origin: APP })
    expect(denied.status).toBe(401)
    expect(denied.headers.get('access-control-allow-origin')).toBe(APP)
  })

  it('refuses to serve with a wildcard, a path or a bare host in CORS_ORIGINS', async () => {
    for (const CORS_ORIGINS of ['*', 'https://*.example.com', 'https://app.example/', 'app.example', '["https://app.example", 1]', 'null', '[oops'])
      await expect(parseConfig(await testBindings({ CORS_ORIGINS }))).rejects.toThrow(/CORS_ORIGINS/)
    expect((await parseConfig(await testBindings({ CORS_ORIGINS: '["https://a.example","http://localhost:5173"]' }))).corsOrigins).toEqual([
      'https://a.example',
      'http://localhost:5173',
    ])
  })
})

describe('security headers', () => {
  it('puts nosniff, no-referrer and a no-render policy on every answer, and no-store unless the endpoint caches', async () => {
    const t = await testApp()
    const account = await t.register()
    const answers = [
      await t.post('/api/v1/auth/login', { email: account.email, password: account.password }),
      await t.get('/api/v1/auth/me', account.access_token),
      await t.get('/api/v1/auth/me'),
      await t.get('/nowhere'),
      await t.post('/v1/login', '{'),
      await t.get('/openapi.json'),
    ]
    for (const res of answers) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
      expect(res.headers.get('cache-control')).toBe('no-store')
    }
    const jwks = await t.get('/.well-known/jwks.json')
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=300')
    expect(jwks.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('serves /docs under a strict policy: scripts and data from this origin only, nothing inline', async () => {
    const t = await testApp()
    const res = await t.get('/docs')
    expect(res.headers.get('content-security-policy')).toBe(DOCS_POLICY)
    expect(DOCS_POLICY).toContain("script-src 'self';")
    expect(DOCS_POLICY).not.toMatch(/script-src[^;]*(unsafe|https?:)/)
    const page = await res.text()
    expect(page).toContain('<script src="/docs/scalar.js"></script>')
    expect(page).not.toMatch(/https?:\/\//)
  })

  it('answers a 500 with the same headers', async () => {
    const t = await testApp({ env: { ACCESS_TOKEN_TTL: 'soon' } })
    const res = await t.get('/health')
    expect(res.status).toBe(500)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('cache-control')).toBe('no-store')
  })
})
