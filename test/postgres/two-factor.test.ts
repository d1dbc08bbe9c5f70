import { describe, expect, it } from 'vitest'
import { testApp } from '../support/app'
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
})
