import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { recoveryCodes, users } from '../../db/schema'
import { base32Encode } from '../../functions/core/totp'
import { testApp } from '../support/app'
import { referenceTotp } from '../support/rfc6238'
import { challenge, verify, withTwoFactor, wrongCode } from '../support/two-factor'
import { problem, V1_UNAUTHENTICATED } from '../support/errors'
import { signedIn, v1SignedIn } from '../support/bodies'

const RECOVERY_CODE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/

describe('2FA setup and enable', () => {
  it('stays off until a code from the new secret confirms it', async () => {
    const t = await testApp()
    const user = await t.register()
    expect(await (await t.get('/api/v1/auth/2fa/status', user.access_token)).json()).toEqual({
      enabled: false,
      recovery_codes_remaining: 0,
    })
    const res = await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)
    expect(res.status).toBe(200)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const body = (await res.json()) as { secret: string; otpauth_url: string; qr_code: string }
    expect(body).toEqual({
      secret: expect.stringMatching(/^[A-Z2-7]{32}$/), // 20 bytes
      otpauth_url: `otpauth://totp/Gatehouse:${encodeURIComponent(user.email)}?secret=${body.secret}&issuer=Gatehouse`,
      qr_code: expect.stringMatching(/^data:image\/svg\+xml;base64,/),
    })
    expect(atob(body.qr_code.split(',')[1]!)).toMatch(/^<svg[\s\S]*<\/svg>$/)

    // Not yet enabled: the password alone still signs in.
    const login = await t.post('/api/v1/auth/login', { email: user.email, password: user.password })
    expect(await login.json()).toHaveProperty('access_token')

    const wrong = await t.post('/api/v1/auth/2fa/enable', { code: wrongCode(referenceTotp(body.secret, t.clock.now())) }, user.access_token)
    expect(wrong.status).toBe(422)
    expect(await wrong.json()).toEqual({
      type: '/docs#error-invalid_code',
      title: 'Unprocessable Content',
      status: 422,
      detail: 'The code is incorrect or was already used.',
      code: 'invalid_code',
      errors: [{ field: 'code', message: 'is incorrect or was already used' }],
    })

    const enable = await t.post('/api/v1/auth/2fa/enable', { code: referenceTotp(body.secret, t.clock.now()) }, user.access_token)
    expect(enable.status).toBe(200)
    const enabled = (await enable.json()) as { enabled: true; recovery_codes: string[] }
    expect(enabled).toEqual({ enabled: true, recovery_codes: expect.any(Array) })
    expect(enabled.recovery_codes).toHaveLength(10)
    for (const code of enabled.recovery_codes) expect(code).toMatch(RECOVERY_CODE)
    expect(await (await t.get('/api/v1/auth/2fa/status', user.access_token)).json()).toEqual({
      enabled: true,
      recovery_codes_remaining: 10,
    })
  })

  it('uses the configured issuer in the otpauth URI', async () => {
    const t = await testApp({ env: { TOTP_ISSUER: 'Acme Cloud' } })
    const user = await t.register()
    const body = (await (await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).json()) as Record<string, string>
    expect(body.otpauth_url).toBe(`otpauth://totp/Acme%20Cloud:${encodeURIComponent(user.email)}?secret=${body.secret}&issuer=Acme%20Cloud`)
  })

  it('answers 409 to setup and enable once 2FA is on', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const setup = await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)
    expect(setup.status).toBe(409)
    expect(await setup.json()).toMatchObject({ code: 'two_factor_already_enabled' })
    const enable = await t.post('/api/v1/auth/2fa/enable', { code: user.code() }, user.access_token)
    expect(enable.status).toBe(409)
  })

  it('answers 409 to enable before any setup', async () => {
    const t = await testApp()
    const user = await t.register()
    const res = await t.post('/api/v1/auth/2fa/enable', { code: '123456' }, user.access_token)
    expect(res.status).toBe(409)
    expect(await res.json()).toMatchObject({ code: 'two_factor_not_enabled' })
  })

  it('keeps the secret encrypted and the recovery codes hashed in the database', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const [row] = await t.db.select().from(users).where(eq(users.id, user.user_id))
    const raw = Buffer.from(base32Decode(user.secret))
    expect(row!.totpKeyId).toBe('test-data-1')
    for (const plain of [user.secret, raw.toString('base64'), raw.toString('base64url'), raw.toString('hex')])
      expect(row!.totpSecret).not.toContain(plain)
    expect(row!.totpSecret!.length).toBeGreaterThan(40) // IV + ciphertext + tag

    const stored = await t.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, user.user_id))
    expect(stored).toHaveLength(10)
    const dump = JSON.stringify(stored)
    for (const code of user.recoveryCodes) {
      expect(dump).not.toContain(code)
      expect(dump).not.toContain(code.replace(/-/g, ''))
    }
  })
})

