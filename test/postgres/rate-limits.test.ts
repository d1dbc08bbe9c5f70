import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { rateLimits, webauthnChallenges } from '../../db/schema'
import { TestClock, testApp, uniqueEmail, uniqueIp } from '../support/app'
import type { TestApp } from '../support/app'
import { problem } from '../support/errors'
import { referenceTotp } from '../support/rfc6238'
import { withTwoFactor } from '../support/two-factor'

// The counters are single statements (INSERT … ON CONFLICT … RETURNING): these tests hold
// them to exact counts under requests a real server runs at the same time.

const WRONG = 'not the password at all'

const login = (t: TestApp, email: string, password: string) => t.request('POST', '/api/v1/auth/login', { email, password })

const counterOf = async (t: TestApp, key: string) => (await t.db.select().from(rateLimits).where(eq(rateLimits.key, key)))[0]

describe('counters shared by every request and isolate', () => {
  it('counts 20 concurrent failed logins exactly 20', async () => {
    const t = await testApp({ env: { LOCKOUT_AFTER_FAILURES: '21', RATE_LIMIT_LOGIN_PER_IP: '100/60' } })
    const { email } = await t.register()
    const results = await Promise.all(Array.from({ length: 20 }, () => login(t, email, WRONG)))
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(401))
    expect((await counterOf(t, `login:account:${email}`))?.count).toBe(20)

    expect((await login(t, email, WRONG)).status).toBe(401)
    expect((await login(t, email, WRONG)).status).toBe(429)
  })

  it('admits exactly 5 of 20 concurrent wrong passwords under the default lock', async () => {
    const t = await testApp()
    const { email } = await t.register()
    const results = await Promise.all(Array.from({ length: 20 }, () => login(t, email, WRONG)))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(15).fill(429)])
    expect((await counterOf(t, `login:account:${email}`))?.count).toBe(5)
  })

  it('shares the account lock and the IP limit between two app instances over one database', async () => {
    const clock = new TestClock()
    const ip = uniqueIp()
    const env = { RATE_LIMIT_LOGIN_PER_IP: '8/60' }
    const one = await testApp({ clock, ip, env })
    const two = await testApp({ clock, ip, env })
    const { email, password } = await one.register()

    for (const t of [one, two, one, two, one]) expect((await login(t, email, WRONG)).status).toBe(401)
    const locked = await login(two, email, password)
    expect([locked.status, locked.headers.get('Retry-After')]).toEqual([429, '30'])

    // Six hits so far from this IP across both instances; two more fill the window of 8.
    expect((await login(one, uniqueEmail(), WRONG)).status).toBe(401)
    expect((await login(two, uniqueEmail(), WRONG)).status).toBe(401)
    const overIp = await login(one, uniqueEmail(), WRONG)
    expect([overIp.status, overIp.headers.get('Retry-After')]).toEqual([429, '60'])
    expect(await overIp.json()).toEqual(problem(429, 'rate_limited', 'Too many requests. Try again in 60 seconds.'))
  })
})

