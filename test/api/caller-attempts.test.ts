import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { authEvents, oauthIdentities, rateLimits, users, webauthnChallenges } from '../../db/schema'
import { PASSKEY_REGISTRATIONS_PER_HOUR } from '../../functions/core/passkeys'
import { accountKey, twoFactorKey, userKey } from '../../functions/core/rate-limit'
import { testApp } from '../support/app'
import type { TestApp } from '../support/app'
import { addMember, registerVerifiedOwner } from '../support/org'
import { referenceTotp } from '../support/rfc6238'
import { challenge, verify, withTwoFactor } from '../support/two-factor'

// A secret checked against the caller's own account (the current password, a 2FA code) is
// counted on the account's lock before it is checked. Only for a caller who may make the
// request: a revoked or stolen-but-ended session, an inactive account, a removed member, a
// refused body or a request the endpoint refuses anyway (2FA already on, not on) must not
// advance the owner's counter, or anyone holding an ended token could lock the owner out.

const counter = async (t: TestApp, key: string) => (await t.db.select().from(rateLimits).where(eq(rateLimits.key, key)))[0]?.count ?? 0
const NEW_PASSWORD = 'a brand new passphrase'
const wrongPassword = (i: number) => ({ current_password: `not it ${i} at all`, new_password: NEW_PASSWORD })

/** A user with a second session whose token has been ended by logging out. */
async function withEndedSession(t: TestApp, user: { email: string; password: string }) {
  const res = await t.post('/api/v1/auth/login', { email: user.email, password: user.password })
  expect(res.status).toBe(200)
  const { access_token } = (await res.json()) as { access_token: string }
  expect((await t.post('/api/v1/auth/logout', undefined, access_token)).status).toBe(204)
  return access_token
}

describe('POST /api/v1/auth/password: attempts only for a caller who may change it', () => {
  it('does not count wrong current passwords sent with an ended session', async () => {
    const t = await testApp()
    const user = await t.register({ email: `Mixed.Case-${Date.now()}@Example.COM` })
    const ended = await withEndedSession(t, user)
    for (let i = 0; i < 6; i++) expect((await t.post('/api/v1/auth/password', wrongPassword(i), ended)).status).toBe(401)
    expect(await counter(t, accountKey(user.email))).toBe(0)
    expect((await t.post('/api/v1/auth/login', { email: user.email, password: user.password })).status).toBe(200)
  })

  it('does not count them for an inactive account, nor for a removed member', async () => {
    const t = await testApp({ env: { ENVIRONMENT: 'development' } })
    const user = await t.register()
    await t.db.update(users).set({ isActive: false }).where(eq(users.id, user.user_id))
    for (let i = 0; i < 6; i++) expect((await t.post('/api/v1/auth/password', wrongPassword(i), user.access_token)).status).toBe(403)
    expect(await counter(t, accountKey(user.email))).toBe(0)

    const owner = await registerVerifiedOwner(t)
    const member = await addMember(t, owner.access_token, 'member')
    expect((await t.delete(`/api/v1/org/members/${member.user_id}`, owner.access_token)).status).toBe(204)
    for (let i = 0; i < 6; i++) expect((await t.post('/api/v1/auth/password', wrongPassword(i), member.access_token)).status).toBe(401)
    expect(await counter(t, accountKey(member.email))).toBe(0)
  })

  it('does not count a request whose body is refused, and counts a wrong password on the address however it was typed', async () => {
    const t = await testApp()
    const user = await t.register({ email: `Ada.Upper-${Date.now()}@Example.COM` })
    for (let i = 0; i < 6; i++)
      expect((await t.post('/api/v1/auth/password', { current_password: `wrong ${i} password`, new_password: 'short' }, user.access_token)).status).toBe(422)
    expect((await t.post('/api/v1/auth/password', { current_password: 'only this' }, user.access_token)).status).toBe(422)
    expect(await counter(t, accountKey(user.email))).toBe(0)
    expect((await t.post('/api/v1/auth/password', wrongPassword(0), user.access_token)).status).toBe(401)
    expect(await counter(t, accountKey(user.email.toLowerCase()))).toBe(1)
  })
})