describe('the two-step login', () => {
  it('answers a 2FA user only a challenge, in both dialects, and never a token', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const api = await t.post('/api/v1/auth/login', { email: user.email, password: user.password })
    expect(api.status).toBe(200)
    expect(await api.json()).toEqual({ requires_2fa: true, session_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) })
    const v1 = await t.post('/v1/login', { email: user.email, password: user.password })
    expect(v1.status).toBe(200)
    expect(await v1.json()).toEqual({ success: true, data: { requires_2fa: true, session_token: expect.any(String) } })
  })

  it('completes in the auth API with a TOTP code', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const res = await verify(t, await challenge(t, user), user.code())
    expect(res.status).toBe(200)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const body = (await res.json()) as Record<string, string>
    expect(body).toEqual(signedIn({ user_id: user.user_id, email: user.email, full_name: user.full_name, organization_id: user.organization_id, organization_name: user.organization_name }))
    expect((await t.get('/api/v1/auth/me', body.access_token)).status).toBe(200)
  })

  it('completes in the /v1 dialect with a TOTP code, answering what /v1/login does', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const res = await t.post('/v1/2fa/verify', { session_token: await challenge(t, user, '/v1/login'), code: user.code() })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { data: { token: string } }
    expect(body).toEqual(v1SignedIn({ id: user.user_id, name: user.full_name, email: user.email }))
    const me = await t.get('/v1/me', body.data.token)
    expect(await me.json()).toMatchObject({ success: true, data: { two_factor_enabled: true } })
  })

  it('completes with a recovery code in both dialects, each code once', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const [first, second] = user.recoveryCodes as [string, string]
    expect((await verify(t, await challenge(t, user), first)).status).toBe(200)
    // Typed loosely: lower case, no hyphens.
    const v1 = await t.post('/v1/2fa/verify', {
      session_token: await challenge(t, user, '/v1/login'),
      code: second.toLowerCase().replace(/-/g, ''),
    })
    expect(v1.status).toBe(200)

    const again = await verify(t, await challenge(t, user), first)
    expect(again.status).toBe(401)
    expect(await again.json()).toMatchObject({ code: 'invalid_code' })
    expect(await (await t.get('/api/v1/auth/2fa/status', user.access_token)).json()).toEqual({
      enabled: true,
      recovery_codes_remaining: 8,
    })
  })

  it('refuses a TOTP code a second time within its step', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const code = user.code()
    expect((await verify(t, await challenge(t, user), code)).status).toBe(200)
    const replay = await verify(t, await challenge(t, user), code)
    expect(replay.status).toBe(401)
    expect(await replay.json()).toMatchObject({ code: 'invalid_code' })
  })

  it("refuses the previous step's code once a newer step was used", async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const older = user.code()
    t.clock.advance(30)
    // Both are inside the one-step drift window now; the newer one is used first.
    expect((await verify(t, await challenge(t, user), user.code())).status).toBe(200)
    expect((await verify(t, await challenge(t, user), older)).status).toBe(401)
  })

  it('refuses the code that enabled 2FA', async () => {
    const t = await testApp()
    const user = await t.register()
    const { secret } = (await (await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).json()) as { secret: string }
    const code = referenceTotp(secret, t.clock.now())
    expect((await t.post('/api/v1/auth/2fa/enable', { code }, user.access_token)).status).toBe(200)
    expect((await verify(t, await challenge(t, user), code)).status).toBe(401)
  })

  it('accepts one step of clock drift either way, as the reference implementation computes the codes', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const behind = referenceTotp(user.secret, new Date(t.clock.now().getTime() - 30_000))
    // The step before was spent by enable: a phone running 30 s late gets refused once...
    expect((await verify(t, await challenge(t, user), behind)).status).toBe(401)
    const ahead = referenceTotp(user.secret, new Date(t.clock.now().getTime() + 30_000))
    expect((await verify(t, await challenge(t, user), ahead)).status).toBe(200)
    t.clock.advance(90)
    const late = referenceTotp(user.secret, new Date(t.clock.now().getTime() - 30_000))
    expect((await verify(t, await challenge(t, user), late)).status).toBe(200)
    const tooEarly = referenceTotp(user.secret, new Date(t.clock.now().getTime() + 60_000))
    expect((await verify(t, await challenge(t, user), tooEarly)).status).toBe(401)
  })

  it('spends a session_token on success: it never works twice', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const token = await challenge(t, user)
    expect((await verify(t, token, user.code())).status).toBe(200)
    t.clock.advance(30)
    const again = await verify(t, token, user.code())
    expect(again.status).toBe(401)
    expect(await again.json()).toMatchObject({ code: 'challenge_invalid' })
  })

  it('kills a session_token after 5 wrong codes, even for the right one after', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const token = await challenge(t, user)
    const wrong = wrongCode(user.code())
    for (let i = 0; i < 5; i++) {
      const res = await verify(t, token, wrong)
      expect(res.status).toBe(401)
      expect(await res.json()).toMatchObject({ code: 'invalid_code' })
    }
    const res = await verify(t, token, user.code())
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ code: 'challenge_invalid' })
    // A new login gets a new challenge, and the code still works there.
    expect((await verify(t, await challenge(t, user), user.code())).status).toBe(200)
  })

  it('refuses an expired session_token with a valid code', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const token = await challenge(t, user)
    t.clock.advance(5 * 60 + 1)
    const res = await verify(t, token, user.code())
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual(problem(401, 'challenge_invalid', 'The session token is invalid, expired, used, or out of attempts; log in again.'))
  })

  it('accepts a session_token just before its 5 minutes are up', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const token = await challenge(t, user)
    t.clock.advance(5 * 60 - 1)
    expect((await verify(t, token, user.code())).status).toBe(200)
  })

  it('never accepts a session_token as an access token', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const token = await challenge(t, user)
    for (const path of ['/api/v1/auth/me', '/v1/me', '/api/v1/auth/2fa/status']) expect((await t.get(path, token)).status).toBe(401)
  })

  it('answers 429 once the account has had 10 wrong codes across challenges', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const wrong = wrongCode(user.code())
    for (let i = 0; i < 10; i++) expect((await verify(t, await challenge(t, user), wrong)).status).toBe(401)
    const limited = await verify(t, await challenge(t, user), user.code())
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThan(0)
    expect(await limited.json()).toMatchObject({ code: 'rate_limited' })
    t.clock.advance(15 * 60)
    expect((await verify(t, await challenge(t, user), user.code())).status).toBe(200)
  })
})

