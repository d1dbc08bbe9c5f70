import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { referenceTotp } from '../support/rfc6238'
import type { TestWorker } from '../support/worker'
import { startTestWorker } from '../support/worker'

// otplib's Web Crypto plugin, the QR code and AES-GCM as they run in production: in workerd.
// The clock here is the real one; codes come from the reference implementation for the same moment.
describe('2FA in workerd', () => {
  let worker: TestWorker
  beforeAll(async () => {
    worker = await startTestWorker({ TOTP_ISSUER: 'Gatehouse Test' })
  })
  afterAll(() => worker?.stop())

  const post = async (path: string, body?: unknown, token?: string) => {
    const res = await worker.fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as any }
  }

  it('sets up, enables, and completes logins in both dialects with a code and a recovery code', async () => {
    const email = `wd-${Date.now()}@example.com`
    const password = 'correct horse battery staple'
    const reg = await post('/api/v1/auth/register', { email, password, full_name: 'Ada', organization_name: 'Engines' })
    expect(reg.status).toBe(201)

    const setup = await post('/api/v1/auth/2fa/setup', undefined, reg.body.access_token)
    expect(setup.status).toBe(200)
    expect(setup.body.otpauth_url).toBe(
      `otpauth://totp/Gatehouse%20Test:${encodeURIComponent(email)}?secret=${setup.body.secret}&issuer=Gatehouse%20Test`,
    )
    expect(atob(setup.body.qr_code.replace('data:image/svg+xml;base64,', ''))).toMatch(/^<svg/)

    const now = Date.now()
    const enable = await post('/api/v1/auth/2fa/enable', { code: referenceTotp(setup.body.secret, new Date(now)) }, reg.body.access_token)
    expect(enable.status).toBe(200)
    expect(enable.body.recovery_codes).toHaveLength(10)

    const first = await post('/api/v1/auth/login', { email, password })
    expect(first.body).toEqual({ requires_2fa: true, session_token: expect.any(String) })
    // The next step's code: inside the one-step drift window, and newer than the one spent.
    const next = referenceTotp(setup.body.secret, new Date(now + 30_000))
    const verified = await post('/api/v1/auth/2fa/verify', { session_token: first.body.session_token, code: next })
    expect(verified.status).toBe(200)
    expect(verified.body.token_type).toBe('bearer')

    const v1 = await post('/v1/login', { email, password })
    expect(v1.body).toEqual({ success: true, data: { requires_2fa: true, session_token: expect.any(String) } })
    const v1Verified = await post('/v1/2fa/verify', { session_token: v1.body.data.session_token, code: enable.body.recovery_codes[0] })
    expect(v1Verified.status).toBe(200)
    expect(v1Verified.body.data.token_type).toBe('Bearer')
  })
})
