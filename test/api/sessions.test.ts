import { describe, expect, it } from 'vitest'
import { testApp, uniqueIp } from '../support/app'
import type { TestApp } from '../support/app'
import { clockAt } from '../support/clock'
import { problem } from '../support/errors'

interface Tokens {
  access_token: string
  refresh_token: string
  session_id?: string
}

async function loginAs(t: TestApp, email: string, password: string, userAgent: string): Promise<Tokens> {
  const res = await t.request('POST', '/api/v1/auth/login', { email, password }, { 'User-Agent': userAgent })
  expect(res.status).toBe(200)
  return (await res.json()) as Tokens
}

const sessionIdOf = (token: string) => JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))).sid as string

describe('GET /api/v1/auth/sessions', () => {
  it('lists the caller’s live sessions, most recently used first, with the current one marked', async () => {
    const t = await testApp({ ip: uniqueIp() })
    const user = await t.register()
    t.clock.advance(60)
    const laptop = await loginAs(t, user.email, user.password, 'Laptop/1.0')
    t.clock.advance(60)
    const phone = await loginAs(t, user.email, user.password, 'Phone/2.0')
    await t.post('/api/v1/auth/logout', undefined, user.access_token)
    const other = await t.register()

    const res = await t.get('/api/v1/auth/sessions', laptop.access_token)
    expect(res.status).toBe(200)
    const at = (minutes: number) => clockAt(minutes * 60)
    const expires = (minutes: number) => new Date(Date.parse(at(minutes)) + 90 * 86_400_000).toISOString()
    expect(await res.json()).toEqual([
      {
        id: sessionIdOf(phone.access_token),
        created_at: at(2),
        last_used_at: at(2),
        expires_at: expires(2),
        user_agent: 'Phone/2.0',
        ip: t.ip,
        current: false,
      },
      {
        id: sessionIdOf(laptop.access_token),
        created_at: at(1),
        last_used_at: at(1),
        expires_at: expires(1),
        user_agent: 'Laptop/1.0',
        ip: t.ip,
        current: true,
      },
    ])
    expect(JSON.stringify(await (await t.get('/api/v1/auth/sessions', other.access_token)).json())).not.toContain(
      sessionIdOf(laptop.access_token),
    )
  })

  it('moves last_used_at on refresh, and ends a session at its absolute lifetime however often it refreshes', async () => {
    const t = await testApp({ env: { SESSION_MAX_AGE: '3600' } })
    const user = await t.register()
    t.clock.advance(1800)
    const refreshed = await t.post('/api/v1/auth/refresh', { refresh_token: user.refresh_token })
    expect(refreshed.status).toBe(200)
    const tokens = (await refreshed.json()) as Tokens
    const [session] = (await (await t.get('/api/v1/auth/sessions', tokens.access_token)).json()) as Record<string, string>[]
    expect(session).toMatchObject({ created_at: clockAt(), last_used_at: clockAt(1800), expires_at: clockAt(3600) })

    t.clock.advance(1800)
    const late = await t.post('/api/v1/auth/refresh', { refresh_token: tokens.refresh_token })
    expect(late.status).toBe(401)
    expect(await late.json()).toMatchObject({ code: 'session_revoked' })
  })
})

describe('DELETE /api/v1/auth/sessions/{id}', () => {
  it('ends one session: its access and refresh tokens stop working at once, the others keep working', async () => {
    const t = await testApp()
    const user = await t.register()
    const other = await loginAs(t, user.email, user.password, 'Other/1.0')
    const id = sessionIdOf(other.access_token)

    expect((await t.delete(`/api/v1/auth/sessions/${id}`, user.access_token)).status).toBe(204)
    expect((await t.get('/api/v1/auth/me', other.access_token)).status).toBe(401)
    expect((await t.post('/api/v1/auth/refresh', { refresh_token: other.refresh_token })).status).toBe(401)
    expect((await t.get('/api/v1/auth/me', user.access_token)).status).toBe(200)
    const live = (await (await t.get('/api/v1/auth/sessions', user.access_token)).json()) as { id: string }[]
    expect(live.map((s) => s.id)).toEqual([sessionIdOf(user.access_token)])

    const again = await t.delete(`/api/v1/auth/sessions/${id}`, user.access_token)
    expect(again.status).toBe(404)
    expect(await again.json()).toEqual(problem(404, 'not_found', 'Session not found.'))
  })

  it('answers 404 for another user’s session and leaves it alive, and 404 for a malformed id', async () => {
    const t = await testApp()
    const mine = await t.register()
    const theirs = await t.register()
    expect((await t.delete(`/api/v1/auth/sessions/${sessionIdOf(theirs.access_token)}`, mine.access_token)).status).toBe(404)
    expect((await t.get('/api/v1/auth/me', theirs.access_token)).status).toBe(200)
    expect((await t.delete('/api/v1/auth/sessions/not-a-uuid', mine.access_token)).status).toBe(404)
    expect((await t.delete(`/api/v1/auth/sessions/${sessionIdOf(mine.access_token)}`)).status).toBe(401)
  })

  it('can end the current session, like a logout', async () => {
    const t = await testApp()
    const user = await t.register()
    expect((await t.delete(`/api/v1/auth/sessions/${sessionIdOf(user.access_token)}`, user.access_token)).status).toBe(204)
    expect((await t.get('/api/v1/auth/me', user.access_token)).status).toBe(401)
  })
})

