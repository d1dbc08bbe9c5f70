import { randomUUID } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { oauthIdentities, sessions, users } from '../../db/schema'
import type { Bindings } from '../../functions/config'
import { TestClock, testApp, uniqueEmail } from '../support/app'
import type { TestApp } from '../support/app'
import { lastMailTo } from '../support/org'
import { providerEnv, useOAuthServers } from '../support/oauth'

// Account pre-hijack and its relatives (issue #13 §1, §2): an attacker signs in with a
// provider that does not vouch for the victim's address, before the victim arrives.

const CALLBACK = '/api/v1/auth/oauth/callback'
const REDIRECT = 'https://app.example.com/oauth/callback'
const PASSWORD = 'correct horse battery staple'

const servers = useOAuthServers()

// oauth2-mock-server stamps its tokens with the real time: the app's clock must agree.
const app = (env: Partial<Bindings> = {}) =>
  testApp({
    clock: new TestClock(new Date()),
    env: { ENVIRONMENT: 'development', DEV_MAIL: 'on', APP_URL: 'https://app.example', ...providerEnv(servers.idp, servers.graph, [REDIRECT]), ...env },
  })

type Provider = 'google' | 'facebook' | 'outlook'

/** A provider sign-in as a browser would finish it; `who` fixes the identity across calls. */
async function signIn(t: TestApp, provider: Provider, who: { id: string; email: string; verified?: boolean }, extra: object = {}) {
  let code: string
  if (provider === 'facebook') code = servers.graph.issueCode({ id: who.id, name: 'Mallory', email: who.email }, REDIRECT)
  else {
    const claims =
      provider === 'google'
        ? { sub: who.id, email: who.email, email_verified: who.verified ?? false, name: 'Mallory' }
        : // Microsoft without an `email` claim: the UPN in preferred_username is all there is ("nOAuth").
          {
            sub: who.id,
            tid: TENANT,
            oid: who.id,
            iss: `${servers.idp.url}/${TENANT}/v2.0`,
            preferred_username: who.email,
            name: 'Mallory',
            ...(who.verified ? { email: who.email, xms_edov: true } : {}),
          }
    code = await servers.idp.authorize(claims, { redirectUri: REDIRECT })
  }
  return t.post(CALLBACK, { provider, code, redirect_uri: REDIRECT, ...extra })
}
const TENANT = randomUUID()

const newIdentity = (email = uniqueEmail('victim')) => ({ id: randomUUID(), email })
const login = (t: TestApp, email: string, password = PASSWORD) => t.post('/api/v1/auth/login', { email, password })
const linkIn = (text: string, page: string) => new RegExp(`https://app\\.example/${page}\\?token=([A-Za-z0-9_-]{43})\\n`).exec(text)?.[1]

async function mails(t: TestApp, to: string) {
  const res = await t.get(`/dev/mail?to=${encodeURIComponent(to)}`)
  return ((await res.json()) as { messages: { subject: string; text: string }[] }).messages
}

describe('an address a provider did not vouch for holds nothing (account pre-hijack)', () => {
  for (const provider of ['google', 'facebook', 'outlook'] as const) {
    it(`${provider}: the owner registers the address, owns it, and the attacker's sign-in stays in the attacker's account`, async () => {
      const t = await app()
      const victim = uniqueEmail('victim')
      const attacker = newIdentity(victim)
      const planted = await signIn(t, provider, attacker)
      expect(planted.status).toBe(200)
      const foothold = await planted.json()
      // The contract's response keeps its email string: it is the account's contact address.
      expect(foothold).toMatchObject({ email: victim, is_new_user: true })

      const registered = await t.post('/api/v1/auth/register', { email: victim, password: PASSWORD, full_name: 'Victim', organization_name: 'V' })
      expect(registered.status).toBe(201)
      const owner = await registered.json()
      expect(owner.user_id).not.toBe(foothold.user_id)

      // Login and password reset by email reach the owner only.
      expect((await (await login(t, victim)).json()).user_id).toBe(owner.user_id)
      expect((await t.post('/api/v1/auth/password/forgot', { email: victim })).status).toBe(202)
      const reset = linkIn((await lastMailTo(t, victim)).text, 'reset-password')!
      expect((await t.post('/api/v1/auth/password/reset', { token: reset, password: 'the owner chose this one' })).status).toBe(204)
      expect((await (await login(t, victim, 'the owner chose this one')).json()).user_id).toBe(owner.user_id)

      // The attacker's next sign-in lands in the attacker's own account, never the owner's.
      const again = await signIn(t, provider, attacker)
      expect(await again.json()).toMatchObject({ user_id: foothold.user_id, is_new_user: false })
      const ownerIdentities = await t.db.select().from(oauthIdentities).where(eq(oauthIdentities.userId, owner.user_id))
      expect(ownerIdentities).toEqual([])
      // Six argon2 hashes and a provider round trip: slow on a busy two-core machine.
    }, 90_000)
  }

  it('a reset requested for an address only held as a contact address mails no reset link', async () => {
    const t = await app()
    const victim = uniqueEmail('victim')
    expect((await signIn(t, 'facebook', newIdentity(victim))).status).toBe(200)
    expect((await t.post('/api/v1/auth/password/forgot', { email: victim })).status).toBe(202)
    expect((await mails(t, victim)).map((m) => m.subject)).toEqual(['Confirm your email address'])
  })

  it('the provider account claims the address by verifying it, when it is still free', async () => {
    const t = await app()
    const email = uniqueEmail('fb')
    const account = await (await signIn(t, 'facebook', newIdentity(email))).json()
    const token = linkIn((await lastMailTo(t, email)).text, 'verify-email')!
    const verified = await t.post('/api/v1/auth/verify-email', { token })
    expect(verified.status).toBe(200)
    expect(await verified.json()).toEqual({ user_id: account.user_id, email, is_verified: true })
    const taken = await t.post('/api/v1/auth/register', { email, password: PASSWORD, full_name: 'Late', organization_name: 'L' })
    expect(taken.status).toBe(409)
    expect(await taken.json()).toMatchObject({ code: 'email_taken' })
  })

  it('the provider account cannot claim the address once another account holds it', async () => {
    const t = await app()
    const email = uniqueEmail('fb')
    const account = await (await signIn(t, 'facebook', newIdentity(email))).json()
    const token = linkIn((await lastMailTo(t, email)).text, 'verify-email')!
    const owner = await t.register({ email })
    const res = await t.post('/api/v1/auth/verify-email', { token })
    expect(res.status).toBe(409)
    expect(await res.json()).toMatchObject({ status: 409, code: 'email_taken' })
    expect(await (await t.get('/api/v1/auth/me', account.access_token)).json()).toMatchObject({ email, is_verified: false })
    expect((await (await login(t, email)).json()).user_id).toBe(owner.user_id)
  })
})

