import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { authEvents, rateLimits, users } from '../../db/schema'
import { testApp, uniqueEmail, uniqueIp } from '../support/app'
import type { TestApp } from '../support/app'
import { lastMailTo } from '../support/org'
import { problem } from '../support/errors'

const WRONG = 'not the password at all'

const login = (t: TestApp, email: string, password: string, headers: Record<string, string> = {}) =>
  t.request('POST', '/api/v1/auth/login', { email, password }, headers)

const lockedBody = (seconds: number) => (problem(429, 'rate_limited', `Too many failed attempts. Try again in ${seconds} seconds.`))

async function failures(t: TestApp, email: string, n: number): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) statuses.push((await login(t, email, WRONG)).status)
  return statuses
}

const counterOf = async (t: TestApp, key: string) =>
  (await t.db.select().from(rateLimits).where(eq(rateLimits.key, key)))[0]

describe('per-account lock on POST /api/v1/auth/login', () => {
  it('locks an account after 5 failures, with a Retry-After that doubles at each further failure', async () => {
    const t = await testApp()
    const { email } = await t.register()
    expect(await failures(t, email, 5)).toEqual([401, 401, 401, 401, 401])

    const locked = await login(t, email, WRONG)
    expect(locked.status).toBe(429)
    expect(locked.headers.get('Retry-After')).toBe('30')
    expect(locked.headers.get('Content-Type')).toBe('application/problem+json')
    expect(await locked.json()).toEqual(lockedBody(30))

    t.clock.advance(10)
    expect((await login(t, email, WRONG)).headers.get('Retry-After')).toBe('20')

    t.clock.advance(20)
    expect((await login(t, email, WRONG)).status).toBe(401)
    const second = await login(t, email, WRONG)
    expect([second.status, second.headers.get('Retry-After')]).toEqual([429, '60'])

    t.clock.advance(60)
    expect((await login(t, email, WRONG)).status).toBe(401)
    const third = await login(t, email, WRONG)
    expect([third.status, third.headers.get('Retry-After')]).toEqual([429, '120'])
  })

  it('gives the right password no token during a lock, and a token once the lock ends', async () => {
    const t = await testApp()
    const { email, password } = await t.register()
    await failures(t, email, 5)

    const during = await login(t, email, password)
    expect(during.status).toBe(429)
    expect(await during.json()).toEqual(lockedBody(30))

    t.clock.advance(30)
    const after = await login(t, email, password)
    expect(after.status).toBe(200)
    expect(await after.json()).toHaveProperty('access_token')
  })

  it('locks an unknown email exactly as a known one, so a lock reveals nothing', async () => {
    const t = await testApp()
    const { email: known } = await t.register()
    const unknown = uniqueEmail('nobody')
    const trace = async (email: string) => {
      const out = []
      for (let i = 0; i < 7; i++) {
        if (i === 6) t.clock.advance(12)
        const res = await login(t, email, WRONG)
        out.push({ status: res.status, retryAfter: res.headers.get('Retry-After'), body: await res.json() })
      }
      return out
    }
    const knownTrace = await trace(known)
    t.clock.advance(-12)
    const unknownTrace = await trace(unknown)
    expect(unknownTrace).toEqual(knownTrace)
    expect(knownTrace.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429, 429])
    expect(knownTrace[6]!.retryAfter).toBe('18')
  })

  it('keys the lock on the normalized email: case and spaces do not open a new counter', async () => {
    const t = await testApp()
    const { email } = await t.register()
    await failures(t, email, 5)
    expect((await login(t, `  ${email.toUpperCase()} `, WRONG)).status).toBe(429)
  })

  it('forgets the failures after a success', async () => {
    const t = await testApp()
    const { email, password } = await t.register()
    expect(await failures(t, email, 4)).toEqual([401, 401, 401, 401])
    expect((await login(t, email, password)).status).toBe(200)
    expect(await failures(t, email, 6)).toEqual([401, 401, 401, 401, 401, 429])
  })

  it('never admits more consecutive failures than the hard limit, however long the wait', async () => {
    const t = await testApp({
      env: { LOCKOUT_AFTER_FAILURES: '2', LOCKOUT_BASE_SECONDS: '1', LOCKOUT_MAX_SECONDS: '4', LOCKOUT_HARD_LIMIT: '6' },
    })
    const { email, password } = await t.register()
    let admitted = 0
    for (let i = 0; i < 20; i++) {
      const res = await login(t, email, WRONG)
      if (res.status === 401) admitted++
      t.clock.advance(5)
    }
    expect(admitted).toBe(6)

    t.clock.advance(7 * 86_400)
    const right = await login(t, email, password)
    expect(right.status).toBe(429)
    expect(right.headers.get('Retry-After')).toBe('4')
    expect(await right.json()).toEqual({
      ...lockedBody(0),
      detail: 'Too many failed attempts. The account stays locked until its password is reset.',
    })
  })

  it('answers the /v1 dialect with its envelope and Retry-After', async () => {
    const t = await testApp()
    const { email, password } = await t.register()
    for (let i = 0; i < 5; i++) await t.post('/v1/login', { email, password: WRONG })
    const res = await t.post('/v1/login', { email, password })
    expect(res.status).toBe(429)
    expect(res.headers.get('Retry-After')).toBe('30')
    expect(await res.json()).toEqual({ success: false, message: 'Too Many Attempts.' })
  })

  it('counts both dialects on one counter', async () => {
    const t = await testApp()
    const { email } = await t.register()
    await failures(t, email, 3)
    for (let i = 0; i < 2; i++) expect((await t.post('/v1/login', { email, password: WRONG })).status).toBe(401)
    expect((await login(t, email, WRONG)).status).toBe(429)
  })

  it('answers an inactive account’s right password 403, and a wrong one the same 401 as anyone else', async () => {
    const t = await testApp()
    const { email, password, user_id } = await t.register()
    await t.db.update(users).set({ isActive: false }).where(eq(users.id, user_id))

    const wrong = await login(t, email, WRONG)
    const unknown = await login(t, uniqueEmail('nobody'), WRONG)
    expect(wrong.status).toBe(401)
    expect(await wrong.json()).toEqual(await unknown.json())

    const right = await login(t, email, password)
    expect(right.status).toBe(403)
    expect(await right.json()).toEqual(problem(403, 'account_inactive', 'The account is inactive.'))
  })
})