describe('2FA codes: attempts only for a caller who may use them', () => {
  it('does not count wrong codes sent with an ended session at recovery-codes, disable and enable', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    const signedIn = await verify(t, await challenge(t, user), user.code())
    expect(signedIn.status).toBe(200)
    const ended = ((await signedIn.json()) as { access_token: string }).access_token
    expect((await t.post('/api/v1/auth/logout', undefined, ended)).status).toBe(204)
    t.clock.advance(30)
    for (let i = 0; i < 4; i++) {
      expect((await t.post('/api/v1/auth/2fa/recovery-codes', { code: user.wrong() }, ended)).status).toBe(401)
      expect((await t.post('/v1/2fa/recovery-codes', { code: user.wrong() }, ended)).status).toBe(401)
      expect((await t.post('/api/v1/auth/2fa/disable', { code: user.wrong() }, ended)).status).toBe(401)
      expect((await t.post('/v1/2fa/disable', { password: `not it ${i} at all` }, ended)).status).toBe(401)
      expect((await t.post('/api/v1/auth/2fa/enable', { code: user.wrong() }, ended)).status).toBe(401)
    }
    expect(await counter(t, twoFactorKey(user.user_id))).toBe(0)
    expect(await counter(t, accountKey(user.email))).toBe(0)
  })

  it('does not count wrong codes for an inactive account', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    await t.db.update(users).set({ isActive: false }).where(eq(users.id, user.user_id))
    for (let i = 0; i < 12; i++) expect((await t.post('/api/v1/auth/2fa/recovery-codes', { code: user.wrong() }, user.access_token)).status).toBe(403)
    expect(await counter(t, twoFactorKey(user.user_id))).toBe(0)
  })

  it('does not count a code the endpoint refuses before checking it (2FA already on, not on, not set up, a refused body)', async () => {
    const t = await testApp()
    const on = await withTwoFactor(t)
    expect((await t.post('/api/v1/auth/2fa/enable', { code: on.wrong() }, on.access_token)).status).toBe(409)
    expect((await t.post('/api/v1/auth/2fa/disable', { code: on.wrong(), password: on.password }, on.access_token)).status).toBe(422)
    expect((await t.post('/api/v1/auth/2fa/recovery-codes', { code: 'abc' }, on.access_token)).status).toBe(422)
    expect(await counter(t, twoFactorKey(on.user_id))).toBe(0)
    expect(await counter(t, accountKey(on.email))).toBe(0)

    const off = await t.register()
    expect((await t.post('/api/v1/auth/2fa/enable', { code: '123456' }, off.access_token)).status).toBe(409)
    expect((await t.post('/api/v1/auth/2fa/recovery-codes', { code: '123456' }, off.access_token)).status).toBe(409)
    expect((await t.post('/api/v1/auth/2fa/disable', { code: '123456' }, off.access_token)).status).toBe(409)
    expect((await t.post('/api/v1/auth/2fa/disable', { password: 'not it at all' }, off.access_token)).status).toBe(409)
    expect(await counter(t, twoFactorKey(off.user_id))).toBe(0)
    expect(await counter(t, accountKey(off.email))).toBe(0)
  })

  it('counts a wrong code once for a caller who may use it, on the counter of the proof sent', async () => {
    const t = await testApp()
    const user = await withTwoFactor(t)
    expect((await t.post('/api/v1/auth/2fa/recovery-codes', { code: user.wrong() }, user.access_token)).status).toBe(422)
    expect((await t.post('/api/v1/auth/2fa/disable', { code: user.wrong() }, user.access_token)).status).toBe(422)
    expect(await counter(t, twoFactorKey(user.user_id))).toBe(2)
    expect((await t.post('/api/v1/auth/2fa/disable', { password: 'not it at all' }, user.access_token)).status).toBe(422)
    expect(await counter(t, accountKey(user.email))).toBe(1)
    expect(await counter(t, twoFactorKey(user.user_id))).toBe(2)

    const fresh = await t.register()
    const { secret } = await (await t.post('/api/v1/auth/2fa/setup', undefined, fresh.access_token)).json()
    const right = referenceTotp(secret, t.clock.now())
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    expect((await t.post('/api/v1/auth/2fa/enable', { code: wrong }, fresh.access_token)).status).toBe(422)
    expect(await counter(t, twoFactorKey(fresh.user_id))).toBe(1)
  })
})

