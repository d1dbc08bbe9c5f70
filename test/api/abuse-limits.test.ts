import { inArray, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { rowsOf } from '../../db/client'
import { rateLimits } from '../../db/schema'
import { parseConfig } from '../../functions/config'
import { testApp, testBindings, uniqueEmail } from '../support/app'
import type { TestApp } from '../support/app'
import { addMember, inviteAndReadToken, lastMailTo, registerOwner, registerVerifiedOwner, verifyAddress } from '../support/org'
import { problem } from '../support/errors'

const dev = (env: Record<string, string> = {}) => testApp({ env: { ENVIRONMENT: 'development', ...env } })

const tooMany = (seconds: number) => problem(429, 'rate_limited', `Too many requests. Try again in ${seconds} seconds.`)

describe('limits on mail a signed-in caller can send', () => {
  it('answers the 11th invitation of one user within an hour with 429 and Retry-After, and the window ends', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    for (let i = 0; i < 10; i++)
      expect((await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, owner.access_token)).status).toBe(201)
    t.clock.advance(600)
    const refused = await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, owner.access_token)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('Retry-After')).toBe('3000')
    expect(await refused.json()).toEqual(tooMany(3000))
    t.clock.advance(3000)
    expect((await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, owner.access_token)).status).toBe(201)
  })

  it('counts invitations per organization across its inviters (20 an hour)', async () => {
    const t = await dev({ RATE_LIMIT_INVITATIONS_PER_USER: '100/3600' })
    const owner = await registerVerifiedOwner(t)
    const admin = await addMember(t, owner.access_token, 'admin')
    for (let i = 0; i < 19; i++)
      expect((await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, i % 2 ? owner.access_token : admin.access_token)).status).toBe(
        201,
      )
    const refused = await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, admin.access_token)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('Retry-After')).toBe('3600')
    // Another organization is not affected.
    const other = await registerOwner(t)
    expect((await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, other.access_token)).status).toBe(201)
  })

  it('answers the 4th verification mail of one user within an hour with 429 and Retry-After', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    for (let i = 0; i < 3; i++) expect((await t.post('/api/v1/auth/verify-email/resend', undefined, owner.access_token)).status).toBe(202)
    const refused = await t.post('/api/v1/auth/verify-email/resend', undefined, owner.access_token)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('Retry-After')).toBe('3600')
    expect(await refused.json()).toEqual(tooMany(3600))
  })

  it('takes the limits from configuration', async () => {
    const config = await parseConfig(
      await testBindings({
        RATE_LIMIT_INVITATIONS_PER_USER: '5/60',
        RATE_LIMIT_INVITATIONS_PER_ORG: '7/120',
        RATE_LIMIT_VERIFY_EMAIL_RESEND_PER_USER: '1/30',
      }),
    )
    expect(config.rateLimits.invitationsPerUser).toEqual({ limit: 5, windowSeconds: 60 })
    expect(config.rateLimits.invitationsPerOrg).toEqual({ limit: 7, windowSeconds: 120 })
    expect(config.rateLimits.verifyEmailResendPerUser).toEqual({ limit: 1, windowSeconds: 30 })
  })
})

