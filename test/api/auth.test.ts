import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { memberships, organizations, refreshTokens, sessions, users } from '../../db/schema'
import { testApp, TestClock, uniqueEmail } from '../support/app'
import { problem } from '../support/errors'
import { signedIn } from '../support/bodies'

const password = 'correct horse battery staple'

describe('POST /api/v1/auth/register', () => {
  it('creates the owner and the organization and signs them in', async () => {
    const t = await testApp()
    const email = uniqueEmail()
    const res = await t.post('/api/v1/auth/register', { email, password, full_name: 'Ada Lovelace', organization_name: 'Analytical Engines' })
    expect(res.status).toBe(201)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const body = await res.json()
    expect(body).toEqual({
      user_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      email,
      full_name: 'Ada Lovelace',
      organization_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      organization_name: 'Analytical Engines',
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: 86400,
      refresh_token: expect.any(String),
    })
    const [membership] = await t.db.select().from(memberships).where(eq(memberships.userId, body.user_id))
    expect(membership).toMatchObject({ orgId: body.organization_id, role: 'owner' })
  })

  it('stores the password only as an argon2id hash', async () => {
    const t = await testApp()
    const { user_id } = await t.register({ password })
    const [row] = await t.db.select().from(users).where(eq(users.id, user_id))
    expect(row!.passwordHash).toMatch(/^\$argon2id\$/)
    expect(JSON.stringify(row)).not.toContain(password)
  })

  it('answers 409 for an email already registered, in any case and with spaces', async () => {
    const t = await testApp()
    const { email } = await t.register()
    const res = await t.post('/api/v1/auth/register', { email: `  ${email.toUpperCase()} `, password, full_name: 'B', organization_name: 'B' })
    expect(res.status).toBe(409)
    expect(res.headers.get('Content-Type')).toBe('application/problem+json')
    expect(await res.json()).toEqual(problem(409, 'email_taken', 'An account with this email already exists.'))
  })

  it.each([
    [{ email: 'not-an-email', password, full_name: 'A', organization_name: 'O' }, 'email', 'must be an email address'],
    [{ email: 'a@example.com', password: 'short', full_name: 'A', organization_name: 'O' }, 'password', 'must be at least 8 characters'],
    [{ email: 'a@example.com', password: 'x'.repeat(257), full_name: 'A', organization_name: 'O' }, 'password', 'must be at most 256 characters'],
    [{ email: 'a@example.com', password, full_name: '', organization_name: 'O' }, 'full_name', 'must not be empty'],
    [{ email: 'a@example.com', password, full_name: 'A' }, 'organization_name', 'is required'],
    [{ email: 42, password, full_name: 'A', organization_name: 'O' }, 'email', 'must be a string'],
    [{ email: 'a@example.com', password: 'pass\u0000word123', full_name: 'A', organization_name: 'O' }, 'password', 'must not contain null bytes'],
    [{ email: 'a@example.com', password, full_name: 'A\ud800', organization_name: 'O' }, 'full_name', 'must be valid Unicode'],
  ])('answers 422 with the failing field for %j', async (body, field, message) => {
    const t = await testApp()
    const res = await t.post('/api/v1/auth/register', body)
    expect(res.status).toBe(422)
    const problem = await res.json()
    expect(problem).toMatchObject({ status: 422, code: 'validation_failed' })
    expect(problem.errors).toContainEqual({ field, message })
  })

  it('accepts a 256-character password, and 8 characters', async () => {
    const t = await testApp()
    await t.register({ password: 'p'.repeat(256) })
    await t.register({ password: '8 chars!' })
  })

  it('leaves no row behind when the batch fails after the user insert', async () => {
    const t = await testApp()
    const { createAccount } = await import('../../db/queries/accounts')
    const email = uniqueEmail('rollback')
    await expect(
      // A statement after the user insert, in the same batch, that Postgres refuses.
      createAccount(t.db, { email, fullName: 'Half', organizationName: 'Half Org', passwordHash: 'x' }, () => [
        t.db.execute(sql`select 'injected failure after the user insert'::int`),
      ]),
    ).rejects.toThrow('injected failure')
    expect(await t.db.select().from(users).where(eq(users.emailNormalized, email))).toEqual([])
    expect(await t.db.select().from(organizations).where(eq(organizations.name, 'Half Org'))).toEqual([])
  })
})