describe('changing 2FA needs proof', () => {
  it('replaces the recovery codes for a current TOTP code; the old set stops working', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const wrong = await t.post('/api/v1/auth/2fa/recovery-codes', { code: wrongCode(user.code()) }, user.access_token)
    expect(wrong.status).toBe(422)
    const res = await t.post('/api/v1/auth/2fa/recovery-codes', { code: user.code() }, user.access_token)
    expect(res.status).toBe(200)
    const { recovery_codes } = (await res.json()) as { recovery_codes: string[] }
    expect(recovery_codes).toHaveLength(10)
    expect(recovery_codes.filter((c) => user.recoveryCodes.includes(c))).toEqual([])
    expect((await verify(t, await challenge(t, user), user.recoveryCodes[0]!)).status).toBe(401)
    expect((await verify(t, await challenge(t, user), recovery_codes[0]!)).status).toBe(200)
  })

  it('does not take a recovery code, nor a replayed TOTP code, for new recovery codes', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const recovery = await t.post('/api/v1/auth/2fa/recovery-codes', { code: user.recoveryCodes[0] }, user.access_token)
    expect(recovery.status).toBe(422)
    const code = user.code()
    expect((await verify(t, await challenge(t, user), code)).status).toBe(200)
    expect((await t.post('/api/v1/auth/2fa/recovery-codes', { code }, user.access_token)).status).toBe(422)
  })

  it('disables with the password, ending the other sessions but not this one', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const other = (await (await verify(t, await challenge(t, user), user.code())).json()) as { access_token: string }
    const wrong = await t.post('/api/v1/auth/2fa/disable', { password: 'not the password' }, user.access_token)
    expect(wrong.status).toBe(422)
    expect(await wrong.json()).toMatchObject({ code: 'invalid_credentials' })

    const res = await t.post('/api/v1/auth/2fa/disable', { password: user.password }, user.access_token)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ enabled: false })
    expect((await t.get('/api/v1/auth/me', other.access_token)).status).toBe(401)
    expect(await (await t.get('/api/v1/auth/2fa/status', user.access_token)).json()).toEqual({
      enabled: false,
      recovery_codes_remaining: 0,
    })
    const login = await t.post('/api/v1/auth/login', { email: user.email, password: user.password })
    expect(await login.json()).toHaveProperty('access_token')
    const [row] = await t.db.select().from(users).where(eq(users.id, user.user_id))
    expect(row).toMatchObject({ totpSecret: null, totpKeyId: null, totpEnabledAt: null, totpLastStep: null })
  })

  it('disables with a TOTP code or a recovery code, and kills pending challenges', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const pending = await challenge(t, user)
    expect((await t.post('/api/v1/auth/2fa/disable', { code: user.code() }, user.access_token)).status).toBe(200)
    expect((await verify(t, pending, user.recoveryCodes[0]!)).status).toBe(401)

    const again = await withTwoFactor(t)
    expect((await t.post('/v1/2fa/disable', { code: again.recoveryCodes[3] }, again.access_token)).status).toBe(200)
  })

  it('answers 409 to disable and recovery-codes when 2FA is off', async () => {
    const t = await testApp()
    const user = await t.register()
    expect((await t.post('/api/v1/auth/2fa/disable', { password: user.password }, user.access_token)).status).toBe(409)
    expect((await t.post('/api/v1/auth/2fa/recovery-codes', { code: '123456' }, user.access_token)).status).toBe(409)
  })

  it('needs a bearer token for everything but verify', async () => {
    const t = await testApp()
    for (const [method, path] of [
      ['GET', '/api/v1/auth/2fa/status'],
      ['POST', '/api/v1/auth/2fa/setup'],
      ['POST', '/api/v1/auth/2fa/enable'],
      ['POST', '/api/v1/auth/2fa/recovery-codes'],
      ['POST', '/api/v1/auth/2fa/disable'],
      ['GET', '/v1/2fa/status'],
      ['POST', '/v1/2fa/setup'],
    ] as const)
      expect((await t.request(method, path, method === 'POST' ? { code: '123456' } : undefined)).status).toBe(401)
  })
})

