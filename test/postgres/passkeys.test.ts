import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { oauthIdentities, users } from '../../db/schema'
import { testApp } from '../support/app'
import type { TestApp } from '../support/app'
import { referenceTotp } from '../support/rfc6238'
import { softwareAuthenticator } from '../support/webauthn-authenticator'
import type { SoftwareAuthenticator } from '../support/webauthn-authenticator'

// Races on one challenge, one passkey, one account: each request on its own connection
// (TEST_DATABASE_URL: a real Postgres through the Neon driver, as the Worker runs).

const ORIGIN = 'https://app.example.com'
const RACERS = 8

const passkeyApp = () => testApp({ env: { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: ORIGIN } })

async function withPasskey(t: TestApp, device: SoftwareAuthenticator, user?: Awaited<ReturnType<TestApp['register']>>) {
  user ??= await t.register()
  const options = await (await t.post('/api/v1/auth/passkeys/registration/options', { password: user.password }, user.access_token)).json()
  const { json } = await device.register(options)
  const res = await t.post('/api/v1/auth/passkeys/registration', { credential: json }, user.access_token)
  expect(res.status).toBe(201)
  return { user, passkey: await res.json() }
}

const statuses = (responses: Response[]) => responses.map((r) => r.status).sort()

describe('one passkey challenge, used concurrently', () => {
  it('signs in exactly once', async () => {
    const t = await passkeyApp()
    // A synced passkey (counter 0): only the challenge stands between the copies.
    const device = softwareAuthenticator({ origin: ORIGIN, counter: 'zero' })
    await withPasskey(t, device)
    const options = await (await t.post('/api/v1/auth/passkeys/login/options', {})).json()
    const credential = await device.authenticate(options)
    const responses = await Promise.all(Array.from({ length: RACERS }, () => t.post('/api/v1/auth/passkeys/login', { credential })))
    expect(statuses(responses)).toEqual([200, ...Array(RACERS - 1).fill(401)])
  })

  it('registers exactly once', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    const options = await (await t.post('/api/v1/auth/passkeys/registration/options', { password: user.password }, user.access_token)).json()
    const { json } = await softwareAuthenticator({ origin: ORIGIN }).register(options)
    const responses = await Promise.all(
      Array.from({ length: RACERS }, () => t.post('/api/v1/auth/passkeys/registration', { credential: json }, user.access_token)),
    )
    expect(statuses(responses)).toEqual([201, ...Array(RACERS - 1).fill(422)])
    expect((await (await t.get('/api/v1/auth/passkeys', user.access_token)).json()).passkeys).toHaveLength(1)
  })

  it('completes a two-step login exactly once', async () => {
    const t = await passkeyApp()
    const device = softwareAuthenticator({ origin: ORIGIN, counter: 'zero' })
    const { user } = await withPasskey(t, device)
    const { secret } = await (await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).json()
    expect((await t.post('/api/v1/auth/2fa/enable', { code: referenceTotp(secret, t.clock.now()) }, user.access_token)).status).toBe(200)
    const { session_token } = await (await t.post('/api/v1/auth/login', { email: user.email, password: user.password })).json()
    const options = await (await t.post('/api/v1/auth/2fa/passkey-options', { session_token })).json()
    const credential = await device.authenticate(options)
    const responses = await Promise.all(Array.from({ length: RACERS }, () => t.post('/api/v1/auth/2fa/verify', { session_token, credential })))
    expect(statuses(responses)).toEqual([200, ...Array(RACERS - 1).fill(401)])
  })
})

describe('one counter, raced', () => {
  it('accepts one of several assertions carrying the same counter value', async () => {
    const t = await passkeyApp()
    const device = softwareAuthenticator({ origin: ORIGIN })
    await withPasskey(t, device)
    // Each on its own challenge, all claiming counter 1: a cloned key used in parallel.
    const credentials = await Promise.all(
      Array.from({ length: 4 }, async () => device.authenticate(await (await t.post('/api/v1/auth/passkeys/login/options', {})).json(), { signCount: 1 })),
    )
    const responses = await Promise.all(credentials.map((credential) => t.post('/api/v1/auth/passkeys/login', { credential })))
    expect(statuses(responses)).toEqual([200, 401, 401, 401])
  })
})

describe('the last way to sign in, deleted twice at once', () => {
  it('keeps one passkey when both of the last two are deleted concurrently', async () => {
    const t = await passkeyApp()
    const { user, passkey: first } = await withPasskey(t, softwareAuthenticator({ origin: ORIGIN }))
    const { passkey: second } = await withPasskey(t, softwareAuthenticator({ origin: ORIGIN }), user)
    await t.db.update(users).set({ passwordHash: null }).where(eq(users.id, user.user_id))
    const responses = await Promise.all([first, second].map((p) => t.delete(`/api/v1/auth/passkeys/${p.id}`, user.access_token)))
    expect(statuses(responses)).toEqual([204, 409])
    expect((await (await t.get('/api/v1/auth/passkeys', user.access_token)).json()).passkeys).toHaveLength(1)
  })
})

describe('the last two ways to sign in, a passkey and a provider, removed at once', () => {
  it('keeps one of them, every time', async () => {
    const t = await passkeyApp()
    for (let round = 0; round < 5; round++) {
      const { user, passkey } = await withPasskey(t, softwareAuthenticator({ origin: ORIGIN }))
      await t.db.insert(oauthIdentities).values({ provider: 'google', subject: `google-${user.user_id}`, userId: user.user_id, email: user.email })
      await t.db.update(users).set({ passwordHash: null }).where(eq(users.id, user.user_id))
      const responses = await Promise.all([
        t.delete(`/api/v1/auth/passkeys/${passkey.id}`, user.access_token),
        t.delete('/api/v1/auth/identities/google', user.access_token),
      ])
      expect(statuses(responses)).toEqual([204, 409])
      const identities = await t.db.select().from(oauthIdentities).where(eq(oauthIdentities.userId, user.user_id))
      const { passkeys } = await (await t.get('/api/v1/auth/passkeys', user.access_token)).json()
      expect(identities.length + passkeys.length).toBe(1)
    }
  })
})
