import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { emailTokens } from '../../db/schema'
import { hashToken } from '../../functions/core/crypto'
import { TestClock, testApp, uniqueEmail } from '../support/app'
import type { TestApp } from '../support/app'
import { addMember, lastMailTo, registerOwner, registerVerifiedOwner } from '../support/org'
import { problem } from '../support/errors'

const dev = (clock?: TestClock) => testApp({ env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example' }, clock })
const NEW_PASSWORD = 'a brand new passphrase'

const linkToken = (text: string, page: string) => new RegExp(`https://app\\.example/${page}\\?token=([A-Za-z0-9_-]{43})\\n`).exec(text)?.[1]

async function mailCount(t: TestApp, to: string) {
  const res = await t.get(`/dev/mail?to=${encodeURIComponent(to)}`)
  return ((await res.json()) as { messages: unknown[] }).messages.length
}

const INVALID = problem(400, 'email_token_invalid', 'The link is invalid, expired or already used.')

describe('POST /api/v1/auth/verify-email', () => {
  it('registration mails a verification link that verifies the address once', async () => {
    const t = await dev()
    const owner = await registerOwner(t, { full_name: 'Ada' })
    const mail = await lastMailTo(t, owner.email)
    expect(mail.subject).toBe('Confirm your email address')
    const token = linkToken(mail.text, 'verify-email')!
    expect(token).toBeTruthy()
    const res = await t.post('/api/v1/auth/verify-email', { token })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ user_id: owner.user_id, email: owner.email, is_verified: true })
    expect(await (await t.get('/api/v1/auth/me', owner.access_token)).json()).toMatchObject({ is_verified: true })
    const again = await t.post('/api/v1/auth/verify-email', { token })
    expect(again.status).toBe(400)
    expect(await again.json()).toEqual(INVALID)
  })

  it('stores the token hashed', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    const token = linkToken((await lastMailTo(t, owner.email)).text, 'verify-email')!
    const rows = await t.db.select().from(emailTokens).where(eq(emailTokens.userId, owner.user_id))
    expect(rows.map((r) => r.tokenHash)).toEqual([await hashToken(token)])
    expect(JSON.stringify(rows)).not.toContain(token)
  })

  it('refuses an expired link', async () => {
    const clock = new TestClock()
    const t = await dev(clock)
    const owner = await registerOwner(t)
    const token = linkToken((await lastMailTo(t, owner.email)).text, 'verify-email')!
    clock.advance(48 * 3600)
    expect(await (await t.post('/api/v1/auth/verify-email', { token })).json()).toEqual(INVALID)
  })

  it('refuses a reset token used as a verification token', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    await t.post('/api/v1/auth/password/forgot', { email: owner.email })
    const token = linkToken((await lastMailTo(t, owner.email)).text, 'reset-password')!
    expect((await t.post('/api/v1/auth/verify-email', { token })).status).toBe(400)
  })
})

describe('POST /api/v1/auth/verify-email/resend', () => {
  it('mails a new link; the old one stops working', async () => {
    const clock = new TestClock()
    const t = await dev(clock)
    const owner = await registerOwner(t)
    const first = linkToken((await lastMailTo(t, owner.email)).text, 'verify-email')!
    clock.advance(60)
    const res = await t.post('/api/v1/auth/verify-email/resend', undefined, owner.access_token)
    expect(res.status).toBe(202)
    const second = linkToken((await lastMailTo(t, owner.email)).text, 'verify-email')!
    expect(second).not.toBe(first)
    expect((await t.post('/api/v1/auth/verify-email', { token: first })).status).toBe(400)
    expect((await t.post('/api/v1/auth/verify-email', { token: second })).status).toBe(200)
  })

  it('is 409 once verified, and 401 without a token', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const member = await addMember(t, owner.access_token, 'member') // invited: verified by accepting
    const res = await t.post('/api/v1/auth/verify-email/resend', undefined, member.access_token)
    expect(res.status).toBe(409)
    expect((await t.post('/api/v1/auth/verify-email/resend')).status).toBe(401)
  })
})