describe('malformed codes', () => {
  const malformed: [string, unknown][] = [
    ['too short', '12345'],
    ['too long', '1234567'],
    ['letters', 'abcdef'],
    ['non-ASCII digits', '١٢٣٤٥٦'],
    ['fullwidth digits', '１２３４５６'],
    ['a number', 123456],
    ['empty', ''],
    ['null', null],
    ['missing', undefined],
  ]

  it.each(malformed)('answers 422 to a code that is %s, on every endpoint and in both dialects', async (_, code) => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const token = await challenge(t, user)
    const calls: [string, Record<string, unknown>, string | undefined][] = [
      ['/api/v1/auth/2fa/verify', { session_token: token, code }, undefined],
      ['/v1/2fa/verify', { session_token: token, code }, undefined],
      ['/api/v1/auth/2fa/enable', { code }, user.access_token],
      ['/api/v1/auth/2fa/recovery-codes', { code }, user.access_token],
      ['/v1/2fa/recovery-codes', { code }, user.access_token],
      ['/api/v1/auth/2fa/disable', { code }, user.access_token],
    ]
    for (const [path, body, bearer] of calls) {
      const res = await t.post(path, body, bearer)
      expect(res.status, path).toBe(422)
      const json = (await res.json()) as Record<string, unknown>
      if (path.startsWith('/v1')) expect(json).toMatchObject({ success: false, errors: { code: expect.any(Array) } })
      else expect(json).toMatchObject({ code: 'validation_failed', errors: [{ field: 'code', message: expect.any(String) }] })
    }
    // None of them cost the challenge an attempt.
    expect((await verify(t, token, user.code())).status).toBe(200)
  })

  it('answers 422 to disable with both a code and a password, or neither', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    for (const body of [{}, { code: user.code(), password: user.password }])
      expect((await t.post('/api/v1/auth/2fa/disable', body, user.access_token)).status).toBe(422)
  })
})