describe('POST /api/v1/auth/logout-all', () => {
  it('ends every session of the caller, the current one included, and no one else’s', async () => {
    const t = await testApp()
    const user = await t.register()
    const second = await loginAs(t, user.email, user.password, 'Second/1.0')
    const stranger = await t.register()

    expect((await t.post('/api/v1/auth/logout-all', undefined, second.access_token)).status).toBe(204)
    for (const token of [user.access_token, second.access_token]) expect((await t.get('/api/v1/auth/me', token)).status).toBe(401)
    for (const refresh_token of [user.refresh_token, second.refresh_token])
      expect((await t.post('/api/v1/auth/refresh', { refresh_token })).status).toBe(401)
    expect((await t.get('/api/v1/auth/me', stranger.access_token)).status).toBe(200)
    expect((await t.post('/api/v1/auth/logout-all')).status).toBe(401)
  })
})

describe('the cap on live sessions per user', () => {
  it('revokes the least recently used session beyond SESSIONS_PER_USER_MAX, and only that one', async () => {
    const t = await testApp({ env: { SESSIONS_PER_USER_MAX: '3' } })
    const user = await t.register() // session 1
    const sessions = [user.access_token]
    for (let i = 0; i < 3; i++) {
      t.clock.advance(60)
      sessions.push((await loginAs(t, user.email, user.password, `Agent/${i}`)).access_token)
    }
    const listed = (await (await t.get('/api/v1/auth/sessions', sessions.at(-1))).json()) as { id: string }[]
    expect(listed).toHaveLength(3)
    // The least recently used was revoked: their tokens stop working.
    expect((await t.get('/api/v1/auth/me', sessions[0])).status).toBe(401)
    expect((await t.get('/api/v1/auth/me', sessions[1])).status).toBe(200)
    expect((await t.get('/api/v1/auth/me', sessions.at(-1))).status).toBe(200)
  })

  it('defaults to 100 live sessions', async () => {
    const { parseConfig } = await import('../../functions/config')
    const { testBindings } = await import('../support/app')
    expect((await parseConfig(await testBindings())).maxSessionsPerUser).toBe(100)
  })
})

describe('GET /api/v1/auth/sessions?limit=&cursor=', () => {
  it('pages through the sessions with an opaque cursor when asked; without it the answer is the whole array', async () => {
    const t = await testApp()
    const user = await t.register()
    for (let i = 0; i < 4; i++) {
      t.clock.advance(60)
      await loginAs(t, user.email, user.password, `Agent/${i}`)
    }
    const all = (await (await t.get('/api/v1/auth/sessions', user.access_token)).json()) as { id: string }[]
    expect(all).toHaveLength(5)
    const first = await (await t.get('/api/v1/auth/sessions?limit=2', user.access_token)).json()
    expect(first.sessions.map((s: { id: string }) => s.id)).toEqual(all.slice(0, 2).map((s) => s.id))
    expect(first.next_cursor).toEqual(expect.any(String))
    const second = await (await t.get(`/api/v1/auth/sessions?limit=2&cursor=${first.next_cursor}`, user.access_token)).json()
    expect(second.sessions.map((s: { id: string }) => s.id)).toEqual(all.slice(2, 4).map((s) => s.id))
    const last = await (await t.get(`/api/v1/auth/sessions?limit=2&cursor=${second.next_cursor}`, user.access_token)).json()
    expect(last).toEqual({ sessions: [all[4]], next_cursor: null })
  })

  it('answers a bad limit or cursor with 422', async () => {
    const t = await testApp()
    const user = await t.register()
    const res = await t.get('/api/v1/auth/sessions?limit=0&cursor=nope', user.access_token)
    expect(res.status).toBe(422)
    expect((await res.json()).errors).toEqual([
      { field: 'limit', message: 'must be a whole number from 1 to 100' },
      { field: 'cursor', message: 'is not a cursor from this API' },
    ])
  })
})
