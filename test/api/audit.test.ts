import { asc, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { authEvents, users } from '../../db/schema'
import { hashToken } from '../../functions/core/crypto'
import { testApp, uniqueEmail, uniqueIp } from '../support/app'
import type { TestApp } from '../support/app'
import { clockAt } from '../support/clock'

const UA = 'AuditTest/1.0'
const WRONG = 'a wrong password, typed'
const NEW_PASSWORD = 'the second passphrase'

interface Tokens {
  access_token: string
  refresh_token: string
}

const send = (t: TestApp, method: string, path: string, body?: unknown, token?: string) =>
  t.request(method, path, body, { 'User-Agent': UA, ...(token ? { Authorization: `Bearer ${token}` } : {}) })

const sessionIdOf = (token: string) => JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sid as string

describe('the audit log', () => {
  it('records every authentication event with time, user, org, IP, user agent and outcome, and never a secret', async () => {
    const t = await testApp({ ip: uniqueIp() })
    const email = uniqueEmail('audited')
    const password = 'the first passphrase'
    const secrets: string[] = [password, NEW_PASSWORD, WRONG]
    const keep = async (res: Response) => {
      const raw = (await res.json()) as Tokens & { data?: { token: string; refresh_token: string } }
      const body = raw.data ? { access_token: raw.data.token, refresh_token: raw.data.refresh_token } : raw
      secrets.push(body.access_token, body.refresh_token, await hashToken(body.refresh_token))
      return body
    }

    await keep(
      await send(t, 'POST', '/api/v1/auth/register', { email, password, full_name: 'Ada', organization_name: 'Engines' }),
    )
    expect((await send(t, 'POST', '/api/v1/auth/login', { email, password: WRONG })).status).toBe(401)
    const second = await keep(await send(t, 'POST', '/api/v1/auth/login', { email, password }))
    const third = await keep(await send(t, 'POST', '/v1/login', { email, password }))
    const thirdRefreshed = await keep(await send(t, 'POST', '/api/v1/auth/refresh', { refresh_token: third.refresh_token }))
    expect(thirdRefreshed.refresh_token).toBeTruthy()
    // Reuse of a spent refresh token: the session it belonged to ends.
    expect((await send(t, 'POST', '/api/v1/auth/refresh', { refresh_token: third.refresh_token })).status).toBe(401)
    for (let i = 0; i < 5; i++) await send(t, 'POST', '/api/v1/auth/login', { email, password: `${WRONG} ${i}` })
    for (let i = 0; i < 5; i++) secrets.push(`${WRONG} ${i}`)
    t.clock.advance(30)
    const fourth = await keep(await send(t, 'POST', '/api/v1/auth/login', { email, password }))
    expect((await send(t, 'DELETE', `/api/v1/auth/sessions/${sessionIdOf(second.access_token)}`, undefined, fourth.access_token)).status).toBe(204)
    expect((await send(t, 'POST', '/api/v1/auth/password', { current_password: WRONG, new_password: NEW_PASSWORD }, fourth.access_token)).status).toBe(401)
    expect((await send(t, 'POST', '/api/v1/auth/password', { current_password: password, new_password: NEW_PASSWORD }, fourth.access_token)).status).toBe(204)
    const fifth = await keep(await send(t, 'POST', '/api/v1/auth/login', { email, password: NEW_PASSWORD }))
    expect((await send(t, 'POST', '/v1/logout', undefined, fifth.access_token)).status).toBe(200)
    expect((await send(t, 'POST', '/api/v1/auth/logout-all', undefined, fourth.access_token)).status).toBe(204)

    const [user] = await t.db.select().from(users).where(eq(users.email, email))
    secrets.push(user!.passwordHash!)
    const rows = await t.db.select().from(authEvents).where(eq(authEvents.userId, user!.id)).orderBy(asc(authEvents.id))

    expect(rows.map((r) => [r.type, r.outcome, r.detail && (r.detail as Record<string, unknown>).reason])).toEqual([
      ['register', 'success', undefined],
      ['login', 'failure', undefined],
      ['login', 'success', undefined],
      ['login', 'success', undefined],
      ['refresh_reuse_detected', 'failure', undefined],
      ['login', 'failure', undefined],
      ['login', 'failure', undefined],
      ['login', 'failure', undefined],
      ['login', 'failure', undefined],
      ['login', 'failure', undefined],
      ['lock_applied', 'locked', undefined],
      ['login', 'success', undefined],
      ['session_revoked', 'success', 'revoked'],
      ['password_changed', 'failure', 'wrong_current_password'],
      ['password_changed', 'success', undefined],
      ['session_revoked', 'success', 'password_changed'],
      ['login', 'success', undefined],
      ['session_revoked', 'success', 'logout'],
      ['session_revoked', 'success', 'logout_all'],
    ])
    for (const row of rows) {
      expect(row).toMatchObject({ userId: user!.id, orgId: expect.any(String), ip: t.ip, userAgent: UA, createdAt: expect.any(Date) })
    }
    expect(rows.find((r) => r.type === 'lock_applied')!.detail).toEqual({
      counter: 'login',
      failures: 5,
      locked_until: clockAt(30),
      until_password_reset: false,
    })
    expect(rows.find((r) => r.type === 'refresh_reuse_detected')!.detail).toEqual({
      session_id: sessionIdOf(third.access_token),
      session_revoked: true,
    })

    const everything = JSON.stringify(await t.db.select().from(authEvents))
    for (const secret of secrets) expect(everything).not.toContain(secret)
    // What a caller types into the email field is not stored either (it may be a password).
    expect(everything).not.toContain(email)
  })

  it('records a failure for an unknown email without a user and without what was typed', async () => {
    const t = await testApp({ ip: uniqueIp() })
    const typed = uniqueEmail('typo')
    await send(t, 'POST', '/api/v1/auth/login', { email: typed, password: WRONG })
    const rows = await t.db.select().from(authEvents).where(eq(authEvents.ip, t.ip!))
    expect(rows).toEqual([
      {
        id: expect.any(Number),
        createdAt: new Date(clockAt()),
        type: 'login',
        outcome: 'failure',
        userId: null,
        orgId: null,
        ip: t.ip,
        userAgent: UA,
        detail: { method: 'password' },
      },
    ])
  })
})

describe('GET /api/v1/auth/events', () => {
  it('returns the caller’s own events, newest first, a page at a time', async () => {
    const t = await testApp({ ip: uniqueIp() })
    const user = await t.register()
    const stranger = await t.register()
    await send(t, 'POST', '/api/v1/auth/login', { email: stranger.email, password: WRONG })
    for (let i = 0; i < 3; i++) {
      t.clock.advance(60)
      await send(t, 'POST', '/api/v1/auth/login', { email: user.email, password: i === 1 ? WRONG : user.password })
    }

    const all = await t.get('/api/v1/auth/events', user.access_token)
    expect(all.status).toBe(200)
    const body = (await all.json()) as { events: Record<string, unknown>[]; next_cursor: string | null }
    expect(body.next_cursor).toBeNull()
    expect(body.events.map((e) => [e.type, e.outcome, e.created_at])).toEqual([
      ['login', 'success', clockAt(180)],
      ['login', 'failure', clockAt(120)],
      ['login', 'success', clockAt(60)],
      ['register', 'success', clockAt()],
    ])
    expect(body.events[1]).toEqual({
      type: 'login',
      outcome: 'failure',
      created_at: clockAt(120),
      ip: t.ip,
      user_agent: UA,
      organization_id: user.organization_id,
      detail: { method: 'password' },
    })

    const first = (await (await t.get('/api/v1/auth/events?limit=3', user.access_token)).json()) as typeof body
    expect(first.events).toEqual(body.events.slice(0, 3))
    expect(first.next_cursor).toEqual(expect.any(String))
    // Events recorded between pages do not shift the next page.
    await send(t, 'POST', '/api/v1/auth/login', { email: user.email, password: WRONG })
    const rest = (await (await t.get(`/api/v1/auth/events?limit=3&cursor=${first.next_cursor}`, user.access_token)).json()) as typeof body
    expect(rest).toEqual({ events: body.events.slice(3), next_cursor: null })
  })

  it('refuses a bad limit or cursor with 422, and an anonymous caller with 401', async () => {
    const t = await testApp({ ip: uniqueIp() })
    const user = await t.register()
    for (const query of ['limit=0', 'limit=101', 'limit=ten', 'cursor=abc']) {
      const res = await t.get(`/api/v1/auth/events?${query}`, user.access_token)
      expect(res.status).toBe(422)
      expect(await res.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: query.split('=')[0] }] })
    }
    expect((await t.get('/api/v1/auth/events')).status).toBe(401)
  })
})
