import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { authEvents } from '../../db/schema'
import { testApp } from '../support/app'
import { addMember, registerVerifiedOwner } from '../support/org'
import { referenceTotp } from '../support/rfc6238'
import { challenge, verify, withTwoFactor } from '../support/two-factor'

// One secret, spent once, however many requests race for it: the conditional UPDATEs only
// prove that on a server running them at the same time.
describe('2FA under concurrent use', () => {
  it('lets one recovery code complete exactly one of two concurrent logins', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const [a, b] = [await challenge(t, user), await challenge(t, user)]
    const code = user.recoveryCodes[0]!
    const results = await Promise.all([verify(t, a, code), verify(t, b, code)])
    expect(results.map((r) => r.status).sort()).toEqual([200, 401])
  })

  it('lets one session_token succeed exactly once under two concurrent verifications', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const token = await challenge(t, user)
    const results = await Promise.all([verify(t, token, user.code()), verify(t, token, user.recoveryCodes[0]!)])
    expect(results.map((r) => r.status).sort()).toEqual([200, 401])
  })

  it('lets one TOTP code complete exactly one of two concurrent logins', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const [a, b] = [await challenge(t, user), await challenge(t, user)]
    const code = user.code()
    const results = await Promise.all([verify(t, a, code), verify(t, b, code)])
    expect(results.map((r) => r.status).sort()).toEqual([200, 401])
  })

  it('admits exactly 10 of 20 concurrent wrong codes spread over four challenges', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const tokens = [await challenge(t, user), await challenge(t, user), await challenge(t, user), await challenge(t, user)]
    const results = await Promise.all(tokens.flatMap((token) => Array.from({ length: 5 }, () => verify(t, token, user.wrong()))))
    expect(results.map((r) => r.status).sort()).toEqual([...Array(10).fill(401), ...Array(10).fill(429)])
  })

  it('resets a member’s 2FA once under concurrent resets by their owners: one 204, one audit row, one notice', async () => {
    const t = await testApp({ env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example' } })
    const owner = await registerVerifiedOwner(t)
    const second = await addMember(t, owner.access_token, 'owner')
    const member = await addMember(t, owner.access_token, 'member')
    const { secret } = await (await t.post('/api/v1/auth/2fa/setup', undefined, member.access_token)).json()
    expect((await t.post('/api/v1/auth/2fa/enable', { code: referenceTotp(secret, t.clock.now()) }, member.access_token)).status).toBe(200)
    const path = `/api/v1/org/members/${member.user_id}/2fa/reset`
    const statuses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => t.post(path, undefined, (i % 2 ? second : owner).access_token).then((r) => r.status)),
    )
    expect(statuses.sort()).toEqual([204, 409, 409, 409, 409, 409])
    const resets = await t.db.select().from(authEvents).where(eq(authEvents.userId, member.user_id))
    expect(resets.filter((e) => e.type === 'two_factor_reset')).toHaveLength(1)
    const mail = (await (await t.get(`/dev/mail?to=${encodeURIComponent(member.email)}`)).json()) as { messages: { subject: string }[] }
    expect(mail.messages.filter((m) => m.subject.includes('turned off by an owner'))).toHaveLength(1)
  })
})
