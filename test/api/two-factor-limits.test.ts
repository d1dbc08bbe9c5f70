import { asc, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { authEvents } from '../../db/schema'
import { testApp, uniqueIp } from '../support/app'
import { challenge, verify, withTwoFactor } from '../support/two-factor'

// The account-level limits on 2FA codes (rate-limit.ts): one counter per user across all
// challenges and endpoints, escalating locks, reset only by a right code.

describe('2FA codes under the account lock', () => {
  it('counts wrong codes across challenges and logins, locks with an escalating Retry-After, and a right code resets', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    for (let i = 0; i < 2; i++) {
      // A right password opens a new challenge, but does not reset the 2FA counter.
      const token = await challenge(t, user)
      for (let j = 0; j < 5; j++) expect((await verify(t, token, user.wrong())).status).toBe(401)
    }
    const locked = await verify(t, await challenge(t, user), user.code())
    expect(locked.status).toBe(429)
    expect(locked.headers.get('Retry-After')).toBe('30')
    expect(await locked.json()).toMatchObject({ code: 'rate_limited', detail: 'Too many failed attempts. Try again in 30 seconds.' })

    t.clock.advance(30)
    const token = await challenge(t, user)
    expect((await verify(t, token, user.wrong())).status).toBe(401)
    const again = await verify(t, token, user.code())
    expect([again.status, again.headers.get('Retry-After')]).toEqual([429, '60'])

    t.clock.advance(60)
    expect((await verify(t, token, user.code())).status).toBe(200)
    // Reset: ten wrong codes are admitted again before the next lock.
    t.clock.advance(30)
    const statuses = []
    for (let i = 0; i < 2; i++) {
      const next = await challenge(t, user)
      for (let j = 0; j < 5; j++) statuses.push((await verify(t, next, user.wrong())).status)
    }
    expect(statuses).toEqual([...Array(10).fill(401)])
  })

  it('counts wrong codes at disable and recovery-codes on the same counter', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    for (let i = 0; i < 5; i++) expect((await t.post('/api/v1/auth/2fa/disable', { code: user.wrong() }, user.access_token)).status).toBe(422)
    for (let i = 0; i < 5; i++)
      expect((await t.post('/api/v1/auth/2fa/recovery-codes', { code: user.wrong() }, user.access_token)).status).toBe(422)
    expect((await verify(t, await challenge(t, user), user.code())).status).toBe(429)
    expect((await t.post('/api/v1/auth/2fa/disable', { code: user.code() }, user.access_token)).status).toBe(429)
  })

  it('limits 2FA verification per client IP', async () => {
    const t = await testApp({ ip: uniqueIp(), env: { RATE_LIMIT_TWO_FACTOR_PER_IP: '2/60' } })
    const user = await withTwoFactor(t)
    const token = await challenge(t, user)
    expect((await verify(t, token, user.wrong())).status).toBe(401)
    expect((await verify(t, token, user.wrong())).status).toBe(401)
    const third = await verify(t, token, user.code())
    expect([third.status, third.headers.get('Retry-After')]).toEqual([429, '60'])
  })
})

describe('2FA in the audit log', () => {
  it('records enabling, a wrong code, a recovery code used, regenerating and disabling, and never a secret or a code', async () => {
    const t = await testApp({ ip: uniqueIp() })
    const user = await withTwoFactor(t)
    const used: string[] = []
    const wrong = user.wrong()
    used.push(wrong)
    expect((await verify(t, await challenge(t, user), wrong)).status).toBe(401)
    const recovery = user.recoveryCodes[0]!
    used.push(recovery)
    const signedIn = await verify(t, await challenge(t, user), recovery)
    expect(signedIn.status).toBe(200)
    const { access_token } = (await signedIn.json()) as { access_token: string }
    const regenerate = user.code()
    used.push(regenerate)
    const regenerated = await t.post('/api/v1/auth/2fa/recovery-codes', { code: regenerate }, access_token)
    expect(regenerated.status).toBe(200)
    const { recovery_codes } = (await regenerated.json()) as { recovery_codes: string[] }
    t.clock.advance(30)
    const disableCode = user.code()
    used.push(disableCode)
    expect((await t.post('/api/v1/auth/2fa/disable', { code: disableCode }, access_token)).status).toBe(200)

    const rows = await t.db.select().from(authEvents).where(eq(authEvents.userId, user.user_id)).orderBy(asc(authEvents.id))
    expect(rows.map((r) => [r.type, r.outcome, r.detail])).toEqual([
      ['register', 'success', expect.any(Object)],
      ['two_factor_enabled', 'success', { other_sessions_ended: 0 }],
      ['login_first_factor', 'success', { method: 'password' }],
      ['two_factor_code', 'failure', { via: 'login' }],
      ['login_first_factor', 'success', { method: 'password' }],
      ['recovery_code_used', 'success', { via: 'login' }],
      ['login', 'success', { method: 'recovery_code', session_id: expect.any(String) }],
      ['recovery_codes_regenerated', 'success', null],
      ['two_factor_disabled', 'success', { proof: 'totp', other_sessions_ended: 1 }],
    ])
    for (const row of rows.slice(1)) expect(row).toMatchObject({ orgId: user.organization_id, ip: t.ip })

    const everything = JSON.stringify(await t.db.select().from(authEvents))
    for (const secret of [user.secret, user.password, ...used, ...user.recoveryCodes, ...recovery_codes])
      expect(everything).not.toContain(secret)
  })
})

describe('the password at /2fa/disable', () => {
  it('counts on the login counter: 5 wrong passwords there lock the login, not the 2FA codes', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    for (let i = 0; i < 5; i++)
      expect((await t.post('/api/v1/auth/2fa/disable', { password: 'not the password at all' }, user.access_token)).status).toBe(422)
    const login = await t.post('/api/v1/auth/login', { email: user.email, password: user.password })
    expect(login.status).toBe(429)
    expect(login.headers.get('Retry-After')).toBe('30')
    // The right password is not even checked during the lock, at disable either.
    expect((await t.post('/api/v1/auth/2fa/disable', { password: user.password }, user.access_token)).status).toBe(429)
    // The 2FA counter is untouched: a right code still works.
    expect((await t.post('/api/v1/auth/2fa/disable', { code: user.code() }, user.access_token)).status).toBe(200)
  })

  it('meets a lock that failed logins left', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    for (let i = 0; i < 5; i++) await t.post('/api/v1/auth/login', { email: user.email, password: 'not the password at all' })
    expect((await t.post('/api/v1/auth/2fa/disable', { password: user.password }, user.access_token)).status).toBe(429)
  })
})
