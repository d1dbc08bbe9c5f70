import { randomUUID } from 'node:crypto'
import { oauthIdentities } from '../../db/schema'
import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { users } from '../../db/schema'
import { TestClock, testApp, uniqueEmail } from '../support/app'
import { providerEnv, useOAuthServers } from '../support/oauth'
import type { TestApp, TestResponse } from '../support/app'
import { addMember, lastMailTo, registerVerifiedOwner, tokenIn } from '../support/org'
import { referenceTotp } from '../support/rfc6238'
import { challenge, wrongCode } from '../support/two-factor'
import { softwareAuthenticator } from '../support/webauthn-authenticator'

// The floors of docs/edge-latency.md, counted at the relay: every SQL-over-HTTP request is
// one round trip to the database, and no hot path opens a WebSocket (a connection set-up
// plus a trip per statement).
describe('database round trips per request', () => {
  it('holds every hot path at its floor', async () => {
    const t = await testApp()
    const email = uniqueEmail()
    const password = 'correct horse battery staple'
    let registered: any
    const register = await t.roundTrips(async () => {
      const res = await t.post('/api/v1/auth/register', { email, password, full_name: 'Ada', organization_name: 'Engines' })
      expect(res.status).toBe(201)
      registered = await res.json()
    })
    let loggedIn: any
    const login = await t.roundTrips(async () => {
      const res = await t.post('/api/v1/auth/login', { email, password })
      expect(res.status).toBe(200)
      loggedIn = await res.json()
    })
    const token = loggedIn.access_token
    const expectOk = (path: string) => async () => expect((await t.get(path, token)).status).toBe(200)
    const refresh = await t.roundTrips(async () => {
      expect((await t.post('/api/v1/auth/refresh', { refresh_token: registered.refresh_token })).status).toBe(200)
    })
    expect({
      register,
      login,
      refresh,
      me: await t.roundTrips(expectOk('/api/v1/auth/me')),
      v1Me: await t.roundTrips(expectOk('/v1/me')),
      sessions: await t.roundTrips(expectOk('/api/v1/auth/sessions')),
      members: await t.roundTrips(expectOk('/api/v1/org/members')),
      jwks: await t.roundTrips(expectOk('/.well-known/jwks.json')),
    }).toEqual({
      register: { http: 2, webSockets: 0 },
      login: { http: 2, webSockets: 0 },
      refresh: { http: 1, webSockets: 0 },
      me: { http: 1, webSockets: 0 },
      v1Me: { http: 1, webSockets: 0 },
      sessions: { http: 1, webSockets: 0 },
      members: { http: 1, webSockets: 0 },
      jwks: { http: 0, webSockets: 0 },
    })
  })

  it('keeps a wrong password at two', async () => {
    const t = await testApp()
    const user = await t.register()
    const wrong = await t.roundTrips(async () => {
      expect((await t.post('/api/v1/auth/login', { email: user.email, password: 'wrong password here' })).status).toBe(401)
    })
    expect(wrong).toEqual({ http: 2, webSockets: 0 })
  })
})

/** Round trips of one request, with the status it must answer: a count of a refused request would prove nothing. */
async function trips(t: TestApp, status: number, send: () => Promise<TestResponse>): Promise<number> {
  let res: TestResponse | undefined
  const counted = await t.roundTrips(async () => {
    res = await send()
  })
  if (res!.status !== status) throw new Error(`expected ${status}, got ${res!.status}: ${await res!.text()}`)
  expect(counted.webSockets).toBe(0)
  return counted.http
}

const ORIGIN = 'https://app.example.com'

// Not yet at two (docs/edge-latency.md says why): each still pays the trips counted above.
// Folding one of them removes it here; nothing may join this list.
const NOT_YET_FOLDED = new Set([
  // Three by choice: the client's window refuses before the provider is called, the lookups
  // need the identity the provider proved, and a new account's write needs the lookups (a
  // known identity's login rides in the lookups' batch: two).
  'POST /api/v1/auth/oauth/callback (new account)',
  'POST /api/v1/auth/oauth/callback (new account, address not vouched for)',
])