describe('POST /api/v1/auth/login', () => {
  it('signs in with the right password, whatever the case of the email', async () => {
    const t = await testApp()
    const account = await t.register()
    const res = await t.post('/api/v1/auth/login', { email: account.email.toUpperCase(), password })
    expect(res.status).toBe(200)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    expect(await res.json()).toEqual(signedIn({ user_id: account.user_id, email: account.email, full_name: 'Ada Lovelace', organization_id: account.organization_id, organization_name: 'Analytical Engines' }))
  })

  it('answers an unknown email byte for byte as a wrong password', async () => {
    const t = await testApp()
    const account = await t.register()
    const unknown = await t.post('/api/v1/auth/login', { email: uniqueEmail('nobody'), password: 'x'.repeat(12) })
    const wrong = await t.post('/api/v1/auth/login', { email: account.email, password: 'x'.repeat(12) })
    expect(unknown.status).toBe(401)
    expect(wrong.status).toBe(401)
    // Every response has its own request id; nothing else may differ.
    const headers = (res: Response) => [...res.headers].filter(([name]) => name !== 'x-request-id')
    expect(unknown.headers.get('x-request-id')).not.toBe(wrong.headers.get('x-request-id'))
    expect(headers(unknown)).toEqual(headers(wrong))
    expect(await unknown.text()).toBe(await wrong.text())
  })

  it('does not case-fold the password', async () => {
    const t = await testApp()
    const account = await t.register()
    const res = await t.post('/api/v1/auth/login', { email: account.email, password: password.toUpperCase() })
    expect(res.status).toBe(401)
  })

  it('answers 403 to an inactive account only when the password is right', async () => {
    const t = await testApp()
    const account = await t.register()
    await t.db.update(users).set({ isActive: false }).where(eq(users.id, account.user_id))
    const right = await t.post('/api/v1/auth/login', { email: account.email, password })
    expect(right.status).toBe(403)
    expect((await right.json()).code).toBe('account_inactive')
    const wrong = await t.post('/api/v1/auth/login', { email: account.email, password: 'not the password' })
    expect(wrong.status).toBe(401)
  })
})

describe('request bodies', () => {
  it('answers 400 to malformed JSON', async () => {
    const t = await testApp()
    const res = await t.post('/api/v1/auth/login', '{"email": ')
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ status: 400, code: 'malformed_json' })
  })

  it('answers 400 to a body that is not JSON by content type', async () => {
    const t = await testApp()
    const res = await t.request('POST', '/api/v1/auth/login', undefined, { 'Content-Type': 'text/plain' })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 'unsupported_media_type' })
  })

  it.each([['[]'], ['"text"'], ['null'], ['42']])('answers 422 to a JSON body that is not an object: %s', async (raw) => {
    const t = await testApp()
    const res = await t.post('/api/v1/auth/login', raw)
    expect(res.status).toBe(422)
    expect(await res.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: '', message: 'must be a JSON object' }] })
  })

  it('answers 413 to a body over the limit, declared or not', async () => {
    const t = await testApp()
    const big = JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(20_000) })
    const res = await t.post('/api/v1/auth/login', big)
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ status: 413, code: 'payload_too_large' })
  })

  it('answers 400 to a body that is not UTF-8', async () => {
    const t = await testApp()
    const res = await t.app.request(
      '/api/v1/auth/login',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) },
      t.env,
    )
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 'malformed_json' })
  })

  it('answers an unknown route with a 404 problem', async () => {
    const t = await testApp()
    const res = await t.get('/api/v1/nothing')
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ status: 404, code: 'not_found' })
  })
})

describe('GET and PATCH /api/v1/auth/me', () => {
  it('returns the profile of the token’s user', async () => {
    const t = await testApp()
    const account = await t.register()
    const res = await t.get('/api/v1/auth/me', account.access_token)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      id: account.user_id,
      email: account.email,
      full_name: 'Ada Lovelace',
      is_active: true,
      is_verified: false,
      oauth_provider: 'local',
      organization_id: account.organization_id,
      organization_name: 'Analytical Engines',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    })
  })

  it('updates the full name', async () => {
    const t = await testApp()
    const account = await t.register()
    const res = await t.patch('/api/v1/auth/me', { full_name: '  Augusta Ada King  ' }, account.access_token)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ id: account.user_id, full_name: 'Augusta Ada King' })
  })

  it.each([
    ['no Authorization header', undefined, 'token_missing'],
    ['a malformed header', 'Basic abc', 'token_invalid'],
    ['garbage', 'Bearer abc.def.ghi', 'token_invalid'],
  ])('answers 401 to %s', async (_, header, code) => {
    const t = await testApp()
    const res = await t.request('GET', '/api/v1/auth/me', undefined, header ? { Authorization: header } : {})
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ status: 401, code })
  })

  it('answers 401 token_expired once the token has expired (injected clock)', async () => {
    const clock = new TestClock()
    const t = await testApp({ clock })
    const account = await t.register()
    clock.advance(86400 + 1)
    const res = await t.get('/api/v1/auth/me', account.access_token)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ code: 'token_expired', detail: 'The token has expired.' })
  })

  it('answers 403 once the account is deactivated, at once', async () => {
    const t = await testApp()
    const account = await t.register()
    await t.db.update(users).set({ isActive: false }).where(eq(users.id, account.user_id))
    const res = await t.get('/api/v1/auth/me', account.access_token)
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ code: 'account_inactive' })
  })

  it('answers 401 once the user is deleted', async () => {
    const t = await testApp()
    const account = await t.register()
    await t.db.delete(users).where(eq(users.id, account.user_id))
    expect((await t.get('/api/v1/auth/me', account.access_token)).status).toBe(401)
  })

  it('refuses a token of another issuer configuration', async () => {
    const t = await testApp()
    const account = await t.register()
    const other = await testApp({ env: { JWT_ISSUER: 'https://other.test' } })
    expect((await other.get('/api/v1/auth/me', account.access_token)).status).toBe(401)
  })
})

