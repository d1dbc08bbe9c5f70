import { describe, expect, it } from 'vitest'
import { isPwnedPassword } from '../../functions/core/password-policy'
import { testApp, uniqueEmail } from '../support/app'
import { inviteAndReadToken, lastMailTo, registerOwner, registerVerifiedOwner } from '../support/org'

const dev = (options: Parameters<typeof testApp>[0] = {}) =>
  testApp({ ...options, env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example', ...options.env } })

const refused = (field: string, message: string) => ({
  type: '/docs#error-validation_failed',
  title: 'Unprocessable Content',
  status: 422,
  detail: 'The request body did not pass validation.',
  code: 'validation_failed',
  errors: [{ field, message }],
})

const registration = (fields: Record<string, string> = {}) => ({
  email: uniqueEmail(),
  password: 'correct horse battery staple',
  full_name: 'Ada Lovelace',
  organization_name: 'Analytical Engines',
  ...fields,
})

describe('common and context passwords are refused wherever a password is set', () => {
  it.each(['password', '12345678', 'qwertyuiop', 'PassWord', 'iloveyou', 'sunshine1'])('register refuses %j with 422', async (pw) => {
    const t = await dev()
    const res = await t.post('/api/v1/auth/register', registration({ password: pw }))
    expect(res.status).toBe(422)
    expect(await res.json()).toEqual(refused('password', 'is too common'))
  })

  it('register refuses the email, its local part and the full name (any case, spaces or not)', async () => {
    const t = await dev()
    const email = uniqueEmail('marguerite')
    for (const password of [email, email.slice(0, email.indexOf('@')).toUpperCase(), 'Grace Brewster Hopper', 'gracebrewsterhopper']) {
      const res = await t.post('/api/v1/auth/register', registration({ email, password, full_name: 'Grace Brewster Hopper' }))
      expect(res.status, password).toBe(422)
      expect(await res.json()).toEqual(refused('password', 'must not be your email address or name'))
    }
    expect((await t.post('/api/v1/auth/register', registration({ email }))).status).toBe(201)
  })

  it('password change refuses a common new password, and the old one still works', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    const res = await t.post('/api/v1/auth/password', { current_password: owner.password, new_password: 'qwertyuiop' }, owner.access_token)
    expect(res.status).toBe(422)
    expect(await res.json()).toEqual(refused('new_password', 'is too common'))
    const named = await t.post('/api/v1/auth/password', { current_password: owner.password, new_password: 'ADA LOVELACE' }, owner.access_token)
    expect(await named.json()).toEqual(refused('new_password', 'must not be your email address or name'))
    expect((await t.post('/api/v1/auth/login', { email: owner.email, password: owner.password })).status).toBe(200)
  })

  it('password reset refuses a common password or the user’s name, and the link stays usable', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    await t.post('/api/v1/auth/password/forgot', { email: owner.email })
    const token = /reset-password\?token=([A-Za-z0-9_-]{43})/.exec((await lastMailTo(t, owner.email)).text)![1]!
    const common = await t.post('/api/v1/auth/password/reset', { token, password: '12345678' })
    expect(await common.json()).toEqual(refused('password', 'is too common'))
    const named = await t.post('/api/v1/auth/password/reset', { token, password: 'adalovelace' })
    expect(await named.json()).toEqual(refused('password', 'must not be your email address or name'))
    expect((await t.post('/api/v1/auth/password/reset', { token, password: 'a much better passphrase' })).status).toBe(204)
  })

  it('invitation accept refuses a common password or the invitee’s name', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const { token } = await inviteAndReadToken(t, owner.access_token, 'member')
    const common = await t.post('/api/v1/auth/invitations/accept', { token, password: 'password1', full_name: 'Charles Babbage' })
    expect(await common.json()).toEqual(refused('password', 'is too common'))
    const named = await t.post('/api/v1/auth/invitations/accept', { token, password: 'Charles Babbage', full_name: 'Charles Babbage' })
    expect(await named.json()).toEqual(refused('password', 'must not be your email address or name'))
    expect((await t.post('/api/v1/auth/invitations/accept', { token, password: 'difference engine no 2', full_name: 'Charles Babbage' })).status).toBe(201)
  })
})

describe('Have I Been Pwned range check (PWNED_PASSWORDS_CHECK=on)', () => {
  // SHA-1("correct horse battery staple") = ABF7AAD6438836DBE526AA231ABDE2D0EEF74D42
  const PREFIX = 'ABF7A'
  const SUFFIX = 'AD6438836DBE526AA231ABDE2D0EEF74D42'

  function rangeServer(lines: string[]) {
    const asked: { url: string; padding: string | null }[] = []
    const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      asked.push({ url: String(input), padding: new Headers(init?.headers).get('Add-Padding') })
      return new Response(lines.join('\r\n'))
    }) as typeof globalThis.fetch
    return { fetch, asked }
  }

  it('refuses a breached password, sending only the first five hex digits of its SHA-1', async () => {
    const server = rangeServer(['0018A45C4D1DEF81644B54AB7F969B88D65:3', `${SUFFIX}:129`, '00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0'])
    const t = await dev({ env: { PWNED_PASSWORDS_CHECK: 'on', PWNED_PASSWORDS_URL: 'https://hibp.test/range/' }, fetch: server.fetch })
    const res = await t.post('/api/v1/auth/register', registration())
    expect(res.status).toBe(422)
    expect(await res.json()).toEqual(refused('password', 'appears in a known data breach'))
    expect(server.asked).toEqual([{ url: `https://hibp.test/range/${PREFIX}`, padding: 'true' }])
  })

  it('ignores padding lines (count 0) and accepts a password the range does not hold', async () => {
    const server = rangeServer([`${SUFFIX}:0`, '0018A45C4D1DEF81644B54AB7F969B88D65:3'])
    const t = await dev({ env: { PWNED_PASSWORDS_CHECK: 'on', PWNED_PASSWORDS_URL: 'https://hibp.test/range/' }, fetch: server.fetch })
    expect((await t.post('/api/v1/auth/register', registration())).status).toBe(201)
  })

  it('fails open: a service that hangs past the timeout, errs or answers 503 refuses nobody', async () => {
    const hang = (async (_: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)))) as typeof fetch
    const fail = (async () => {
      throw new TypeError('fetch failed')
    }) as typeof fetch
    const unavailable = (async () => new Response('', { status: 503 })) as typeof fetch
    const config = { url: 'https://hibp.test/range/', timeoutMs: 50 }
    const started = performance.now()
    expect(await isPwnedPassword({ fetch: hang }, config, 'correct horse battery staple')).toBe(false)
    expect(performance.now() - started).toBeLessThan(2000)
    expect(await isPwnedPassword({ fetch: fail }, config, 'correct horse battery staple')).toBe(false)
    expect(await isPwnedPassword({ fetch: unavailable }, config, 'correct horse battery staple')).toBe(false)
  })

  it('is off by default: nothing is fetched', async () => {
    const server = rangeServer([`${SUFFIX}:129`])
    const t = await dev({ fetch: server.fetch })
    expect((await t.post('/api/v1/auth/register', registration())).status).toBe(201)
    expect(server.asked).toEqual([])
  })
})
