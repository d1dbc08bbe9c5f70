import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestWorker } from '../support/worker'
import { startTestWorker } from '../support/worker'

// The races again in workerd, over the Neon driver's SQL-over-HTTP batches and the relay:
// the conditional statements and unique indexes of the production path, against a server
// that runs them at once.
describe('concurrent requests in workerd', () => {
  let dev: TestWorker
  beforeAll(async () => {
    dev = await startTestWorker({ ENVIRONMENT: 'development', DEV_MAIL: 'on', APP_URL: 'https://app.example' })
  })
  afterAll(() => dev?.stop())

  const call = (w: TestWorker, method: string, path: string, body?: unknown, token?: string) =>
    w.fetch(path, {
      method,
      headers: { ...(body !== undefined && { 'Content-Type': 'application/json' }), ...(token && { Authorization: `Bearer ${token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  const post = (path: string, body: unknown) => call(dev, 'POST', path, body)
  const password = 'correct horse battery staple'

  it('gives exactly one 201 to 20 parallel registrations of one email in mixed case', async () => {
    const base = `race-${Date.now()}@example.com`
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const email = i % 2 ? base.toUpperCase() : ` ${base}`
        return post('/api/v1/auth/register', { email, password, full_name: 'R', organization_name: `R${i}` }).then((r) => r.status)
      }),
    )
    expect(statuses.sort()).toEqual([201, ...Array(19).fill(409)])
  })

  // Each race once in each of several organizations: the losing owner must hear 403 (no longer
  // an owner), never 409 `last_owner`, which a decision on reads from two snapshots gave.
  it('two owners demoting each other at once leave exactly one owner, and the loser hears 403', async () => {
    const twoOwners = async (n: number) => {
      const aEmail = `a${n}-${Date.now()}@example.com`
      const a = (await (
        await call(dev, 'POST', '/api/v1/auth/register', { email: aEmail, password, full_name: 'A', organization_name: `Two ${n}` })
      ).json()) as Record<string, string>
      // An inviter's address must be proven, or the invitation is held.
      const verification = (await (await call(dev, 'GET', `/dev/mail?to=${aEmail}`)).json()) as { messages: { text: string }[] }
      const verifyToken = /verify-email\?token=([\w-]+)/.exec(verification.messages[0]!.text)![1]
      expect((await post('/api/v1/auth/verify-email', { token: verifyToken })).status).toBe(200)
      const email = `b${n}-${Date.now()}@example.com`
      await call(dev, 'POST', '/api/v1/org/invitations', { email, role: 'owner' }, a.access_token)
      const mail = (await (await call(dev, 'GET', `/dev/mail?to=${email}`)).json()) as { messages: { text: string }[] }
      const token = /token=([\w-]+)/.exec(mail.messages[0]!.text)![1]
      const b = (await (await call(dev, 'POST', '/api/v1/auth/invitations/accept', { token, password, full_name: 'B' })).json()) as Record<string, string>
      return { a, b }
    }
    const organizations = []
    for (let n = 0; n < 12; n++) organizations.push(await twoOwners(n))
    for (const { a, b } of organizations) {
      const statuses = await Promise.all([
        call(dev, 'PATCH', `/api/v1/org/members/${b.user_id}`, { role: 'member' }, a.access_token).then((r) => r.status),
        call(dev, 'PATCH', `/api/v1/org/members/${a.user_id}`, { role: 'member' }, b.access_token).then((r) => r.status),
      ])
      expect(statuses.sort()).toEqual([200, 403])
    }
  })
})
