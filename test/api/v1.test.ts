import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { users } from '../../db/schema'
import { testApp, uniqueEmail } from '../support/app'
import { V1_UNAUTHENTICATED } from '../support/errors'
import { v1SignedIn } from '../support/bodies'

const password = 'correct horse battery staple'

describe('the /v1 dialect', () => {
  it('POST /v1/login answers in the envelope with token_type "Bearer"', async () => {
    const t = await testApp()
    const account = await t.register()
    const res = await t.post('/v1/login', { email: account.email, password })
    expect(res.status).toBe(200)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    expect(await res.json()).toEqual(v1SignedIn({ id: account.user_id, name: 'Ada Lovelace', email: account.email }))
  })

  it('answers wrong credentials with {success: false, message: "Unauthenticated."}, the same for an unknown email', async () => {
    const t = await testApp()
    const account = await t.register()
    const wrong = await t.post('/v1/login', { email: account.email, password: 'wrong password' })
    const unknown = await t.post('/v1/login', { email: uniqueEmail(), password: 'wrong password' })
    expect(wrong.status).toBe(401)
    expect(await wrong.json()).toEqual(V1_UNAUTHENTICATED)
    expect(unknown.status).toBe(401)
    expect(await unknown.json()).toEqual(V1_UNAUTHENTICATED)
  })

  it('answers validation errors with an errors map of field → messages', async () => {
    const t = await testApp()
    const res = await t.post('/v1/login', { email: 'nope', password: '' })
    expect(res.status).toBe(422)
    expect(await res.json()).toEqual({
      success: false,
      message: 'The request body did not pass validation.',
      errors: { email: ['must be an email address'], password: ['is required'] },
    })
  })

  it('answers malformed JSON with a 400 envelope', async () => {
    const t = await testApp()
    const res = await t.post('/v1/login', '{')
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ success: false, message: 'The request body is not valid JSON.' })
  })

  it('GET /v1/me describes the caller', async () => {
    const t = await testApp()
    const account = await t.register()
    const login = await (await t.post('/v1/login', { email: account.email, password })).json()
    const res = await t.get('/v1/me', login.data.token)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      success: true,
      data: {
        id: account.user_id,
        name: 'Ada Lovelace',
        email: account.email,
        business_id: account.organization_id,
        scopes: expect.arrayContaining(['profile:read', 'members:read']),
        two_factor_enabled: false,
      },
    })
  })

  it('GET /v1/me without a token is 401 "Unauthenticated."; an inactive account is 403', async () => {
    const t = await testApp()
    expect(await (await t.get('/v1/me')).json()).toEqual(V1_UNAUTHENTICATED)
    const account = await t.register()
    await t.db.update(users).set({ isActive: false }).where(eq(users.id, account.user_id))
    const res = await t.get('/v1/me', account.access_token)
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual({ success: false, message: 'The account is inactive.' })
  })

  it('POST /v1/refresh rotates and POST /v1/logout ends the session', async () => {
    const t = await testApp()
    const account = await t.register()
    const login = await (await t.post('/v1/login', { email: account.email, password })).json()
    const refreshed = await t.post('/v1/refresh', { refresh_token: login.data.refresh_token })
    expect(refreshed.status).toBe(200)
    const { data } = await refreshed.json()
    expect(data).toEqual({
      token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 86400,
      refresh_token: expect.any(String),
      user: { id: account.user_id, name: 'Ada Lovelace', email: account.email },
    })
    const out = await t.post('/v1/logout', undefined, data.token)
    expect(out.status).toBe(200)
    expect(await out.json()).toEqual({ success: true, data: { message: 'Logged out.' } })
    expect(await (await t.get('/v1/me', data.token)).json()).toEqual(V1_UNAUTHENTICATED)
  })

  it('accepts a token of either dialect on both', async () => {
    const t = await testApp()
    const account = await t.register()
    const v1 = await (await t.post('/v1/login', { email: account.email, password })).json()
    expect((await t.get('/api/v1/auth/me', v1.data.token)).status).toBe(200)
    expect((await t.get('/v1/me', account.access_token)).status).toBe(200)
    // Refresh tokens cross too.
    expect((await t.post('/api/v1/auth/refresh', { refresh_token: v1.data.refresh_token })).status).toBe(200)
    expect((await t.post('/v1/refresh', { refresh_token: account.refresh_token })).status).toBe(200)
  })

  it('answers an unknown /v1 route in the envelope', async () => {
    const t = await testApp()
    const res = await t.get('/v1/nothing')
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ success: false, message: 'No route for GET /v1/nothing.' })
  })
})