describe('TWO_FACTOR_REAUTH_SECONDS', () => {
  it('still asks an old sign-in for the password before a code counts, and counts a wrong code after it', async () => {
    const t = await testApp({ env: { TWO_FACTOR_REAUTH_SECONDS: '300' } })
    const user = await t.register()
    const { secret } = await (await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).json()
    t.clock.advance(301)
    const right = referenceTotp(secret, t.clock.now())
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    expect((await t.post('/api/v1/auth/2fa/enable', { code: wrong }, user.access_token)).status).toBe(403)
    expect(await counter(t, twoFactorKey(user.user_id))).toBe(0)
    expect((await t.post('/api/v1/auth/2fa/enable', { code: wrong, password: user.password }, user.access_token)).status).toBe(422)
    expect(await counter(t, twoFactorKey(user.user_id))).toBe(1)
    const enabled = await t.post('/api/v1/auth/2fa/enable', { code: right, password: user.password }, user.access_token)
    expect(enabled.status).toBe(200)
    expect(await counter(t, twoFactorKey(user.user_id))).toBe(0)
  })
})

describe('TWO_FACTOR_REAUTH_SECONDS: the password at enable, counted with the session check', () => {
  async function oldSignIn() {
    const t = await testApp({ env: { TWO_FACTOR_REAUTH_SECONDS: '300' } })
    const user = await t.register()
    const { secret } = await (await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).json()
    const ended = await withEndedSession(t, user)
    t.clock.advance(301)
    const right = referenceTotp(secret, t.clock.now())
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    return { t, user, ended, right, wrong }
  }

  it('counts a wrong password once on the login lock and no code; nothing at all for an ended session', async () => {
    const { t, user, ended, right } = await oldSignIn()
    for (let i = 0; i < 6; i++) expect((await t.post('/api/v1/auth/2fa/enable', { code: right, password: `not it ${i} at all` }, ended)).status).toBe(401)
    expect(await counter(t, accountKey(user.email))).toBe(0)
    const wrongPassword = await t.post('/api/v1/auth/2fa/enable', { code: right, password: 'not it at all' }, user.access_token)
    expect(wrongPassword.status).toBe(422)
    expect(await wrongPassword.json()).toMatchObject({ code: 'invalid_credentials', errors: [{ field: 'password', message: 'is incorrect' }] })
    expect(await counter(t, accountKey(user.email))).toBe(1)
    expect(await counter(t, twoFactorKey(user.user_id))).toBe(0)
  })

  it('counts a wrong password at setup once, nothing for an ended session, and forgets the failures once it is right', async () => {
    const { t, user, ended } = await oldSignIn()
    for (let i = 0; i < 6; i++) expect((await t.post('/api/v1/auth/2fa/setup', { password: `not it ${i} at all` }, ended)).status).toBe(401)
    expect(await counter(t, accountKey(user.email))).toBe(0)
    expect((await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).status).toBe(403)
    expect((await t.post('/api/v1/auth/2fa/setup', { password: 'not it at all' }, user.access_token)).status).toBe(422)
    expect(await counter(t, accountKey(user.email))).toBe(1)
    expect((await t.post('/api/v1/auth/2fa/setup', { password: user.password }, user.access_token)).status).toBe(200)
    expect(await counter(t, accountKey(user.email))).toBe(0)
  })

  it('counts a wrong password at an unlink once, nothing for an ended session or an unknown provider, and audits the unlink once', async () => {
    const { t, user, ended } = await oldSignIn()
    await t.db.insert(oauthIdentities).values({ provider: 'google', subject: `g-${user.user_id}`, userId: user.user_id, email: user.email })
    const unlink = (token: string, password: string, provider = 'google') =>
      t.request('DELETE', `/api/v1/auth/identities/${provider}`, { password }, t.bearer(token))
    for (let i = 0; i < 6; i++) {
      expect((await unlink(ended, `not it ${i} at all`)).status).toBe(401)
      expect((await unlink(user.access_token, `not it ${i} at all`, 'myspace')).status).toBe(404)
    }
    expect(await counter(t, accountKey(user.email))).toBe(0)
    expect((await unlink(user.access_token, 'not it at all')).status).toBe(422)
    expect(await counter(t, accountKey(user.email))).toBe(1)
    expect((await unlink(user.access_token, user.password)).status).toBe(204)
    expect(await counter(t, accountKey(user.email))).toBe(0)
    expect((await unlink(user.access_token, user.password)).status).toBe(404)
    const audited = await t.db
      .select()
      .from(authEvents)
      .where(and(eq(authEvents.userId, user.user_id), eq(authEvents.type, 'identity_unlinked')))
    expect(audited.map((e) => [e.outcome, e.detail])).toEqual([['success', { provider: 'google' }]])
  })

  it('forgets the password failures once it is right, whatever the code then gets', async () => {
    const { t, user, wrong } = await oldSignIn()
    expect((await t.post('/api/v1/auth/2fa/enable', { code: wrong, password: 'not it at all' }, user.access_token)).status).toBe(422)
    expect((await t.post('/api/v1/auth/2fa/enable', { code: wrong, password: user.password }, user.access_token)).status).toBe(422)
    expect([await counter(t, accountKey(user.email)), await counter(t, twoFactorKey(user.user_id))]).toEqual([0, 1])
  })

  it('refuses a right code while the 2FA counter is locked, and still forgets the password failures', async () => {
    const { t, user, right } = await oldSignIn()
    expect((await t.post('/api/v1/auth/2fa/enable', { code: right, password: 'not it at all' }, user.access_token)).status).toBe(422)
    await t.db
      .insert(rateLimits)
      .values({ key: twoFactorKey(user.user_id), count: 5, windowStartedAt: t.clock.now(), lockedUntil: new Date(t.clock.now().getTime() + 60_000) })
    const locked = await t.post('/api/v1/auth/2fa/enable', { code: right, password: user.password }, user.access_token)
    expect(locked.status).toBe(429)
    expect([await counter(t, accountKey(user.email)), await counter(t, twoFactorKey(user.user_id))]).toEqual([0, 5])
    expect((await t.db.select().from(users).where(eq(users.id, user.user_id)))[0]!.totpEnabledAt).toBeNull()
  })
})

