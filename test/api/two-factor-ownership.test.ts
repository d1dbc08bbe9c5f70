import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { oauthIdentities } from '../../db/schema'
import { resetTwoFactor } from '../../scripts/reset-2fa.mjs'
import { testApp } from '../support/app'
import type { TestApp, TestAppOptions } from '../support/app'
import { addMember, lastMailTo, registerVerifiedOwner } from '../support/org'
import { referenceTotp } from '../support/rfc6238'

// Turning 2FA on: the owner hears of it, a stolen token alone cannot do it (when the
// deployment asks), and nobody is locked out for good (issue #13 §3, §4).

const dev = (options: TestAppOptions = {}) => testApp({ ...options, env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example', ...options.env } })
const PASSWORD = 'correct horse battery staple'

/** The endpoints of 2FA in each dialect, and how each wraps its answer. */
const dialects = [
  { name: 'auth API', prefix: '/api/v1/auth/2fa', data: (body: any) => body },
  { name: '/v1', prefix: '/v1/2fa', data: (body: any) => body.data },
] as const

async function enableWith(t: TestApp, token: string, prefix: string, data: (body: any) => any, extra: object = {}) {
  const setup = await t.post(`${prefix}/setup`, Object.keys(extra).length ? extra : undefined, token)
  expect(setup.status).toBe(200)
  const { secret } = data(await setup.json())
  const enable = await t.post(`${prefix}/enable`, { code: referenceTotp(secret, t.clock.now()), ...extra }, token)
  expect(enable.status).toBe(200)
  t.clock.advance(30)
  return secret as string
}

async function mailSubjects(t: TestApp, to: string) {
  const res = await t.get(`/dev/mail?to=${encodeURIComponent(to)}`)
  return ((await res.json()) as { messages: { subject: string }[] }).messages.map((m) => m.subject)
}

const signIn = async (t: TestApp, email: string, password = PASSWORD) => (await t.post('/api/v1/auth/login', { email, password })).json()

describe('turning 2FA on and off', () => {
  for (const { name, prefix, data } of dialects) {
    it(`${name}: enabling ends every other session and mails the account; disabling mails too`, async () => {
      const t = await dev()
      const user = await t.register()
      const elsewhere = await signIn(t, user.email)
      const secret = await enableWith(t, user.access_token, prefix, data)
      expect((await t.get('/api/v1/auth/me', elsewhere.access_token)).status).toBe(401)
      expect((await t.post('/api/v1/auth/refresh', { refresh_token: elsewhere.refresh_token })).status).toBe(401)
      expect((await t.get('/api/v1/auth/me', user.access_token)).status).toBe(200)
      expect(await mailSubjects(t, user.email)).toContain('Two-factor authentication was turned on')

      const off = await t.post(`${prefix}/disable`, { code: referenceTotp(secret, t.clock.now()) }, user.access_token)
      expect(off.status).toBe(200)
      expect((await lastMailTo(t, user.email)).subject).toBe('Two-factor authentication was turned off')
    })
  }
})

describe('auth_time', () => {
  it('is the time of the session’s sign-in, and a refresh carries it over', async () => {
    const t = await testApp()
    const user = await t.register()
    const signedInAt = Math.floor(t.clock.now().getTime() / 1000)
    expect(decodeJwt(user.access_token)).toMatchObject({ auth_time: signedInAt, iat: signedInAt })
    t.clock.advance(3600)
    const refreshed = await (await t.post('/api/v1/auth/refresh', { refresh_token: user.refresh_token })).json()
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ auth_time: signedInAt, iat: signedInAt + 3600 })
    const v1 = await (await t.post('/v1/refresh', { refresh_token: refreshed.refresh_token })).json()
    expect(decodeJwt(v1.data.token)).toMatchObject({ auth_time: signedInAt })
  })
})

describe('TWO_FACTOR_REAUTH_SECONDS', () => {
  const strict = () => dev({ env: { TWO_FACTOR_REAUTH_SECONDS: '600' } })

  for (const { name, prefix, data } of dialects) {
    it(`${name}: an older sign-in cannot set up or enable 2FA without the password`, async () => {
      const t = await strict()
      const user = await t.register()
      t.clock.advance(601) // the access token (24 h) is still good; the sign-in is not recent
      const setup = await t.post(`${prefix}/setup`, undefined, user.access_token)
      expect(setup.status).toBe(403)
      const body = await setup.json()
      if (name === '/v1') expect(body).toEqual({ success: false, message: expect.stringContaining('recent sign-in') })
      else expect(body).toMatchObject({ status: 403, code: 'reauthentication_required' })
      const wrong = await t.post(`${prefix}/setup`, { password: 'not the password at all' }, user.access_token)
      expect(wrong.status).toBe(422)
      const ok = await t.post(`${prefix}/setup`, { password: PASSWORD }, user.access_token)
      expect(ok.status).toBe(200)
      const code = referenceTotp(data(await ok.json()).secret, t.clock.now())
      expect((await t.post(`${prefix}/enable`, { code }, user.access_token)).status).toBe(403)
      expect((await t.post(`${prefix}/enable`, { code, password: PASSWORD }, user.access_token)).status).toBe(200)
    })
  }

  it('a recent sign-in needs no password, and off (the default) keeps clients written to the contract working', async () => {
    const t = await strict()
    const user = await t.register()
    t.clock.advance(599)
    await enableWith(t, user.access_token, '/api/v1/auth/2fa', (b) => b)
    const relaxed = await dev()
    const other = await relaxed.register()
    relaxed.clock.advance(86_000)
    await enableWith(relaxed, other.access_token, '/api/v1/auth/2fa', (b) => b)
  })

  it('guards unlinking an identity too', async () => {
    const t = await strict()
    const user = await t.register()
    await t.db.insert(oauthIdentities).values({ provider: 'google', subject: `g-${user.user_id}`, userId: user.user_id, email: user.email })
    t.clock.advance(601)
    const res = await t.delete('/api/v1/auth/identities/google', user.access_token)
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ code: 'reauthentication_required' })
    const ok = await t.request('DELETE', '/api/v1/auth/identities/google', { password: PASSWORD }, t.bearer(user.access_token))
    expect(ok.status).toBe(204)
  })
})