// The window and the writes it guards share one round trip (docs/edge-latency.md): the writes
// read the window in SQL. A request over the window must leave what is there untouched: no
// new link or invitation, no mail, and the earlier link or invitation still good.
describe('a request over its window writes nothing', () => {
  const subjects = async (t: TestApp, to: string) =>
    ((await (await t.get(`/dev/mail?to=${encodeURIComponent(to)}`)).json()) as { messages: { subject: string }[] }).messages.map((m) => m.subject)
  const count = async (t: TestApp, query: ReturnType<typeof sql>) => Number(Object.values(rowsOf<Record<string, unknown>>(await t.db.execute(query))[0]!)[0])

  it('an invitation over the window neither writes nor revokes the pending one to the same address', async () => {
    const t = await dev({ APP_URL: 'https://app.example', RATE_LIMIT_INVITATIONS_PER_USER: '2/3600' })
    const owner = await registerVerifiedOwner(t)
    const invited = await inviteAndReadToken(t, owner.access_token, 'member')
    expect((await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, owner.access_token)).status).toBe(201)
    const refused = await t.post('/api/v1/org/invitations', { email: invited.email, role: 'admin' }, owner.access_token)
    expect(refused.status).toBe(429)
    expect({
      invitations: await count(t, sql`select count(*) from invitations where email_normalized = ${invited.email}`),
      audit: await count(t, sql`select count(*) from auth_events where type = 'invitation_created' and user_id = ${owner.user_id}`),
      mails: await subjects(t, invited.email),
    }).toEqual({ invitations: 1, audit: 2, mails: [expect.stringMatching(/^You are invited/)] })
    const accepted = await t.post('/api/v1/auth/invitations/accept', { token: invited.token, password: 'correct horse battery staple', full_name: 'Bea' })
    expect(accepted.status).toBe(201)
  })

  it('a verification mail over the window stores no link and leaves the last one working', async () => {
    const t = await dev({ APP_URL: 'https://app.example', RATE_LIMIT_VERIFY_EMAIL_RESEND_PER_USER: '1/3600' })
    const owner = await registerOwner(t)
    expect((await t.post('/api/v1/auth/verify-email/resend', undefined, owner.access_token)).status).toBe(202)
    const tokens = await count(t, sql`select count(*) from email_tokens where user_id = ${owner.user_id}`)
    expect((await t.post('/api/v1/auth/verify-email/resend', undefined, owner.access_token)).status).toBe(429)
    expect({
      tokens: await count(t, sql`select count(*) from email_tokens where user_id = ${owner.user_id}`),
      mails: await subjects(t, owner.email),
    }).toEqual({ tokens, mails: ['Confirm your email address', 'Confirm your email address'] })
    await verifyAddress(t, owner.email)
  })

  it('a reset over the per-address window stores no link and leaves the last one working', async () => {
    const t = await dev({ APP_URL: 'https://app.example', RATE_LIMIT_PASSWORD_FORGOT_PER_EMAIL: '1/3600' })
    const owner = await registerOwner(t)
    expect((await t.post('/api/v1/auth/password/forgot', { email: owner.email })).status).toBe(202)
    const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec((await lastMailTo(t, owner.email)).text)![1]!
    expect((await t.post('/api/v1/auth/password/forgot', { email: owner.email })).status).toBe(202)
    expect({
      tokens: await count(t, sql`select count(*) from email_tokens where user_id = ${owner.user_id} and purpose = 'password_reset'`),
      mails: await subjects(t, owner.email),
    }).toEqual({ tokens: 1, mails: ['Reset your password', 'Confirm your email address'] })
    expect((await t.post('/api/v1/auth/password/reset', { token, password: 'a brand new passphrase' })).status).toBe(204)
  })

  it('counts no invitation for a caller whose session ended or whose role cannot invite', async () => {
    const t = await dev({ APP_URL: 'https://app.example' })
    const owner = await registerVerifiedOwner(t)
    const member = await addMember(t, owner.access_token, 'member')
    expect((await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, member.access_token)).status).toBe(403)
    const ended = await registerVerifiedOwner(t)
    expect((await t.post('/api/v1/auth/logout', undefined, ended.access_token)).status).toBe(204)
    expect((await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, ended.access_token)).status).toBe(401)
    const keys = [`invite:user:${member.user_id}`, `invite:user:${ended.user_id}`, `invite:org:${ended.organization_id}`]
    expect(await t.db.select().from(rateLimits).where(inArray(rateLimits.key, keys))).toEqual([])
    // The same keys do count a caller who may invite: the query above would see them.
    expect(await count(t, sql`select count(*) from rate_limits where key = ${`invite:user:${owner.user_id}`}`)).toBe(1)
  })
})