describe('linking a provider into an account that has a password (§2)', () => {
  async function verifiedOwner(t: TestApp) {
    const owner = await t.register()
    const token = linkIn((await lastMailTo(t, owner.email)).text, 'verify-email')!
    expect((await t.post('/api/v1/auth/verify-email', { token })).status).toBe(200)
    return owner
  }

  for (const provider of ['google', 'outlook'] as const) {
    it(`${provider}: without the password it is 409 link_requires_password, and nothing is linked`, async () => {
      const t = await app()
      const owner = await verifiedOwner(t)
      const them = { ...newIdentity(owner.email), verified: true }
      const res = await signIn(t, provider, them)
      expect(res.status).toBe(409)
      expect(await res.json()).toMatchObject({ status: 409, code: 'link_requires_password' })
      const wrong = await signIn(t, provider, them, { password: 'not the password at all' })
      expect(wrong.status).toBe(401)
      expect(await wrong.json()).toMatchObject({ code: 'invalid_credentials' })
      expect(await t.db.select().from(oauthIdentities).where(eq(oauthIdentities.userId, owner.user_id))).toEqual([])
      expect(await t.db.select().from(sessions).where(eq(sessions.userId, owner.user_id))).toHaveLength(1)

      const linked = await signIn(t, provider, them, { password: PASSWORD })
      expect(linked.status).toBe(200)
      expect(await linked.json()).toMatchObject({ user_id: owner.user_id, is_new_user: false })
      // Linked for good: the next sign-in needs no password.
      expect(await (await signIn(t, provider, them)).json()).toMatchObject({ user_id: owner.user_id })
    })
  }

  it('a provider-only account still links another provider by verified email, as before', async () => {
    const t = await app()
    const email = uniqueEmail('both')
    const first = await (await signIn(t, 'google', { ...newIdentity(email), verified: true })).json()
    const second = await signIn(t, 'outlook', { ...newIdentity(email), verified: true })
    expect(second.status).toBe(200)
    expect(await second.json()).toMatchObject({ user_id: first.user_id, is_new_user: false })
  })
})

describe('GET and DELETE /api/v1/auth/identities', () => {
  it('lists the linked providers, and refuses to unlink the last way to sign in', async () => {
    const t = await app()
    const email = uniqueEmail('ids')
    const google = { ...newIdentity(email), verified: true }
    const account = await (await signIn(t, 'google', google)).json()
    const list = await t.get('/api/v1/auth/identities', account.access_token)
    expect(list.status).toBe(200)
    expect(await list.json()).toEqual([{ provider: 'google', email, linked_at: expect.any(String) }])

    const last = await t.delete('/api/v1/auth/identities/google', account.access_token)
    expect(last.status).toBe(409)
    expect(await last.json()).toMatchObject({ status: 409, code: 'last_sign_in_method' })
    expect((await t.delete('/api/v1/auth/identities/facebook', account.access_token)).status).toBe(404)
    expect((await t.delete('/api/v1/auth/identities/github', account.access_token)).status).toBe(404)

    await signIn(t, 'outlook', { ...newIdentity(email), verified: true })
    expect((await t.delete('/api/v1/auth/identities/google', account.access_token)).status).toBe(204)
    expect((await (await t.get('/api/v1/auth/identities', account.access_token)).json()).map((i: { provider: string }) => i.provider)).toEqual(['outlook'])
    const rows = await t.db.select().from(oauthIdentities).where(eq(oauthIdentities.userId, account.user_id))
    expect(rows.map((r) => r.provider)).toEqual(['outlook'])
  })

  it('unlinks from an account that keeps its password', async () => {
    const t = await app()
    const owner = await t.register()
    await t.db.update(users).set({ isVerified: true }).where(eq(users.id, owner.user_id))
    await signIn(t, 'google', { ...newIdentity(owner.email), verified: true }, { password: PASSWORD })
    expect((await t.delete('/api/v1/auth/identities/google', owner.access_token)).status).toBe(204)
    expect(await (await t.get('/api/v1/auth/identities', owner.access_token)).json()).toEqual([])
  })
})

describe('verifying an email ends no session', () => {
  it('a user who registers and clicks the link stays signed in', async () => {
    const t = await app()
    const owner = await t.register()
    const token = linkIn((await lastMailTo(t, owner.email)).text, 'verify-email')!
    expect((await t.post('/api/v1/auth/verify-email', { token })).status).toBe(200)
    expect((await t.get('/api/v1/auth/me', owner.access_token)).status).toBe(200)
    expect((await t.post('/api/v1/auth/refresh', { refresh_token: owner.refresh_token })).status).toBe(200)
  })
})
