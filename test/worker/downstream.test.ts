import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DownstreamPair } from '../support/downstream'
import { startDownstreamPair } from '../support/downstream'
import { V1_UNAUTHENTICATED } from '../support/errors'

// examples/downstream and Gatehouse, both in workerd under wrangler dev, joined by a service binding.
describe('a downstream Worker bound to Gatehouse', () => {
  let pair: DownstreamPair
  beforeAll(async () => {
    pair = await startDownstreamPair()
  })
  afterAll(() => pair?.stop())

  const json = (body: unknown) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } })

  async function owner() {
    const email = `downstream-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`
    const res = await pair.gatehouse.fetch(
      '/api/v1/auth/register',
      json({ email, password: 'correct horse battery staple', full_name: 'Ada', organization_name: 'Engines' }),
    )
    expect(res.status).toBe(201)
    return (await res.json()) as { access_token: string; refresh_token: string; user_id: string; organization_id: string }
  }

  it('lets a Gatehouse token through, locally verified and over RPC alike', async () => {
    const account = await owner()
    for (const mode of ['local', 'live']) {
      const res = await pair.downstream(`/${mode}/hello`, bearer(account.access_token))
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ user: account.user_id, organization: account.organization_id })
      expect((await pair.downstream(`/${mode}/people`, bearer(account.access_token))).status).toBe(200)
    }
  })

  it("answers 401 in Gatehouse's own bodies, either dialect", async () => {
    for (const mode of ['local', 'live']) {
      const missing = await pair.downstream(`/${mode}/hello`)
      expect(missing.status).toBe(401)
      expect(await missing.json()).toEqual(await (await pair.gatehouse.fetch('/api/v1/auth/me')).json())
      const v1 = await pair.downstream(`/${mode}/people`, bearer('a.b.c'))
      expect(v1.status).toBe(401)
      expect(await v1.json()).toEqual(V1_UNAUTHENTICATED)
    }
  })

  it('over RPC, refuses a token at once when its session ends; locally, until it expires', async () => {
    const account = await owner()
    const logout = await pair.gatehouse.fetch('/api/v1/auth/logout', {
      ...json({ refresh_token: account.refresh_token }),
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${account.access_token}` },
    })
    expect(logout.status).toBe(204)
    const live = await pair.downstream('/live/hello', bearer(account.access_token))
    expect(live.status).toBe(401)
    expect(await live.json()).toMatchObject({ code: 'session_revoked', detail: 'The session has ended.' })
    // The documented bound of local verification: the signature is still good.
    expect((await pair.downstream('/local/hello', bearer(account.access_token))).status).toBe(200)
  })
})
