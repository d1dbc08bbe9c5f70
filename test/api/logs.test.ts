import { describe, expect, it } from 'vitest'
import { testApp } from '../support/app'
import type { LogLine } from '../support/logs'

const lineOf = (logs: LogLine[], requestId: string | null) => {
  const lines = logs.filter((line) => line.request_id === requestId && line.message.startsWith('request'))
  expect(lines).toHaveLength(1)
  return lines[0]!
}

describe('structured logs and request ids', () => {
  it('answers a 500 with an id that finds its log line, and the line says what failed', async () => {
    // A configuration the Worker cannot parse: every request is a 500.
    const t = await testApp({ env: { ACCESS_TOKEN_TTL: 'soon' } })
    const res = await t.get('/api/v1/auth/me')
    expect(res.status).toBe(500)
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(await res.json()).toEqual({
      type: '/docs#error-internal_error',
      title: 'Internal Server Error',
      status: 500,
      detail: 'An unexpected error occurred.',
      code: 'internal_error',
      request_id: id,
    })
    const line = lineOf(t.logs, id)
    expect(line).toMatchObject({ level: 'error', method: 'GET', status: 500, code: 'internal_error' })
    expect(line.error).toMatchObject({ name: 'Error', message: 'ACCESS_TOKEN_TTL must be a positive whole number of seconds' })
  })

  it("gives the /v1 dialect's 500 the same request_id, and keeps its envelope", async () => {
    const t = await testApp({ env: { ACCESS_TOKEN_TTL: 'soon' } })
    const res = await t.get('/v1/me')
    expect(res.status).toBe(500)
    const id = res.headers.get('x-request-id')
    expect(await res.json()).toEqual({ success: false, message: 'An unexpected error occurred.', request_id: id })
    expect(lineOf(t.logs, id).code).toBe('internal_error')
  })

  it("takes the id from CF-Ray, as Cloudflare's edge sets it", async () => {
    const t = await testApp()
    const res = await t.request('GET', '/health', undefined, { 'CF-Ray': '8f1c2d3e4a5b6c7d-LHR' })
    expect(res.headers.get('x-request-id')).toBe('8f1c2d3e4a5b6c7d-LHR')
    expect(lineOf(t.logs, '8f1c2d3e4a5b6c7d-LHR')).toMatchObject({ route: '/health', status: 200 })
  })

  it('does not copy a CF-Ray that is not an id into the log', async () => {
    const t = await testApp()
    const res = await t.request('GET', '/health', undefined, { 'CF-Ray': '"} {"level":"error' })
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(t.logs.every((line) => !JSON.stringify(line).includes('{\\"level'))).toBe(true)
  })

  it('writes one JSON line per request: route pattern, status, duration, user and organization, never the query', async () => {
    const t = await testApp()
    const account = await t.register()
    const res = await t.get('/api/v1/org/members?limit=5&offset=0', account.access_token)
    expect(res.status).toBe(200)
    const line = lineOf(t.logs, res.headers.get('x-request-id'))
    expect(line).toEqual({
      level: 'info',
      message: 'request',
      time: expect.any(String),
      request_id: res.headers.get('x-request-id'),
      method: 'GET',
      route: '/api/v1/org/members',
      status: 200,
      duration_ms: expect.any(Number),
      user_id: account.user_id,
      org_id: account.organization_id,
    })
    const member = await t.delete(`/api/v1/org/members/${account.user_id}`, account.access_token)
    expect(lineOf(t.logs, member.headers.get('x-request-id'))).toMatchObject({ route: '/api/v1/org/members/:user_id' })
    expect(JSON.stringify(t.logs)).not.toContain('limit=5')
    expect(JSON.stringify(t.logs)).not.toContain('offset=0')
  })

  it('logs an error\'s code, and a library\'s reason as fields, not "[object Object]"', async () => {
    const t = await testApp()
    const account = await t.register()
    const [header, payload] = account.access_token.split('.')
    const forged = `${header}.${payload}.${'A'.repeat(342)}`
    const res = await t.get('/api/v1/auth/me', forged)
    expect(res.status).toBe(401)
    const line = lineOf(t.logs, res.headers.get('x-request-id'))
    expect(line).toMatchObject({ level: 'info', status: 401, code: 'token_invalid', internal: { name: 'JWSSignatureVerificationFailed' } })
    expect(JSON.stringify(t.logs)).not.toContain('[object Object]')
  })

  it("names who signed in on a sign-in's line", async () => {
    const t = await testApp()
    const account = await t.register()
    const login = await t.post('/api/v1/auth/login', { email: account.email, password: account.password })
    expect(lineOf(t.logs, login.headers.get('x-request-id'))).toMatchObject({
      route: '/api/v1/auth/login',
      status: 200,
      user_id: account.user_id,
      org_id: account.organization_id,
    })
    const wrong = await t.post('/api/v1/auth/login', { email: account.email, password: 'not the password at all' })
    const line = lineOf(t.logs, wrong.headers.get('x-request-id'))
    expect(line).toMatchObject({ status: 401, code: 'invalid_credentials' })
    expect(line).not.toHaveProperty('user_id')
  })

  it('names an unknown route as none, and its error code', async () => {
    const t = await testApp()
    const res = await t.get('/nowhere?secret=1')
    expect(res.status).toBe(404)
    expect(lineOf(t.logs, res.headers.get('x-request-id'))).toMatchObject({ route: null, status: 404, code: 'not_found' })
    expect(JSON.stringify(t.logs)).not.toContain('secret=1')
  })
})