/** Every endpoint but those of `NOT_YET_FOLDED` at two round trips or fewer; those above it. */
function expectAtMostTwoBut(counts: Record<string, number>) {
  const over = Object.keys(counts).filter((name) => counts[name]! > 2)
  expect(over.filter((name) => !NOT_YET_FOLDED.has(name))).toEqual([])
  expect(Object.keys(counts).filter((name) => NOT_YET_FOLDED.has(name) && counts[name]! <= 2)).toEqual([])
}
const password = 'correct horse battery staple'

// Every route of functions/app.ts, in both dialects, on its success path: at most two
// sequential round trips each ("one per statement that must see the previous one's result,
// and no more than two in all"), and no WebSocket. Exact counts, so a regression shows.
describe('database round trips of every endpoint', () => {
  it('holds the account, session, organization and email endpoints at their counts', async () => {
    const t = await testApp({ env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example', WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: ORIGIN } })
    const owner = await registerVerifiedOwner(t)
    const token = owner.access_token
    const counts: Record<string, number> = {}
    const count = async (name: string, status: number, send: () => Promise<TestResponse>) => {
      counts[name] = await trips(t, status, send)
    }

    await count('GET /api/v1/auth/me', 200, () => t.get('/api/v1/auth/me', token))
    await count('PATCH /api/v1/auth/me', 200, () => t.patch('/api/v1/auth/me', { full_name: 'Ada King' }, token))
    await count('GET /api/v1/auth/events', 200, () => t.get('/api/v1/auth/events', token))
    await count('GET /api/v1/org', 200, () => t.get('/api/v1/org', token))
    await count('PATCH /api/v1/org', 200, () => t.patch('/api/v1/org', { name: 'Engines Ltd' }, token))
    await count('GET /v1/people', 200, () => t.get('/v1/people', token))
    await count('GET /v1/me', 200, () => t.get('/v1/me', token))

    // Invitations, and the invited member's account.
    const email = uniqueEmail('invited')
    let invitationId = ''
    await count('POST /api/v1/org/invitations', 201, async () => {
      const res = await t.post('/api/v1/org/invitations', { email, role: 'admin' }, token)
      invitationId = ((await res.clone().json()) as any).id
      return res
    })
    await count('GET /api/v1/org/invitations', 200, () => t.get('/api/v1/org/invitations', token))
    const invitation = tokenIn((await lastMailTo(t, email)).text)
    // A second invitation, to revoke.
    invitationId = (await (await t.post('/api/v1/org/invitations', { email: uniqueEmail('other'), role: 'member' }, token)).json()).id
    let member: any
    await count('POST /api/v1/auth/invitations/accept', 201, async () => {
      const res = await t.post('/api/v1/auth/invitations/accept', { token: invitation, password, full_name: 'Bea' })
      member = (await res.clone().json()) as any
      return res
    })
    await count('DELETE /api/v1/org/invitations/:id', 204, () => t.delete(`/api/v1/org/invitations/${invitationId}`, token))
    await count('PATCH /api/v1/org/members/:user_id', 200, () => t.patch(`/api/v1/org/members/${member.user_id}`, { role: 'member' }, token))
    await count('DELETE /api/v1/org/members/:user_id', 204, () => t.delete(`/api/v1/org/members/${member.user_id}`, token))

    // Sessions.
    const second = await (await t.post('/api/v1/auth/login', { email: owner.email, password })).json()
    const third = await (await t.post('/api/v1/auth/login', { email: owner.email, password })).json()
    const secondId = JSON.parse(atob(second.access_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).sid
    await count('DELETE /api/v1/auth/sessions/:id', 204, () => t.delete(`/api/v1/auth/sessions/${secondId}`, token))
    await count('POST /api/v1/auth/logout', 204, () => t.post('/api/v1/auth/logout', undefined, third.access_token))
    const v1 = await (await t.post('/v1/login', { email: owner.email, password })).json()
    await count('POST /v1/refresh', 200, () => t.post('/v1/refresh', { refresh_token: v1.data.refresh_token }))
    await count('POST /v1/logout', 200, () => t.post('/v1/logout', undefined, v1.data.token))

    // Email links.
    const unverified = await t.register()
    await count('POST /api/v1/auth/verify-email/resend', 202, () => t.post('/api/v1/auth/verify-email/resend', undefined, unverified.access_token))
    const verify = /\/verify-email\?token=([A-Za-z0-9_-]+)/.exec((await lastMailTo(t, unverified.email)).text)![1]!
    await count('POST /api/v1/auth/verify-email', 200, () => t.post('/api/v1/auth/verify-email', { token: verify }))
    await count('POST /api/v1/auth/password', 204, () =>
      t.post('/api/v1/auth/password', { current_password: password, new_password: 'a new battery staple horse' }, token),
    )
    await count('POST /api/v1/auth/password/forgot', 202, () => t.post('/api/v1/auth/password/forgot', { email: owner.email }))
    const reset = /\/reset-password\?token=([A-Za-z0-9_-]+)/.exec((await lastMailTo(t, owner.email)).text)![1]!
    await count('POST /api/v1/auth/password/reset', 204, () => t.post('/api/v1/auth/password/reset', { token: reset, password: 'yet another staple horse' }))
    const again = await (await t.post('/api/v1/auth/login', { email: owner.email, password: 'yet another staple horse' })).json()
    await count('POST /api/v1/auth/logout-all', 204, () => t.post('/api/v1/auth/logout-all', undefined, again.access_token))

    await count('GET /health', 200, () => t.get('/health'))
    await count('GET /.well-known/jwks.json', 200, () => t.get('/.well-known/jwks.json'))
    await count('GET /openapi.json', 200, () => t.get('/openapi.json'))
    expect(counts).toEqual({
      'GET /api/v1/auth/me': 1,
      'PATCH /api/v1/auth/me': 2,
      'GET /api/v1/auth/events': 1,
      'GET /api/v1/org': 1,
      'PATCH /api/v1/org': 2,
      'GET /v1/people': 1,
      'GET /v1/me': 1,
      'POST /api/v1/org/invitations': 2,
      'GET /api/v1/org/invitations': 1,
      'POST /api/v1/auth/invitations/accept': 2,
      'DELETE /api/v1/org/invitations/:id': 2,
      'PATCH /api/v1/org/members/:user_id': 2,
      'DELETE /api/v1/org/members/:user_id': 2,
      'DELETE /api/v1/auth/sessions/:id': 2,
      'POST /api/v1/auth/logout': 2,
      'POST /v1/refresh': 1,
      'POST /v1/logout': 2,
      'POST /api/v1/auth/verify-email/resend': 2,
      'POST /api/v1/auth/verify-email': 1,
      'POST /api/v1/auth/password': 2,
      'POST /api/v1/auth/password/forgot': 2,
      'POST /api/v1/auth/password/reset': 2,
      'POST /api/v1/auth/logout-all': 2,
      'GET /health': 1,
      'GET /.well-known/jwks.json': 0,
      'GET /openapi.json': 0,
    })
    expectAtMostTwoBut(counts)
  })
})

describe('database round trips of the second-factor endpoints', () => {
  it('holds 2FA and passkeys at their counts, in both dialects', async () => {
    const t = await testApp({ env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example', WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: ORIGIN } })
    const owner = await registerVerifiedOwner(t)
    const counts: Record<string, number> = {}
    const count = async (name: string, status: number, send: () => Promise<TestResponse>) => {
      counts[name] = await trips(t, status, send)
    }
    const member = await addMember(t, owner.access_token, 'member')
    const token = member.access_token
    let secret = ''
    await count('POST /api/v1/auth/2fa/setup', 200, async () => {
      const res = await t.post('/api/v1/auth/2fa/setup', undefined, token)
      secret = ((await res.clone().json()) as any).secret
      return res
    })
    let recovery: string[] = []
    await count('POST /api/v1/auth/2fa/enable', 200, async () => {
      const res = await t.post('/api/v1/auth/2fa/enable', { code: referenceTotp(secret, t.clock.now()) }, token)
      recovery = ((await res.clone().json()) as any).recovery_codes
      return res
    })
    // Each code from a step of its own: a step is spent once.
    const code = () => {
      t.clock.advance(30)
      return referenceTotp(secret, t.clock.now())
    }
    await count('GET /api/v1/auth/2fa/status', 200, () => t.get('/api/v1/auth/2fa/status', token))
    await count('GET /v1/2fa/status', 200, () => t.get('/v1/2fa/status', token))
    const user = { email: member.email, password }
    await count('POST /api/v1/auth/login (2FA)', 200, () => t.post('/api/v1/auth/login', user))
    const first = await challenge(t, user)
    await count('POST /api/v1/auth/2fa/verify (TOTP)', 200, () => t.post('/api/v1/auth/2fa/verify', { session_token: first, code: code() }))
    const second = await challenge(t, user, '/v1/login')
    await count('POST /v1/2fa/verify (recovery code)', 200, () => t.post('/v1/2fa/verify', { session_token: second, code: recovery[0] }))
    const third = await challenge(t, user)
    await count('POST /api/v1/auth/2fa/verify (wrong code)', 401, () => t.post('/api/v1/auth/2fa/verify', { session_token: third, code: wrongCode(code()) }))
    await count('POST /api/v1/auth/2fa/recovery-codes', 200, () => t.post('/api/v1/auth/2fa/recovery-codes', { code: code() }, token))
    await count('POST /v1/2fa/recovery-codes', 200, () => t.post('/v1/2fa/recovery-codes', { code: code() }, token))
    await count('POST /api/v1/auth/2fa/disable', 200, () => t.post('/api/v1/auth/2fa/disable', { code: code() }, token))
    await count('POST /v1/2fa/setup', 200, () => t.post('/v1/2fa/setup', undefined, token))
    const again = (await (await t.post('/v1/2fa/setup', undefined, token)).json()).data.secret
    await count('POST /v1/2fa/enable', 200, () => t.post('/v1/2fa/enable', { code: referenceTotp(again, t.clock.now()) }, token))
    await count('POST /v1/2fa/disable', 200, () => t.post('/v1/2fa/disable', { password }, token))
    await t.post('/api/v1/auth/2fa/setup', undefined, token).then(async (res) => {
      const { secret: third } = await res.json()
      t.clock.advance(30)
      expect((await t.post('/api/v1/auth/2fa/enable', { code: referenceTotp(third, t.clock.now()) }, token)).status).toBe(200)
    })
    await count('POST /api/v1/org/members/:user_id/2fa/reset', 204, () =>
      t.post(`/api/v1/org/members/${member.user_id}/2fa/reset`, undefined, owner.access_token),
    )

    // Passkeys: registered, listed, renamed, signed in with, a second factor, deleted.
    const device = softwareAuthenticator({ origin: ORIGIN })
    const ownerToken = owner.access_token
    let options: any
    await count('POST /api/v1/auth/passkeys/registration/options', 200, async () => {
      const res = await t.post('/api/v1/auth/passkeys/registration/options', { password }, ownerToken)
      options = (await res.clone().json()) as any
      return res
    })
    const { json } = await device.register(options)
    let passkey: any
    await count('POST /api/v1/auth/passkeys/registration', 201, async () => {
      const res = await t.post('/api/v1/auth/passkeys/registration', { name: 'Laptop', credential: json }, ownerToken)
      passkey = (await res.clone().json()) as any
      return res
    })
    await count('GET /api/v1/auth/passkeys', 200, () => t.get('/api/v1/auth/passkeys', ownerToken))
    await count('PATCH /api/v1/auth/passkeys/:id', 200, () => t.patch(`/api/v1/auth/passkeys/${passkey.id}`, { name: 'Phone' }, ownerToken))
    await count('POST /api/v1/auth/passkeys/login/options', 200, async () => {
      const res = await t.post('/api/v1/auth/passkeys/login/options', {})
      options = (await res.clone().json()) as any
      return res
    })
    await count('POST /api/v1/auth/passkeys/login', 200, async () => t.post('/api/v1/auth/passkeys/login', { credential: await device.authenticate(options) }))
    await count('POST /v1/passkeys/login/options', 200, async () => {
      const res = await t.post('/v1/passkeys/login/options', {})
      options = ((await res.clone().json()) as any).data
      return res
    })
    await count('POST /v1/passkeys/login', 200, async () => t.post('/v1/passkeys/login', { credential: await device.authenticate(options) }))
    const ownerSecret = (await (await t.post('/api/v1/auth/2fa/setup', { password }, ownerToken)).json()).secret
    t.clock.advance(30)
    expect((await t.post('/api/v1/auth/2fa/enable', { code: referenceTotp(ownerSecret, t.clock.now()), password }, ownerToken)).status).toBe(200)
    const ownerUser = { email: owner.email, password }
    const pending = await challenge(t, ownerUser)
    await count('POST /api/v1/auth/2fa/passkey-options', 200, async () => {
      const res = await t.post('/api/v1/auth/2fa/passkey-options', { session_token: pending })
      options = (await res.clone().json()) as any
      return res
    })
    await count('POST /api/v1/auth/2fa/verify (passkey)', 200, async () =>
      t.post('/api/v1/auth/2fa/verify', { session_token: pending, credential: await device.authenticate(options) }),
    )
    const v1Pending = await challenge(t, ownerUser, '/v1/login')
    await count('POST /v1/2fa/passkey-options', 200, async () => {
      const res = await t.post('/v1/2fa/passkey-options', { session_token: v1Pending })
      options = ((await res.clone().json()) as any).data
      return res
    })
    await count('POST /v1/2fa/verify (passkey)', 200, async () =>
      t.post('/v1/2fa/verify', { session_token: v1Pending, credential: await device.authenticate(options) }),
    )
    const signInOptions = await (await t.post('/api/v1/auth/passkeys/login/options', {})).json()
    const fresh = await (await t.post('/api/v1/auth/passkeys/login', { credential: await device.authenticate(signInOptions) })).json()
    await count('DELETE /api/v1/auth/passkeys/:id', 204, () => t.delete(`/api/v1/auth/passkeys/${passkey.id}`, fresh.access_token))
    expect(counts).toEqual({
      'POST /api/v1/auth/2fa/setup': 2,
      'POST /api/v1/auth/2fa/enable': 2,
      'GET /api/v1/auth/2fa/status': 1,
      'GET /v1/2fa/status': 1,
      'POST /api/v1/auth/login (2FA)': 2,
      'POST /api/v1/auth/2fa/verify (TOTP)': 2,
      'POST /v1/2fa/verify (recovery code)': 2,
      'POST /api/v1/auth/2fa/verify (wrong code)': 2,
      'POST /api/v1/auth/2fa/recovery-codes': 2,
      'POST /v1/2fa/recovery-codes': 2,
      'POST /api/v1/auth/2fa/disable': 2,
      'POST /v1/2fa/setup': 2,
      'POST /v1/2fa/enable': 2,
      'POST /v1/2fa/disable': 2,
      'POST /api/v1/org/members/:user_id/2fa/reset': 2,
      'POST /api/v1/auth/passkeys/registration/options': 2,
      'POST /api/v1/auth/passkeys/registration': 2,
      'GET /api/v1/auth/passkeys': 1,
      'PATCH /api/v1/auth/passkeys/:id': 2,
      'POST /api/v1/auth/passkeys/login/options': 2,
      'POST /api/v1/auth/passkeys/login': 2,
      'POST /v1/passkeys/login/options': 2,
      'POST /v1/passkeys/login': 2,
      'POST /api/v1/auth/2fa/passkey-options': 2,
      'POST /api/v1/auth/2fa/verify (passkey)': 2,
      'POST /v1/2fa/passkey-options': 2,
      'POST /v1/2fa/verify (passkey)': 2,
      'DELETE /api/v1/auth/passkeys/:id': 2,
    })
    expectAtMostTwoBut(counts)
  })
})

describe('database round trips of the re-authentication paths, with the password', () => {
  it('holds a sign-in older than the re-authentication window at its counts', async () => {
    const t = await testApp({ env: { ENVIRONMENT: 'development', WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: ORIGIN } })
    const user = await t.register()
    const counts: Record<string, number> = {}
    const count = async (name: string, status: number, send: () => Promise<TestResponse>) => {
      counts[name] = await trips(t, status, send)
    }
    // Past PASSKEY_REAUTH_SECONDS (10 minutes by default): the password proves who is asking.
    t.clock.advance(601)
    await count('POST /api/v1/auth/passkeys/registration/options (password)', 200, () =>
      t.post('/api/v1/auth/passkeys/registration/options', { password }, user.access_token),
    )
    // TWO_FACTOR_REAUTH_SECONDS (opt-in), past it: enable proves the password too.
    const reauth = await testApp({ env: { TWO_FACTOR_REAUTH_SECONDS: '300' } })
    const other = await reauth.register()
    reauth.clock.advance(301)
    let secret = ''
    counts['POST /api/v1/auth/2fa/setup (password)'] = await trips(reauth, 200, async () => {
      const res = await reauth.post('/api/v1/auth/2fa/setup', { password }, other.access_token)
      secret = ((await res.clone().json()) as any).secret
      return res
    })
    counts['POST /api/v1/auth/2fa/enable (password)'] = await trips(reauth, 200, () =>
      reauth.post('/api/v1/auth/2fa/enable', { code: referenceTotp(secret, reauth.clock.now()), password }, other.access_token),
    )
    await reauth.db.insert(oauthIdentities).values({ provider: 'google', subject: `g-${other.user_id}`, userId: other.user_id, email: other.email })
    counts['DELETE /api/v1/auth/identities/:provider (password)'] = await trips(reauth, 204, () =>
      reauth.request('DELETE', '/api/v1/auth/identities/google', { password }, reauth.bearer(other.access_token)),
    )
    expect(counts).toEqual({
      'POST /api/v1/auth/passkeys/registration/options (password)': 2,
      'POST /api/v1/auth/2fa/setup (password)': 2,
      'POST /api/v1/auth/2fa/enable (password)': 2,
      'DELETE /api/v1/auth/identities/:provider (password)': 2,
    })
    expectAtMostTwoBut(counts)
  })
})

describe('database round trips of the OAuth endpoints', () => {
  const servers = useOAuthServers()
  const REDIRECT = 'https://app.example.com/oauth/callback'

  it('holds the callback and the identities at their counts', async () => {
    // The local provider stamps its tokens with the real time: the app's clock must agree.
    const t = await testApp({
      clock: new TestClock(new Date()),
      env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example', ...providerEnv(servers.idp, servers.graph, [REDIRECT]) },
    })
    const counts: Record<string, number> = {}
    const count = async (name: string, status: number, send: () => Promise<TestResponse>) => {
      counts[name] = await trips(t, status, send)
    }
    const email = uniqueEmail('google')
    const google = { sub: `google-${randomUUID()}`, email, email_verified: true, name: 'Grace Hopper' }
    const callback = async (claims: Record<string, unknown>) =>
      t.post('/api/v1/auth/oauth/callback', {
        provider: 'google',
        code: await servers.idp.authorize(claims, { redirectUri: REDIRECT }),
        redirect_uri: REDIRECT,
      })
    let account: any
    await count('POST /api/v1/auth/oauth/callback (new account)', 200, async () => {
      const res = await callback(google)
      account = (await res.clone().json()) as any
      return res
    })
    await count('POST /api/v1/auth/oauth/callback (known identity)', 200, () => callback(google))
    // Its challenge instead of a session: decided in the same statement.
    await t.db.update(users).set({ totpEnabledAt: t.clock.now() }).where(eq(users.id, account.user_id))
    await count('POST /api/v1/auth/oauth/callback (known identity, 2FA on)', 200, () => callback(google))
    await t.db.update(users).set({ totpEnabledAt: null }).where(eq(users.id, account.user_id))
    // An address the provider does not vouch for: the verification link and mail ride in the account's batch.
    const unvouched = { sub: `google-${randomUUID()}`, email: uniqueEmail('unvouched'), email_verified: false, name: 'Ada Lovelace' }
    await count('POST /api/v1/auth/oauth/callback (new account, address not vouched for)', 200, () => callback(unvouched))
    await count('GET /api/v1/auth/identities', 200, () => t.get('/api/v1/auth/identities', account.access_token))
    // The account's only sign-in method: refused, after the same reads an unlink does.
    await count('DELETE /api/v1/auth/identities/:provider (the last method)', 409, () => t.delete('/api/v1/auth/identities/google', account.access_token))
    expect(counts).toEqual({
      'POST /api/v1/auth/oauth/callback (new account)': 3,
      'POST /api/v1/auth/oauth/callback (known identity)': 2,
      'POST /api/v1/auth/oauth/callback (known identity, 2FA on)': 2,
      'POST /api/v1/auth/oauth/callback (new account, address not vouched for)': 3,
      'GET /api/v1/auth/identities': 2,
      'DELETE /api/v1/auth/identities/:provider (the last method)': 2,
    })
    expectAtMostTwoBut(counts)
  })
})