describe('POST /api/v1/auth/password/forgot', () => {
  it('answers 202 with the same empty body whether or not the email exists, and mails only a real account', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    const unknown = uniqueEmail('nobody')
    const a = await t.post('/api/v1/auth/password/forgot', { email: unknown })
    const b = await t.post('/api/v1/auth/password/forgot', { email: owner.email.toUpperCase() })
    expect([a.status, b.status]).toEqual([202, 202])
    expect(await a.text()).toBe('')
    expect(await b.text()).toBe('')
    expect(await mailCount(t, unknown)).toBe(0)
    const mail = await lastMailTo(t, owner.email)
    expect(mail.subject).toBe('Reset your password')
    expect(linkToken(mail.text, 'reset-password')).toBeTruthy()
  })

  it('mails nothing to a deactivated account', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const member = await addMember(t, owner.access_token, 'member')
    await t.patch(`/api/v1/org/members/${member.user_id}`, { is_active: false }, owner.access_token)
    const before = await mailCount(t, member.email) // the invitation
    expect((await t.post('/api/v1/auth/password/forgot', { email: member.email })).status).toBe(202)
    expect(await mailCount(t, member.email)).toBe(before)
  })

  it('with the http transport, the provider call finishes after the response', async () => {
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const bodies: unknown[] = []
    const answered: string[] = []
    const server = createServer((req, res) => {
      let data = ''
      req.on('data', (chunk) => (data += chunk))
      req.on('end', () => {
        const body = JSON.parse(data) as { subject: string }
        bodies.push(body)
        // Only the reset mail is held back; the verification mail of the registration is answered at once.
        void (body.subject === 'Reset your password' ? held : Promise.resolve()).then(() => {
          answered.push(body.subject)
          res.end('{"id":"x"}')
        })
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const env = {
        MAIL_TRANSPORT: 'http',
        MAIL_API_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/emails`,
        MAIL_API_KEY: 'k',
        MAIL_FROM: 'no-reply@example.com',
      }
      const t = await testApp({ env })
      const owner = await registerOwner(t) // its verification mail is awaited: no execution context here
      const background: Promise<unknown>[] = []
      const ctx = { waitUntil: (p: Promise<unknown>) => void background.push(p), passThroughOnException() {}, props: {} }
      const res = await t.app.request(
        '/api/v1/auth/password/forgot',
        { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: owner.email }) },
        t.env,
        ctx,
      )
      expect(res.status).toBe(202)
      // Answered while the provider still holds the mail.
      expect(answered).toEqual(['Confirm your email address'])
      release()
      await Promise.all(background)
      expect(answered).toEqual(['Confirm your email address', 'Reset your password'])
      expect(bodies.at(-1)).toMatchObject({ to: [owner.email], subject: 'Reset your password' })
    } finally {
      release()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('POST /api/v1/auth/password/reset', () => {
  async function resetToken(t: TestApp, email: string) {
    await t.post('/api/v1/auth/password/forgot', { email })
    return linkToken((await lastMailTo(t, email)).text, 'reset-password')!
  }

  it('sets the new password once and ends every session', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    const token = await resetToken(t, owner.email)
    const res = await t.post('/api/v1/auth/password/reset', { token, password: NEW_PASSWORD })
    expect(res.status).toBe(204)
    expect((await t.get('/api/v1/auth/me', owner.access_token)).status).toBe(401)
    expect((await t.post('/api/v1/auth/refresh', { refresh_token: owner.refresh_token })).status).toBe(401)
    expect((await t.post('/api/v1/auth/login', { email: owner.email, password: owner.password })).status).toBe(401)
    const login = await t.post('/api/v1/auth/login', { email: owner.email, password: NEW_PASSWORD })
    expect(login.status).toBe(200)
    const again = await t.post('/api/v1/auth/password/reset', { token, password: 'yet another passphrase' })
    expect(again.status).toBe(400)
    expect(await again.json()).toEqual(INVALID)
  })

  it('refuses a link mailed before the password was changed', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    const token = await resetToken(t, owner.email)
    const change = await t.post('/api/v1/auth/password', { current_password: owner.password, new_password: NEW_PASSWORD }, owner.access_token)
    expect(change.status).toBe(204)
    const res = await t.post('/api/v1/auth/password/reset', { token, password: 'yet another passphrase' })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual(INVALID)
    expect((await t.post('/api/v1/auth/login', { email: owner.email, password: NEW_PASSWORD })).status).toBe(200)
  })

  it('stores the token hashed and refuses it after an hour', async () => {
    const clock = new TestClock()
    const t = await dev(clock)
    const owner = await registerOwner(t)
    const token = await resetToken(t, owner.email)
    const [row] = await t.db.select().from(emailTokens).where(eq(emailTokens.tokenHash, await hashToken(token)))
    expect(row).toMatchObject({ purpose: 'password_reset', userId: owner.user_id, usedAt: null })
    clock.advance(3600)
    expect(await (await t.post('/api/v1/auth/password/reset', { token, password: NEW_PASSWORD })).json()).toEqual(INVALID)
  })

  it('a newer reset mail kills the older link', async () => {
    const clock = new TestClock()
    const t = await dev(clock)
    const owner = await registerOwner(t)
    const first = await resetToken(t, owner.email)
    clock.advance(60)
    const second = await resetToken(t, owner.email)
    expect((await t.post('/api/v1/auth/password/reset', { token: first, password: NEW_PASSWORD })).status).toBe(400)
    expect((await t.post('/api/v1/auth/password/reset', { token: second, password: NEW_PASSWORD })).status).toBe(204)
  })

  it('validates the new password and an unknown token', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    const token = await resetToken(t, owner.email)
    expect((await t.post('/api/v1/auth/password/reset', { token, password: 'short' })).status).toBe(422)
    expect((await t.post('/api/v1/auth/password/reset', { token: 'y'.repeat(43), password: NEW_PASSWORD })).status).toBe(400)
    // The refused attempts did not spend it.
    expect((await t.post('/api/v1/auth/password/reset', { token, password: NEW_PASSWORD })).status).toBe(204)
  })
})