describe('per-IP limits', () => {
  it('limits logins per CF-Connecting-IP; a spoofed X-Forwarded-For does not reset the count', async () => {
    const t = await testApp({ ip: uniqueIp(), env: { RATE_LIMIT_LOGIN_PER_IP: '3/60' } })
    for (let i = 0; i < 3; i++) expect((await login(t, uniqueEmail(), WRONG)).status).toBe(401)
    const spoofed = await login(t, uniqueEmail(), WRONG, {
      'X-Forwarded-For': '198.51.100.1',
      'X-Real-IP': '198.51.100.2',
      'True-Client-IP': '198.51.100.3',
      Forwarded: 'for=198.51.100.4',
    })
    expect(spoofed.status).toBe(429)
    expect(spoofed.headers.get('Retry-After')).toBe('60')

    // Another address is another client; the window ends after 60 s.
    expect((await login(t, uniqueEmail(), WRONG, { 'CF-Connecting-IP': uniqueIp() })).status).toBe(401)
    t.clock.advance(45)
    expect((await login(t, uniqueEmail(), WRONG)).headers.get('Retry-After')).toBe('15')
    t.clock.advance(15)
    expect((await login(t, uniqueEmail(), WRONG)).status).toBe(401)
  })

  it('counts requests without CF-Connecting-IP in one shared bucket', async () => {
    const t = await testApp({ ip: null, env: { RATE_LIMIT_LOGIN_PER_IP: '2/60' } })
    expect((await login(t, uniqueEmail(), WRONG)).status).toBe(401)
    expect((await login(t, uniqueEmail(), WRONG, { 'X-Forwarded-For': '198.51.100.9' })).status).toBe(401)
    expect((await login(t, uniqueEmail(), WRONG, { 'X-Forwarded-For': '198.51.100.10' })).status).toBe(429)
    expect(await counterOf(t, 'login:ip:unknown')).toMatchObject({ count: 3 })
  })

  it('limits registrations per IP before any password is hashed', async () => {
    const t = await testApp({ ip: uniqueIp(), env: { RATE_LIMIT_REGISTER_PER_IP: '2/3600' } })
    const input = () => ({ email: uniqueEmail(), password: 'correct horse battery staple', full_name: 'A', organization_name: 'O' })
    expect((await t.post('/api/v1/auth/register', input())).status).toBe(201)
    expect((await t.post('/api/v1/auth/register', input())).status).toBe(201)
    const third = await t.post('/api/v1/auth/register', input())
    expect(third.status).toBe(429)
    expect(third.headers.get('Retry-After')).toBe('3600')
  })

  it('limits OAuth callbacks per IP before any provider is called', async () => {
    const t = await testApp({ ip: uniqueIp(), env: { RATE_LIMIT_OAUTH_PER_IP: '2/60' } })
    const callback = { provider: 'google', code: 'a-code', redirect_uri: 'https://app.example/callback' }
    for (let i = 0; i < 2; i++) expect((await t.post('/api/v1/auth/oauth/callback', callback)).status).toBe(422)
    const third = await t.post('/api/v1/auth/oauth/callback', callback)
    expect(third.status).toBe(429)
    expect(third.headers.get('Retry-After')).toBe('60')
  })

  it('limits refreshes per IP in both dialects', async () => {
    const t = await testApp({ ip: uniqueIp(), env: { RATE_LIMIT_REFRESH_PER_IP: '2/60' } })
    const { refresh_token } = await t.register()
    const first = await t.post('/api/v1/auth/refresh', { refresh_token })
    expect(first.status).toBe(200)
    const second = await t.post('/v1/refresh', { refresh_token: ((await first.json()) as { refresh_token: string }).refresh_token })
    expect(second.status).toBe(200)
    const third = await t.post('/v1/refresh', { refresh_token: 'anything' })
    expect(third.status).toBe(429)
    expect(await third.json()).toEqual({ success: false, message: 'Too Many Attempts.' })
  })
})

