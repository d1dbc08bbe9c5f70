import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { memberships, organizations, users } from '../../db/schema'
import { normalizeEmail } from '../../db/queries/accounts'
import { testApp, uniqueEmail } from '../support/app'
import type { TestApp } from '../support/app'
import { addMember, inviteAndReadToken, lastMailTo, registerOwner, registerVerifiedOwner } from '../support/org'

// Each of these holds one statement (a unique index, a conditional UPDATE … RETURNING, a
// row lock) to "exactly once" while a real server runs the racing requests at the same time.

const password = 'correct horse battery staple'
const dev = () => testApp({ env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example' } })

describe('POST /api/v1/auth/register under concurrent use', () => {
  it('gives exactly one 201 to 20 parallel registrations of one email in mixed case', async () => {
    const t = await testApp()
    const email = uniqueEmail('race')
    const variants = Array.from({ length: 20 }, (_, i) => [...email].map((ch, j) => ((i >> (j % 5)) & 1 ? ch.toUpperCase() : ch)).join(''))
    const statuses = await Promise.all(
      variants.map((v) => t.post('/api/v1/auth/register', { email: v, password, full_name: 'Racer', organization_name: `Race ${v}` }).then((r) => r.status)),
    )
    expect(statuses.filter((s) => s === 201)).toHaveLength(1)
    expect(statuses.filter((s) => s === 409)).toHaveLength(19)
    const rows = await t.db
      .select()
      .from(users)
      .where(eq(users.emailNormalized, normalizeEmail(email)))
    expect(rows).toHaveLength(1)
    const orgs = await t.db
      .select()
      .from(organizations)
      .innerJoin(memberships, eq(memberships.orgId, organizations.id))
      .where(eq(memberships.userId, rows[0]!.id))
    expect(orgs).toHaveLength(1)
    // No organization was left behind by the 19 losers.
    const orphanOrgs = await t.db.execute(
      `select count(*)::int as n from organizations o where o.name like 'Race %' and not exists (select 1 from memberships m where m.org_id = o.id)` as never,
    )
    expect((orphanOrgs as unknown as { rows: { n: number }[] }).rows[0]!.n).toBe(0)
  })
})

describe('POST /api/v1/auth/refresh under concurrent use', () => {
  it('gives exactly one new pair to two concurrent uses of one refresh token', async () => {
    const t = await testApp()
    const account = await t.register()
    const results = await Promise.all([0, 1].map(() => t.post('/api/v1/auth/refresh', { refresh_token: account.refresh_token })))
    expect(results.map((r) => r.status).sort()).toEqual([200, 401])
  })
})

describe('single-use links under concurrent use', () => {
  async function resetToken(t: TestApp, email: string) {
    await t.post('/api/v1/auth/password/forgot', { email })
    return /reset-password\?token=([A-Za-z0-9_-]{43})\n/.exec((await lastMailTo(t, email)).text)![1]!
  }

  it('spends a password reset token once', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    const token = await resetToken(t, owner.email)
    const results = await Promise.all([1, 2, 3].map(() => t.post('/api/v1/auth/password/reset', { token, password: 'a brand new passphrase' })))
    expect(results.map((r) => r.status).sort()).toEqual([204, 400, 400])
  })

  it('accepts an invitation once', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const { token } = await inviteAndReadToken(t, owner.access_token, 'member')
    const input = { token, password, full_name: 'Racer' }
    const results = await Promise.all([1, 2, 3].map(() => t.post('/api/v1/auth/invitations/accept', input)))
    expect(results.map((r) => r.status).sort()).toEqual([201, 400, 400])
  })
})

describe('PATCH /api/v1/org/members/:id under concurrent use', () => {
  it('two owners demoting each other at once leave one owner', async () => {
    const t = await dev()
    const a = await registerVerifiedOwner(t)
    const b = await addMember(t, a.access_token, 'owner')
    const results = await Promise.all([
      t.patch(`/api/v1/org/members/${b.user_id}`, { role: 'member' }, a.access_token),
      t.patch(`/api/v1/org/members/${a.user_id}`, { role: 'member' }, b.access_token),
    ])
    expect(results.map((r) => r.status).sort()).toEqual([200, 403])
    const survivor = results[0]!.status === 200 ? a.access_token : b.access_token
    const { items } = (await (await t.get('/api/v1/org/members?limit=100', survivor)).json()) as { items: { role: string }[] }
    expect(items.map((m) => m.role).sort()).toEqual(['member', 'owner'])
  })
})

// A window and the writes it guards share one batch: the hit locks the window's row until the
// batch commits, so of racing requests exactly the limit's worth write, and the rest write nothing.
describe('windows that guard writes, under concurrent use', () => {
  const count = async (t: TestApp, query: string) => (Object.values((await t.db.execute(query as never)).rows[0]!)[0] as number) * 1

  it('lets exactly the limit of 8 parallel invitations through, each written whole, the others not at all', async () => {
    const t = await testApp({ env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example', RATE_LIMIT_INVITATIONS_PER_USER: '3/3600' } })
    const owner = await registerVerifiedOwner(t)
    const emails = Array.from({ length: 8 }, (_, i) => uniqueEmail(`racer${i}`))
    const statuses = await Promise.all(
      emails.map((email) => t.post('/api/v1/org/invitations', { email, role: 'member' }, owner.access_token).then((r) => r.status)),
    )
    expect(statuses.sort()).toEqual([201, 201, 201, 429, 429, 429, 429, 429])
    const list = emails.map((e) => `'${e}'`).join(', ')
    expect({
      invitations: await count(t, `select count(*)::int from invitations where email_normalized in (${list})`),
      mails: await count(t, `select count(*)::int from mail_outbox where "to" in (${list})`),
      audit: await count(t, `select count(*)::int from auth_events where type = 'invitation_created' and user_id = '${owner.user_id}'`),
    }).toEqual({ invitations: 3, mails: 3, audit: 3 })
  })

  it('leaves one pending invitation of parallel invitations to one address', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const email = uniqueEmail('twice')
    const statuses = await Promise.all(
      [1, 2, 3].map(() => t.post('/api/v1/org/invitations', { email, role: 'member' }, owner.access_token).then((r) => r.status)),
    )
    expect(statuses).toEqual([201, 201, 201])
    expect(await count(t, `select count(*)::int from invitations where email_normalized = '${email}' and revoked_at is null`)).toBe(1)
  })

  it('stores exactly the per-address limit of reset links for 6 parallel requests', async () => {
    const t = await testApp({ env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example', RATE_LIMIT_PASSWORD_FORGOT_PER_EMAIL: '2/3600' } })
    const owner = await registerOwner(t)
    const statuses = await Promise.all(Array.from({ length: 6 }, () => t.post('/api/v1/auth/password/forgot', { email: owner.email }).then((r) => r.status)))
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202])
    expect({
      links: await count(t, `select count(*)::int from email_tokens where user_id = '${owner.user_id}' and purpose = 'password_reset'`),
      live: await count(t, `select count(*)::int from email_tokens where user_id = '${owner.user_id}' and purpose = 'password_reset' and used_at is null`),
      mails: await count(t, `select count(*)::int from mail_outbox where "to" = '${owner.email}' and subject = 'Reset your password'`),
    }).toEqual({ links: 2, live: 1, mails: 2 })
  })
})