describe('POST /api/v1/auth/refresh', () => {
  it('rotates: a new pair, the old refresh token spent', async () => {
    const t = await testApp()
    const account = await t.register()
    const res = await t.post('/api/v1/auth/refresh', { refresh_token: account.refresh_token })
    expect(res.status).toBe(200)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const body = await res.json()
    expect(body).toEqual(signedIn({ session_id: expect.any(String) }))
    expect(body.refresh_token).not.toBe(account.refresh_token)
    expect((await t.get('/api/v1/auth/me', body.access_token)).status).toBe(200)
  })

  it('stores refresh tokens only as hashes', async () => {
    const t = await testApp()
    const account = await t.register()
    const rows = await t.db.select().from(refreshTokens)
    expect(rows.length).toBeGreaterThan(0)
    expect(JSON.stringify(rows)).not.toContain(account.refresh_token)
  })

  it('revokes the whole session when a spent refresh token is presented again', async () => {
    const t = await testApp()
    const account = await t.register()
    const first = await (await t.post('/api/v1/auth/refresh', { refresh_token: account.refresh_token })).json()
    const replay = await t.post('/api/v1/auth/refresh', { refresh_token: account.refresh_token })
    expect(replay.status).toBe(401)
    expect(await replay.json()).toMatchObject({ code: 'refresh_token_reused' })
    // The legitimate holder's newer tokens die with the session.
    expect((await t.post('/api/v1/auth/refresh', { refresh_token: first.refresh_token })).status).toBe(401)
    expect((await t.get('/api/v1/auth/me', first.access_token)).status).toBe(401)
  })

  it('answers 401 to an unknown refresh token and to an expired one', async () => {
    const clock = new TestClock()
    const t = await testApp({ clock })
    expect((await t.post('/api/v1/auth/refresh', { refresh_token: 'made-up' })).status).toBe(401)
    const account = await t.register()
    clock.advance(31 * 86400)
    const res = await t.post('/api/v1/auth/refresh', { refresh_token: account.refresh_token })
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ code: 'refresh_token_invalid' })
  })

  it('never extends a session past its absolute lifetime', async () => {
    const clock = new TestClock()
    const t = await testApp({ clock, env: { SESSION_MAX_AGE: '3600' } })
    let { refresh_token } = await t.register()
    clock.advance(1800)
    ;({ refresh_token } = await (await t.post('/api/v1/auth/refresh', { refresh_token })).json())
    clock.advance(1801)
    expect((await t.post('/api/v1/auth/refresh', { refresh_token })).status).toBe(401)
  })
})

describe('POST /api/v1/auth/logout', () => {
  it('ends the session: its access and refresh tokens stop working at once', async () => {
    const t = await testApp()
    const account = await t.register()
    const other = await (await t.post('/api/v1/auth/login', { email: account.email, password })).json()
    const res = await t.post('/api/v1/auth/logout', undefined, account.access_token)
    expect(res.status).toBe(204)
    expect((await t.get('/api/v1/auth/me', account.access_token)).status).toBe(401)
    expect(await (await t.get('/api/v1/auth/me', account.access_token)).json()).toMatchObject({ code: 'session_revoked' })
    expect((await t.post('/api/v1/auth/refresh', { refresh_token: account.refresh_token })).status).toBe(401)
    // Another session of the same user is untouched.
    expect((await t.get('/api/v1/auth/me', other.access_token)).status).toBe(200)
    const [row] = await t.db.select().from(sessions).where(eq(sessions.userId, account.user_id)).limit(1)
    expect(row).toBeDefined()
  })
})