describe('the /v1 dialect', () => {
  it('sets up, enables, reports and replaces codes inside the envelope', async () => {
    const t = await testApp()
    const user = await t.register()
    const setup = (await (await t.post('/v1/2fa/setup', undefined, user.access_token)).json()) as {
      success: true
      data: { secret: string; otpauth_url: string; qr_code: string }
    }
    expect(setup).toEqual({
      success: true,
      data: { secret: expect.any(String), otpauth_url: expect.stringMatching(/^otpauth:\/\/totp\//), qr_code: expect.any(String) },
    })
    const enable = await t.post('/v1/2fa/enable', { code: referenceTotp(setup.data.secret, t.clock.now()) }, user.access_token)
    expect(await enable.json()).toEqual({ success: true, data: { enabled: true, recovery_codes: expect.any(Array) } })
    expect(await (await t.get('/v1/2fa/status', user.access_token)).json()).toEqual({
      success: true,
      data: { enabled: true, recovery_codes_remaining: 10 },
    })
    t.clock.advance(30)
    const wrong = await t.post('/v1/2fa/recovery-codes', { code: wrongCode(referenceTotp(setup.data.secret, t.clock.now())) }, user.access_token)
    expect(wrong.status).toBe(422)
    expect(await wrong.json()).toEqual({
      success: false,
      message: 'The code is incorrect or was already used.',
      errors: { code: ['is incorrect or was already used'] },
    })
    const fresh = await t.post('/v1/2fa/recovery-codes', { code: referenceTotp(setup.data.secret, t.clock.now()) }, user.access_token)
    expect(await fresh.json()).toEqual({ success: true, data: { recovery_codes: expect.any(Array) } })
  })

  it('answers a wrong login code with the dialect’s 401', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const res = await t.post('/v1/2fa/verify', { session_token: await challenge(t, user, '/v1/login'), code: wrongCode(user.code()) })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual(V1_UNAUTHENTICATED)
  })
})

function base32Decode(text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const ch of text) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0')
  const out = bits.match(/.{8}/g)!.map((b) => parseInt(b, 2))
  const bytes = Uint8Array.from(out)
  // Guard the helper itself: re-encoding gives the same text.
  expect(base32Encode(bytes)).toBe(text)
  return bytes
}
