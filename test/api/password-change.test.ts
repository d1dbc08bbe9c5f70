import { describe, expect, it } from 'vitest'
import { testApp } from '../support/app'
import type { TestApp } from '../support/app'
import { problem } from '../support/errors'

const NEW_PASSWORD = 'a brand new passphrase'

async function loginAs(t: TestApp, email: string, password: string) {
  const res = await t.post('/api/v1/auth/login', { email, password })
  expect(res.status).toBe(200)
  return (await res.json()) as { access_token: string; refresh_token: string }
}

describe('POST /api/v1/auth/password', () => {
  it('changes the password, ends every other session and keeps the current one', async () => {
    const t = await testApp()
    const user = await t.register()
    const other = await loginAs(t, user.email, user.password)
    const current = await loginAs(t, user.email, user.password)

    const res = await t.post('/api/v1/auth/password', { current_password: user.password, new_password: NEW_PASSWORD }, current.access_token)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')

    expect((await t.get('/api/v1/auth/me', current.access_token)).status).toBe(200)
    expect((await t.post('/api/v1/auth/refresh', { refresh_token: current.refresh_token })).status).toBe(200)
    for (const session of [user, other]) {
      expect((await t.get('/api/v1/auth/me', session.access_token)).status).toBe(401)
      expect((await t.post('/api/v1/auth/refresh', { refresh_token: session.refresh_token })).status).toBe(401)
    }
    expect((await t.post('/api/v1/auth/login', { email: user.email, password: user.password })).status).toBe(401)
    expect((await t.post('/api/v1/auth/login', { email: user.email, password: NEW_PASSWORD })).status).toBe(200)
  })

  it('refuses a wrong current password with 401 and changes nothing', async () => {
    const t = await testApp()
    const user = await t.register()
    const other = await loginAs(t, user.email, user.password)
    const res = await t.post('/api/v1/auth/password', { current_password: 'not my password', new_password: NEW_PASSWORD }, user.access_token)
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual(problem(401, 'invalid_credentials', 'The current password is incorrect.'))
    expect((await t.get('/api/v1/auth/me', other.access_token)).status).toBe(200)
    expect((await t.post('/api/v1/auth/login', { email: user.email, password: user.password })).status).toBe(200)
  })

  it('counts wrong current passwords toward the account lock, so a stolen token cannot guess the password', async () => {
    const t = await testApp()
    const user = await t.register()
    for (let i = 0; i < 5; i++)
      expect((await t.post('/api/v1/auth/password', { current_password: `guess ${i}!`, new_password: NEW_PASSWORD }, user.access_token)).status).toBe(401)
    const right = await t.post('/api/v1/auth/password', { current_password: user.password, new_password: NEW_PASSWORD }, user.access_token)
    expect(right.status).toBe(429)
    expect(right.headers.get('Retry-After')).toBe('30')
    expect((await t.post('/api/v1/auth/login', { email: user.email, password: user.password })).status).toBe(429)
  })

  it('validates the new password like registration does', async () => {
    const t = await testApp()
    const user = await t.register()
    const res = await t.post('/api/v1/auth/password', { current_password: user.password, new_password: 'short' }, user.access_token)
    expect(res.status).toBe(422)
    expect(await res.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: 'new_password', message: 'must be at least 8 characters' }] })
    expect((await t.post('/api/v1/auth/password', { current_password: user.password, new_password: NEW_PASSWORD })).status).toBe(401)
  })
})