// A secret checked against the caller's own account is admitted in the session check's batch
// (core/rate-limit.ts `callerAttemptStatement`): the same exact counts under concurrency, and
// nothing counted for an ended session.
describe('attempts admitted with the session check', () => {
  const change = (t: TestApp, token: string, i: number) =>
    t.post('/api/v1/auth/password', { current_password: `${WRONG} ${i}`, new_password: 'a brand new passphrase' }, token)

  it('admits exactly 5 of 20 concurrent wrong current passwords at a password change', async () => {
    const t = await testApp()
    const user = await t.register()
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => change(t, user.access_token, i)))
    expect(results.map((r) => r.status).sort()).toEqual([...Array(5).fill(401), ...Array(15).fill(429)])
    expect((await counterOf(t, `login:account:${user.email}`))?.count).toBe(5)
  })

  it('counts nothing for 20 concurrent wrong current passwords sent with an ended session', async () => {
    const t = await testApp()
    const user = await t.register()
    expect((await t.post('/api/v1/auth/logout', undefined, user.access_token)).status).toBe(204)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => change(t, user.access_token, i)))
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(401))
    expect(await counterOf(t, `login:account:${user.email}`)).toBeUndefined()
    expect((await login(t, user.email, user.password)).status).toBe(200)
  })

  const passkeyOptions = (t: TestApp, token: string, i: number) => t.post('/api/v1/auth/passkeys/registration/options', { password: `${WRONG} ${i}` }, token)

  it('admits exactly 5 of 20 concurrent wrong passwords at passkey registration options after an old sign-in, and writes no challenge', async () => {
    const t = await testApp()
    const user = await t.register()
    t.clock.advance(601)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => passkeyOptions(t, user.access_token, i)))
    expect(results.map((r) => r.status).sort()).toEqual([...Array(5).fill(422), ...Array(15).fill(429)])
    expect((await counterOf(t, `login:account:${user.email}`))?.count).toBe(5)
    expect((await counterOf(t, `passkey_register:user:${user.user_id}`))?.count).toBe(20)
    expect(await t.db.select().from(webauthnChallenges).where(eq(webauthnChallenges.userId, user.user_id))).toEqual([])
  })

  it('counts nothing, neither attempt nor window, for 20 concurrent wrong passwords at passkey registration options with an ended session', async () => {
    const t = await testApp()
    const user = await t.register()
    expect((await t.post('/api/v1/auth/logout', undefined, user.access_token)).status).toBe(204)
    t.clock.advance(601)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => passkeyOptions(t, user.access_token, i)))
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(401))
    expect(await counterOf(t, `login:account:${user.email}`)).toBeUndefined()
    expect(await counterOf(t, `passkey_register:user:${user.user_id}`)).toBeUndefined()
  })

  it('admits exactly 5 of 20 concurrent wrong passwords at 2FA enable after an old sign-in, and no code', async () => {
    const t = await testApp({ env: { TWO_FACTOR_REAUTH_SECONDS: '300' } })
    const user = await t.register()
    const { secret } = await (await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).json()
    t.clock.advance(301)
    const code = referenceTotp(secret, t.clock.now())
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.post('/api/v1/auth/2fa/enable', { code, password: `${WRONG} ${i}` }, user.access_token)),
    )
    expect(results.map((r) => r.status).sort()).toEqual([...Array(5).fill(422), ...Array(15).fill(429)])
    expect((await counterOf(t, `login:account:${user.email}`))?.count).toBe(5)
    expect(await counterOf(t, `2fa:user:${user.user_id}`)).toBeUndefined()
  })

  it('admits exactly 10 of 20 concurrent wrong codes at 2FA enable after an old sign-in with the right password', async () => {
    const t = await testApp({ env: { TWO_FACTOR_REAUTH_SECONDS: '300', LOCKOUT_AFTER_FAILURES: '21' } })
    const user = await t.register()
    const { secret } = await (await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).json()
    t.clock.advance(301)
    const right = referenceTotp(secret, t.clock.now())
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    const results = await Promise.all(
      Array.from({ length: 20 }, () => t.post('/api/v1/auth/2fa/enable', { code: wrong, password: user.password }, user.access_token)),
    )
    expect(results.map((r) => r.status).sort()).toEqual([...Array(10).fill(422), ...Array(10).fill(429)])
    expect((await counterOf(t, `2fa:user:${user.user_id}`))?.count).toBe(10)
  })

  it('admits exactly 10 of 20 concurrent wrong codes at recovery-codes and disable', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.post(i % 2 ? '/api/v1/auth/2fa/recovery-codes' : '/api/v1/auth/2fa/disable', { code: user.wrong() }, user.access_token),
      ),
    )
    expect(results.map((r) => r.status).sort()).toEqual([...Array(10).fill(422), ...Array(10).fill(429)])
    expect((await counterOf(t, `2fa:user:${user.user_id}`))?.count).toBe(10)
  })
})