describe('PASSKEY_REAUTH_SECONDS: the password at passkey registration options', () => {
  const options = (t: TestApp, token: string, body?: object) => t.post('/api/v1/auth/passkeys/registration/options', body, token)
  const registrationChallenges = async (t: TestApp, userId: string) =>
    (await t.db.select().from(webauthnChallenges).where(eq(webauthnChallenges.userId, userId))).length

  it('counts a wrong password once for an old sign-in, and nothing (neither the attempt nor the window) for an ended session or an inactive account', async () => {
    const t = await testApp()
    const user = await t.register()
    const ended = await withEndedSession(t, user)
    t.clock.advance(601)
    for (let i = 0; i < 6; i++) expect((await options(t, ended, { password: `not it ${i} at all` })).status).toBe(401)
    expect(await counter(t, accountKey(user.email))).toBe(0)
    expect(await counter(t, userKey('passkey_register', user.user_id))).toBe(0)

    expect((await options(t, user.access_token, { password: 'not it at all' })).status).toBe(422)
    expect(await counter(t, accountKey(user.email))).toBe(1)
    // Without the password: refused before any attempt, the window counted as before.
    expect((await options(t, user.access_token)).status).toBe(403)
    expect(await counter(t, accountKey(user.email))).toBe(1)
    expect(await counter(t, userKey('passkey_register', user.user_id))).toBe(2)
    expect(await registrationChallenges(t, user.user_id)).toBe(0)
    expect((await options(t, user.access_token, { password: user.password })).status).toBe(200)
    expect(await counter(t, accountKey(user.email))).toBe(0)
    expect(await registrationChallenges(t, user.user_id)).toBe(1)

    await t.db.update(users).set({ isActive: false }).where(eq(users.id, user.user_id))
    for (let i = 0; i < 6; i++) expect((await options(t, user.access_token, { password: `not it ${i} at all` })).status).toBe(403)
    expect(await counter(t, accountKey(user.email))).toBe(0)
    expect(await counter(t, userKey('passkey_register', user.user_id))).toBe(3)
  })

  it('over the hourly window writes no challenge and counts no attempt, with a wrong or the right password', async () => {
    const t = await testApp()
    const user = await t.register()
    t.clock.advance(601)
    await t.db
      .insert(rateLimits)
      .values({ key: userKey('passkey_register', user.user_id), count: PASSKEY_REGISTRATIONS_PER_HOUR, windowStartedAt: t.clock.now() })
    expect((await options(t, user.access_token, { password: 'not it at all' })).status).toBe(429)
    expect((await options(t, user.access_token, { password: user.password })).status).toBe(429)
    expect(await counter(t, accountKey(user.email))).toBe(0)
    expect(await registrationChallenges(t, user.user_id)).toBe(0)
  })

  it('does not count a refused body', async () => {
    const t = await testApp()
    const user = await t.register()
    t.clock.advance(601)
    expect((await options(t, user.access_token, { password: 42 })).status).toBe(422)
    expect(await counter(t, accountKey(user.email))).toBe(0)
    expect(await counter(t, userKey('passkey_register', user.user_id))).toBe(0)
  })
})
