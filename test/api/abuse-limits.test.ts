import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../functions/config'
import { testApp, testBindings, uniqueEmail } from '../support/app'
import { addMember, registerOwner, registerVerifiedOwner } from '../support/org'
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