describe('nobody is locked out for good', () => {
  it('an owner resets a member’s 2FA: audited, the member’s sessions end, the member is mailed', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const admin = await addMember(t, owner.access_token, 'admin')
    const member = await addMember(t, owner.access_token, 'member')
    await enableWith(t, member.access_token, '/api/v1/auth/2fa', (b) => b)
    const path = `/api/v1/org/members/${member.user_id}/2fa/reset`

    const byAdmin = await t.post(path, undefined, admin.access_token)
    expect(byAdmin.status).toBe(403)
    expect((await t.post(`/api/v1/org/members/${owner.user_id}/2fa/reset`, undefined, owner.access_token)).status).toBe(403)
    const stranger = await registerVerifiedOwner(t)
    expect((await t.post(path, undefined, stranger.access_token)).status).toBe(404)

    expect((await t.post(path, undefined, owner.access_token)).status).toBe(204)
    expect((await t.get('/api/v1/auth/me', member.access_token)).status).toBe(401)
    expect((await lastMailTo(t, member.email)).subject).toBe('Two-factor authentication was turned off by an owner of your organization')
    const back = await signIn(t, member.email, member.password)
    expect(back).toHaveProperty('access_token')
    const events = (await (await t.get('/api/v1/auth/events', back.access_token)).json()).events
    expect(events).toContainEqual(expect.objectContaining({ type: 'two_factor_reset', outcome: 'success', detail: { by: owner.user_id, sessions_ended: 1 } }))
    expect((await t.post(path, undefined, owner.access_token)).status).toBe(409)
  })

  it('npm run 2fa:reset turns off the last owner’s 2FA and ends their sessions', async () => {
    const t = await dev()
    const owner = await t.register()
    await enableWith(t, owner.access_token, '/api/v1/auth/2fa', (b) => b)
    // t.db runs over neon-http: its client's query answers the rows themselves, the script expects `{ rows }`.
    const query = async (text: string, params: unknown[]) => ({ rows: await (t.db as any).$client.query(text, params) })
    expect(await resetTwoFactor(query, ` ${owner.email.toUpperCase()} `)).toEqual({ found: true, reset: true, sessionsEnded: 1 })
    expect((await t.get('/api/v1/auth/me', owner.access_token)).status).toBe(401)
    const back = await signIn(t, owner.email)
    expect(back).toHaveProperty('access_token')
    const events = (await (await t.get('/api/v1/auth/events', back.access_token)).json()).events
    expect(events).toContainEqual(expect.objectContaining({ type: 'two_factor_reset', detail: { by: 'operator', sessions_ended: 1 } }))
    expect(await resetTwoFactor(query, owner.email)).toEqual({ found: true, reset: false, sessionsEnded: 0 })
    expect(await resetTwoFactor(query, 'nobody@example.com')).toEqual({ found: false, reset: false, sessionsEnded: 0 })
  })
})

describe('a pending 2FA challenge dies with the password it was opened with', () => {
  for (const verifyPath of ['/api/v1/auth/2fa/verify', '/v1/2fa/verify']) {
    it(`after a password change (${verifyPath})`, async () => {
      const t = await dev()
      const user = await t.register()
      const secret = await enableWith(t, user.access_token, '/api/v1/auth/2fa', (b) => b)
      const { session_token } = await signIn(t, user.email) // someone who knows the old password
      const changed = await t.post('/api/v1/auth/password', { current_password: PASSWORD, new_password: 'a brand new passphrase' }, user.access_token)
      expect(changed.status).toBe(204)
      const res = await t.post(verifyPath, { session_token, code: referenceTotp(secret, t.clock.now()) })
      expect(res.status).toBe(401)
    })
  }

  it('after a password reset', async () => {
    const t = await dev()
    const user = await t.register()
    const secret = await enableWith(t, user.access_token, '/api/v1/auth/2fa', (b) => b)
    const { session_token } = await signIn(t, user.email)
    await t.post('/api/v1/auth/password/forgot', { email: user.email })
    const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec((await lastMailTo(t, user.email)).text)![1]
    expect((await t.post('/api/v1/auth/password/reset', { token, password: 'a brand new passphrase' })).status).toBe(204)
    const res = await t.post('/api/v1/auth/2fa/verify', { session_token, code: referenceTotp(secret, t.clock.now()) })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ code: 'challenge_invalid' })
  })
})
