import { describe, expect, it } from 'vitest'
import { testApp, uniqueEmail } from '../support/app'

// The floors of docs/edge-latency.md, counted at the relay: every SQL-over-HTTP request is
// one round trip to the database, and no hot path opens a WebSocket (a connection set-up
// plus a trip per statement).
describe('database round trips per request', () => {
  it('holds every hot path at its floor', async () => {
    const t = await testApp()
    const email = uniqueEmail()
    const password = 'correct horse battery staple'
    let registered: any
    const register = await t.roundTrips(async () => {
      const res = await t.post('/api/v1/auth/register', { email, password, full_name: 'Ada', organization_name: 'Engines' })
      expect(res.status).toBe(201)
      registered = await res.json()
    })
    let loggedIn: any
    const login = await t.roundTrips(async () => {
      const res = await t.post('/api/v1/auth/login', { email, password })
      expect(res.status).toBe(200)
      loggedIn = await res.json()
    })
    const token = loggedIn.access_token
    const expectOk = (path: string) => async () => expect((await t.get(path, token)).status).toBe(200)
    const refresh = await t.roundTrips(async () => {
      expect((await t.post('/api/v1/auth/refresh', { refresh_token: registered.refresh_token })).status).toBe(200)
    })
    expect({
      register,
      login,
      refresh,
      me: await t.roundTrips(expectOk('/api/v1/auth/me')),
      v1Me: await t.roundTrips(expectOk('/v1/me')),
      sessions: await t.roundTrips(expectOk('/api/v1/auth/sessions')),
      members: await t.roundTrips(expectOk('/api/v1/org/members')),
      jwks: await t.roundTrips(expectOk('/.well-known/jwks.json')),
    }).toEqual({
      register: { http: 2, webSockets: 0 },
      login: { http: 2, webSockets: 0 },
      refresh: { http: 1, webSockets: 0 },
      me: { http: 1, webSockets: 0 },
      v1Me: { http: 1, webSockets: 0 },
      sessions: { http: 1, webSockets: 0 },
      members: { http: 1, webSockets: 0 },
      jwks: { http: 0, webSockets: 0 },
    })
  })

  it('keeps a wrong password at two', async () => {
    const t = await testApp()
    const user = await t.register()
    const wrong = await t.roundTrips(async () => {
      expect((await t.post('/api/v1/auth/login', { email: user.email, password: 'wrong password here' })).status).toBe(401)
    })
    expect(wrong).toEqual({ http: 2, webSockets: 0 })
  })
})
