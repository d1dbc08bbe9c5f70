import { createLocalJWKSet, jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { testApp } from '../support/app'
import { TEST_ISSUER, testRsaKey } from '../support/keys'

describe('service endpoints', () => {
  it('GET /health reports the database', async () => {
    const t = await testApp()
    const res = await t.get('/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok', database: 'ok' })
  })

  it('GET /.well-known/jwks.json publishes the public key only, and it verifies our tokens', async () => {
    const t = await testApp()
    const res = await t.get('/.well-known/jwks.json')
    expect(res.status).toBe(200)
    const jwks = await res.json()
    const { n, e } = (await testRsaKey()).public
    expect(jwks).toEqual({ keys: [{ kty: 'RSA', n, e, kid: 'test-rs256', alg: 'RS256', use: 'sig' }] })
    const account = await t.register()
    const { payload } = await jwtVerify(account.access_token, createLocalJWKSet(jwks), { issuer: TEST_ISSUER, algorithms: ['RS256'], currentDate: t.clock.now() })
    expect(payload).toMatchObject({ sub: account.user_id, org: account.organization_id, business_id: account.organization_id })
  })

  it('GET /openapi.json describes every route as OpenAPI 3.1', async () => {
    const t = await testApp()
    const doc = await (await t.get('/openapi.json')).json()
    expect(doc.openapi).toBe('3.1.0')
    const { routes } = await import('../../functions/routes')
    for (const [method, path] of routes) expect(doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method], `${method} ${path}`).toBeDefined()
    const register = doc.paths['/api/v1/auth/register'].post
    expect(register.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: ['email', 'password', 'full_name', 'organization_name'],
    })
    expect(Object.keys(register.responses)).toEqual(expect.arrayContaining(['201', '400', '422']))
    expect(doc.paths['/v1/me'].get.responses['200'].content['application/json'].schema.properties.data).toBeDefined()
  })

  it('GET /openapi.json is complete enough to generate a client from', async () => {
    const t = await testApp()
    // app.request's URL is http://localhost/…: the document names the origin it was fetched from.
    const doc = await (await t.get('/openapi.json')).json()
    expect(doc.servers).toEqual([{ url: 'http://localhost' }])
    const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ where: `${method} ${path}`, ...op })),
    )
    const ids = operations.map((op) => op.operationId)
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]+$/.test(id))).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
    for (const op of operations) {
      for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
        if (Number(status) < 400) continue
        const [type] = Object.keys(response.content ?? {})
        expect(type, `${op.where} ${status}`).toBe(op.where.includes(' /v1/') ? 'application/json' : 'application/problem+json')
      }
      expect(op.responses['500'], op.where).toBeDefined()
    }
    const events = operations.find((op) => op.where === 'get /api/v1/auth/events')
    expect(events.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(['query:limit', 'query:cursor'])
    const members = operations.find((op) => op.where === 'get /api/v1/org/members')
    expect(members.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(['query:limit', 'query:offset'])
    expect(operations.find((op) => op.where === 'delete /api/v1/org/members/{user_id}').operationId).toBe('deleteOrgMembersByUserId')
  })

  it('GET /docs serves the interactive reference', async () => {
    const t = await testApp()
    const res = await t.get('/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/)
    expect(await res.text()).toContain('data-url="/openapi.json"')
  })

  it('refuses to serve with an HS256 secret shorter than 32 bytes, and says nothing of why on the wire', async () => {
    const t = await testApp({ env: { JWT_ALG: 'HS256', JWT_KEYS: JSON.stringify([{ kty: 'oct', kid: 'hs', k: 'c2hvcnQ' }]) } })
    const res = await t.get('/health')
    expect(res.status).toBe(500)
    expect(await res.json()).toEqual({
      type: '/docs#error-internal_error',
      title: 'Internal Server Error',
      status: 500,
      detail: 'An unexpected error occurred.',
      code: 'internal_error',
      // The only addition: the id that finds the log line (which has the reason).
      request_id: res.headers.get('x-request-id'),
    })
  })
})

describe('HS256 configuration', () => {
  it('signs and verifies with the shared secret and publishes no key', async () => {
    const k = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
    const t = await testApp({ env: { JWT_ALG: 'HS256', JWT_KEYS: JSON.stringify([{ kty: 'oct', kid: 'hs-1', k }]) } })
    const account = await t.register()
    const [header] = account.access_token.split('.')
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' })
    expect((await t.get('/api/v1/auth/me', account.access_token)).status).toBe(200)
    expect(await (await t.get('/.well-known/jwks.json')).json()).toEqual({ keys: [] })
    // An RS256 deployment does not accept it, even sharing the database.
    const rs = await testApp()
    expect((await rs.get('/api/v1/auth/me', account.access_token)).status).toBe(401)
  })
})