describe('password reset', () => {
  const dev = (options: Parameters<typeof testApp>[0] = {}) =>
    testApp({ ...options, env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example', ...options.env } })
  const mails = async (t: TestApp, to: string) =>
    ((await (await t.get(`/dev/mail?to=${encodeURIComponent(to)}`)).json()) as { messages: unknown[] }).messages.length

  it('stops mailing one address after 3 requests an hour, still answering 202, for known and unknown addresses alike', async () => {
    const t = await dev()
    const { email } = await t.register()
    const unknown = uniqueEmail('nobody')
    for (let i = 0; i < 5; i++) {
      expect((await t.post('/api/v1/auth/password/forgot', { email })).status).toBe(202)
      expect((await t.post('/api/v1/auth/password/forgot', { email: unknown })).status).toBe(202)
    }
    // Registration sent a verification mail; three reset mails followed, then nothing.
    expect(await mails(t, email)).toBe(4)
    expect(await counterOf(t, `password_forgot:email:${unknown}`)).toMatchObject({ count: 5 })
    t.clock.advance(3600)
    expect((await t.post('/api/v1/auth/password/forgot', { email })).status).toBe(202)
    expect(await mails(t, email)).toBe(5)
  })

  it('limits forgot and reset requests per client IP together', async () => {
    const t = await dev({ ip: uniqueIp(), env: { RATE_LIMIT_PASSWORD_RESET_PER_IP: '3/900' } })
    expect((await t.post('/api/v1/auth/password/forgot', { email: uniqueEmail() })).status).toBe(202)
    expect((await t.post('/api/v1/auth/password/forgot', { email: uniqueEmail() })).status).toBe(202)
    expect((await t.post('/api/v1/auth/password/reset', { token: 'x'.repeat(43), password: 'a new passphrase' })).status).toBe(400)
    const limited = await t.post('/api/v1/auth/password/reset', { token: 'x'.repeat(43), password: 'a new passphrase' })
    expect([limited.status, limited.headers.get('Retry-After')]).toEqual([429, '900'])
    expect((await t.post('/api/v1/auth/password/forgot', { email: uniqueEmail() })).status).toBe(429)
  })

  it('lifts the account lock, the hard one included, and is audited', async () => {
    const t = await dev({ env: { LOCKOUT_AFTER_FAILURES: '2', LOCKOUT_HARD_LIMIT: '3' } })
    const user = await t.register()
    await failures(t, user.email, 3)
    expect((await login(t, user.email, user.password)).status).toBe(429)

    await t.post('/api/v1/auth/password/forgot', { email: user.email })
    const token = /reset-password\?token=([A-Za-z0-9_-]{43})/.exec((await lastMailTo(t, user.email)).text)![1]!
    expect((await t.post('/api/v1/auth/password/reset', { token, password: 'a new passphrase' })).status).toBe(204)
    expect((await login(t, user.email, 'a new passphrase')).status).toBe(200)

    const [event] = await t.db.select().from(authEvents).where(eq(authEvents.type, 'password_reset'))
    expect(event).toMatchObject({ userId: user.user_id, orgId: user.organization_id, outcome: 'success', detail: { sessions_ended: 1 } })
    expect(JSON.stringify(event)).not.toContain(token)
  })
})
