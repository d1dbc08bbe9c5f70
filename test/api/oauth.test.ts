import { randomUUID } from 'node:crypto'
import { and, count, eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authEvents, oauthIdentities, refreshTokens, sessions, twoFactorChallenges, users } from '../../db/schema'
import type { Bindings } from '../../functions/config'
import { TestClock, testApp, uniqueEmail, uniqueIp } from '../support/app'
import type { TestApp } from '../support/app'
import { CLIENT, closedPort, codeChallenge, providerEnv as localProviders, startGraphServer, startOidcProvider, startSilentServer } from '../support/oauth'
import type { Claims, OidcProvider } from '../support/oauth'
import { signedIn } from '../support/bodies'

const CALLBACK = '/api/v1/auth/oauth/callback'
const REDIRECT = 'https://app.example.com/oauth/callback'

let idp: OidcProvider
let graph: Awaited<ReturnType<typeof startGraphServer>>

beforeAll(async () => {
  idp = await startOidcProvider()
  graph = await startGraphServer()
})
afterAll(async () => {
  await idp?.stop()
  await graph?.stop()
})

/** Every provider configured against the local servers; oauth2-mock-server plays Google and Microsoft. */
const providerEnv = () => localProviders(idp, graph, [REDIRECT, 'http://localhost:5173/callback'])

// oauth2-mock-server stamps tokens with the real time: the app's clock must agree.
const app = (env: Partial<Bindings> = {}) => testApp({ clock: new TestClock(new Date()), env: { ...providerEnv(), ...env } })

const googleUser = (overrides: Claims = {}): Claims => ({
  sub: `google-${randomUUID()}`,
  email: uniqueEmail('google'),
  email_verified: true,
  name: 'Grace Hopper',
  ...overrides,
})

async function googleLogin(t: TestApp, claims: Claims, extra: Record<string, unknown> = {}) {
  const code = await idp.authorize(claims, { redirectUri: REDIRECT })
  return t.post(CALLBACK, { provider: 'google', code, redirect_uri: REDIRECT, ...extra })
}

const problem = (status: number, code: string, detail?: string | RegExp) => ({
  type: `/docs#error-${code}`,
  title: expect.any(String),
  status,
  detail: detail === undefined ? expect.any(String) : typeof detail === 'string' ? detail : expect.stringMatching(detail),
  code,
})

async function usersWithEmail(t: TestApp, email: string) {
  const [row] = await t.db.select({ n: count() }).from(users).where(eq(users.emailNormalized, email.toLowerCase()))
  return row!.n
}

async function sessionsOf(t: TestApp, userId: string) {
  const [row] = await t.db.select({ n: count() }).from(sessions).where(eq(sessions.userId, userId))
  return row!.n
}

describe('POST /api/v1/auth/oauth/callback with Google (OpenID Connect)', () => {
  it('creates a user and a new organization for a new identity, and /me shows the provider', async () => {
    const t = await app()
    const claims = googleUser()
    const res = await googleLogin(t, claims)
    expect(res.status).toBe(200)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const body = await res.json()
    expect(body).toEqual(signedIn({ user_id: expect.any(String), email: claims.email, full_name: 'Grace Hopper', organization_id: expect.any(String), organization_name: "Grace Hopper's organization", is_new_user: true }))
    const me = await t.get('/api/v1/auth/me', body.access_token)
    expect(await me.json()).toEqual({
      id: body.user_id,
      email: claims.email,
      full_name: 'Grace Hopper',
      is_active: true,
      is_verified: true,
      oauth_provider: 'google',
      organization_id: body.organization_id,
      organization_name: "Grace Hopper's organization",
      created_at: expect.any(String),
    })
    // The code went to the provider exactly as the client had it, with our client credentials.
    expect(idp.tokenRequests.at(-1)).toEqual({
      grant_type: 'authorization_code',
      code: expect.any(String),
      redirect_uri: REDIRECT,
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
    })
  })

  it('logs the same identity in as the same user, not a new one', async () => {
    const t = await app()
    const claims = googleUser()
    const first = await (await googleLogin(t, claims)).json()
    const again = await googleLogin(t, { ...claims, email: uniqueEmail('renamed'), name: 'G. Hopper' })
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ user_id: first.user_id, organization_id: first.organization_id, email: claims.email, is_new_user: false })
  })

  it('gives two new users two different organizations', async () => {
    const t = await app()
    const a = await (await googleLogin(t, googleUser())).json()
    const b = await (await googleLogin(t, googleUser())).json()
    expect(a.organization_id).not.toBe(b.organization_id)
  })

  it('links a provider-verified email to the existing verified account with that email', async () => {
    const t = await app()
    const local = await t.register()
    await t.db.update(users).set({ isVerified: true }).where(eq(users.id, local.user_id))
    const claims = googleUser({ email: local.email.toUpperCase() })
    // The account has a password: linking needs it (issue #13 §2).
    expect((await googleLogin(t, claims)).status).toBe(409)
    const res = await googleLogin(t, claims, { password: local.password })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body).toMatchObject({ user_id: local.user_id, organization_id: local.organization_id, email: local.email, is_new_user: false })
    // Linked for good: the next login finds the identity itself.
    expect(await (await googleLogin(t, claims)).json()).toMatchObject({ user_id: local.user_id, is_new_user: false })
    const me = await (await t.get('/api/v1/auth/me', body.access_token)).json()
    expect(me.oauth_provider).toBe('local')
  })

  it('never links an unverified provider email to an existing account, and signs nobody in', async () => {
    const t = await app()
    const local = await t.register()
    await t.db.update(users).set({ isVerified: true }).where(eq(users.id, local.user_id))
    const claims = googleUser({ email: local.email, email_verified: false })
    const res = await googleLogin(t, claims)
    expect(res.status).toBe(409)
    expect(await res.json()).toEqual(problem(409, 'email_taken'))
    expect(await t.db.select().from(oauthIdentities).where(eq(oauthIdentities.subject, String(claims.sub)))).toEqual([])
    expect(await sessionsOf(t, local.user_id)).toBe(1)
    expect(await usersWithEmail(t, local.email)).toBe(1)
  })

  it('does not link to an account whose own email was never verified', async () => {
    const t = await app()
    const squatter = await t.register()
    const res = await googleLogin(t, googleUser({ email: squatter.email }))
    expect(res.status).toBe(409)
    expect(await res.json()).toEqual(problem(409, 'email_taken'))
    expect(await sessionsOf(t, squatter.user_id)).toBe(1)
  })

  it('answers a reused code 401 and opens no second session', async () => {
    const t = await app()
    const code = await idp.authorize(googleUser(), { redirectUri: REDIRECT })
    const first = await t.post(CALLBACK, { provider: 'google', code, redirect_uri: REDIRECT })
    expect(first.status).toBe(200)
    const { user_id } = await first.json()
    const again = await t.post(CALLBACK, { provider: 'google', code, redirect_uri: REDIRECT })
    expect(again.status).toBe(401)
    expect(await again.json()).toEqual(problem(401, 'oauth_failed', /refused the authorization code/))
    expect(await sessionsOf(t, user_id)).toBe(1)
  })

  it('answers a code the provider never issued 401 and creates nothing', async () => {
    const t = await app()
    const res = await t.post(CALLBACK, { provider: 'google', code: 'made-up-code', redirect_uri: REDIRECT })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual(problem(401, 'oauth_failed'))
  })

  describe('refuses an ID token with 401 and creates nothing when', () => {
    const cases: [string, (now: number) => Claims, { tamperSignature?: boolean }?][] = [
      ['its aud is another client', () => ({ aud: 'someone-elses-client' })],
      ['its iss is another issuer', () => ({ iss: 'https://accounts.example.net' })],
      ['it is expired', (now) => ({ iat: now - 7200, nbf: now - 7200, exp: now - 3600 })],
      ['its signature is not the provider’s', () => ({}), { tamperSignature: true }],
    ]
    for (const [name, claims, options] of cases) {
      it(name, async () => {
        const t = await app()
        const identity = googleUser(claims(Math.floor(Date.now() / 1000)))
        const code = await idp.authorize(identity, { redirectUri: REDIRECT, ...options })
        const res = await t.post(CALLBACK, { provider: 'google', code, redirect_uri: REDIRECT })
        expect(res.status).toBe(401)
        expect(await res.json()).toEqual(problem(401, 'oauth_failed', 'The ID token from google is not valid.'))
        expect(await usersWithEmail(t, String(identity.email))).toBe(0)
      })
    }
  })

  it('checks the nonce when the client used one', async () => {
    const t = await app()
    const good = await idp.authorize(googleUser(), { redirectUri: REDIRECT, nonce: 'n-0S6_WzA2Mj' })
    expect((await t.post(CALLBACK, { provider: 'google', code: good, redirect_uri: REDIRECT, nonce: 'n-0S6_WzA2Mj' })).status).toBe(200)
    const replayed = await idp.authorize(googleUser(), { redirectUri: REDIRECT, nonce: 'n-0S6_WzA2Mj' })
    const res = await t.post(CALLBACK, { provider: 'google', code: replayed, redirect_uri: REDIRECT, nonce: 'another-nonce' })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual(problem(401, 'oauth_failed', 'The ID token from google is not valid.'))
  })

  it('sends the PKCE code_verifier, and the provider’s refusal of a wrong one is 401', async () => {
    const t = await app()
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
    const code = await idp.authorize(googleUser(), { redirectUri: REDIRECT, codeChallenge: codeChallenge(verifier) })
    const res = await t.post(CALLBACK, { provider: 'google', code, redirect_uri: REDIRECT, code_verifier: verifier })
    expect(res.status).toBe(200)
    expect(idp.tokenRequests.at(-1)).toMatchObject({ code, code_verifier: verifier })
    const other = await idp.authorize(googleUser(), { redirectUri: REDIRECT, codeChallenge: codeChallenge(verifier) })
    const wrong = await t.post(CALLBACK, { provider: 'google', code: other, redirect_uri: REDIRECT, code_verifier: 'x'.repeat(43) })
    expect(wrong.status).toBe(401)
  })

  it('answers 403 for an inactive user and opens no session', async () => {
    const t = await app()
    const claims = googleUser()
    const { user_id } = await (await googleLogin(t, claims)).json()
    await t.db.update(users).set({ isActive: false }).where(eq(users.id, user_id))
    const res = await googleLogin(t, claims)
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual(problem(403, 'account_inactive', 'The account is inactive.'))
    expect(await sessionsOf(t, user_id)).toBe(1)
  })
})

describe('passkeys for an account with no password', () => {
  it('lets a user who just signed in with Google add a passkey, and asks them to sign in again later', async () => {
    const t = await app({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: 'https://app.example.com' })
    const { access_token } = await (await googleLogin(t, googleUser())).json()
    // The sign-in itself is the recent proof (auth_time): no password exists to send.
    expect((await t.post('/api/v1/auth/passkeys/registration/options', undefined, access_token)).status).toBe(200)
    t.clock.advance(601)
    const stale = await t.post('/api/v1/auth/passkeys/registration/options', undefined, access_token)
    expect(stale.status).toBe(403)
    expect(await stale.json()).toMatchObject({ code: 'reauthentication_required' })
  })
})

describe('redirect_uri', () => {
  const nearMisses = [
    'https://app.example.com.evil.com/oauth/callback',
    'https://app.example.com@evil.com/oauth/callback',
    'https://APP.example.com/oauth/callback',
    'https://app.example.com/OAuth/callback',
    'https://app.example.com/oauth/callback/',
    'https://app.example.com/oauth/callback?next=https://evil.com',
    'https://app.example.com/oauth/callback#',
    'http://app.example.com/oauth/callback',
    'https://app.example.com:443/oauth/callback',
    'https://app.example.com/oauth/callback/../callback',
    ' https://app.example.com/oauth/callback',
    'https://app.example.com/oauth',
  ]
  for (const uri of nearMisses) {
    it(`refuses ${JSON.stringify(uri)} with 422 before any provider is called`, async () => {
      const t = await app()
      const code = await idp.authorize(googleUser(), { redirectUri: REDIRECT })
      const before = { oidc: idp.tokenRequests.length, graph: graph.requests.length }
      for (const provider of ['google', 'facebook', 'outlook']) {
        const res = await t.post(CALLBACK, { provider, code, redirect_uri: uri })
        expect(res.status).toBe(422)
        expect(await res.json()).toEqual({
          ...problem(422, 'validation_failed'),
          errors: [{ field: 'redirect_uri', message: 'is not an allowed redirect URI' }],
        })
      }
      expect({ oidc: idp.tokenRequests.length, graph: graph.requests.length }).toEqual(before)
      // The code is still good: only the exact URI redeems it.
      expect((await t.post(CALLBACK, { provider: 'google', code, redirect_uri: REDIRECT })).status).toBe(200)
    })
  }

  it('accepts every URI of a comma-separated allowlist, exactly', async () => {
    const t = await app({ OAUTH_REDIRECT_URIS: `${REDIRECT}, http://localhost:5173/callback` })
    const code = await idp.authorize(googleUser(), { redirectUri: 'http://localhost:5173/callback' })
    expect((await t.post(CALLBACK, { provider: 'google', code, redirect_uri: 'http://localhost:5173/callback' })).status).toBe(200)
  })

  it('refuses everything when no redirect URI is configured', async () => {
    const t = await app({ OAUTH_REDIRECT_URIS: '' })
    const res = await t.post(CALLBACK, { provider: 'google', code: 'c', redirect_uri: REDIRECT })
    expect(res.status).toBe(422)
  })
})

describe('providers', () => {
  it('answers an unknown provider 422', async () => {
    const t = await app()
    const res = await t.post(CALLBACK, { provider: 'github', code: 'c', redirect_uri: REDIRECT })
    expect(res.status).toBe(422)
    expect(await res.json()).toEqual({
      ...problem(422, 'validation_failed'),
      errors: [{ field: 'provider', message: 'must be one of "google", "facebook", "outlook"' }],
    })
  })

  it('answers a provider this server has not configured 422 provider_not_configured', async () => {
    const t = await app({ FACEBOOK_CLIENT_ID: '', FACEBOOK_CLIENT_SECRET: '' })
    const res = await t.post(CALLBACK, { provider: 'facebook', code: 'c', redirect_uri: REDIRECT })
    expect(res.status).toBe(422)
    expect(await res.json()).toEqual({
      ...problem(422, 'provider_not_configured', 'Sign-in with facebook is not configured on this server.'),
      errors: [{ field: 'provider', message: 'is not configured on this server' }],
    })
  })
})

describe('a provider that fails', () => {
  it('answers 503 when the token endpoint is down, and creates nobody', async () => {
    const t = await app({ GOOGLE_TOKEN_URL: `${await closedPort()}/token` })
    const claims = googleUser()
    const res = await googleLogin(t, claims)
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual(problem(503, 'provider_unavailable', 'The google sign-in service could not be reached; try again.'))
    expect(await usersWithEmail(t, String(claims.email))).toBe(0)
  })

  it('answers 503 when the token endpoint does not answer in time', async () => {
    const silent = await startSilentServer()
    try {
      const t = await app({ GOOGLE_TOKEN_URL: `${silent.url}/token`, OAUTH_TIMEOUT_MS: '150' })
      const res = await googleLogin(t, googleUser())
      expect(res.status).toBe(503)
      expect((await res.json()).code).toBe('provider_unavailable')
    } finally {
      await silent.stop()
    }
  })

  it('answers 502 on a 5xx from the token endpoint, and creates nobody', async () => {
    const t = await app()
    const claims = googleUser()
    const code = await idp.authorize(claims, { redirectUri: REDIRECT, failWith: 500 })
    const res = await t.post(CALLBACK, { provider: 'google', code, redirect_uri: REDIRECT })
    expect(res.status).toBe(502)
    expect(await res.json()).toEqual(problem(502, 'provider_error', 'The google sign-in service answered with an error; try again.'))
    expect(await usersWithEmail(t, String(claims.email))).toBe(0)
  })

  it('answers 503 when the provider’s keys cannot be fetched, and creates nobody', async () => {
    const t = await app({ GOOGLE_JWKS_URL: `${await closedPort()}/jwks` })
    const claims = googleUser()
    const res = await googleLogin(t, claims)
    expect(res.status).toBe(503)
    expect(await usersWithEmail(t, String(claims.email))).toBe(0)
  })

  it('never puts the client secret or a provider token in a log line or a response', async () => {
    const t = await app()
    try {
      const bodies: string[] = []
      const call = async (body: object) => bodies.push(await (await t.post(CALLBACK, body)).text())
      const claims = googleUser()
      const code = await idp.authorize(claims, { redirectUri: REDIRECT })
      await call({ provider: 'google', code, redirect_uri: REDIRECT })
      await call({ provider: 'google', code, redirect_uri: REDIRECT })
      await call({ provider: 'google', code: await idp.authorize(googleUser({ aud: 'x' }), { redirectUri: REDIRECT }), redirect_uri: REDIRECT })
      await call({ provider: 'google', code: await idp.authorize(googleUser(), { redirectUri: REDIRECT, failWith: 503 }), redirect_uri: REDIRECT })
      graph.failMeWith(500)
      await call({ provider: 'facebook', code: graph.issueCode({ id: 'fb-leak', email: uniqueEmail('fb') }, REDIRECT), redirect_uri: REDIRECT })
      graph.failMeWith(undefined)
      const secrets = [CLIENT.secret, code, ...idp.issued, ...graph.issued]
      const logged = t.logs.map((line) => JSON.stringify(line))
      expect(logged.length).toBeGreaterThan(0)
      // The reason is logged as fields an operator can search, not as "[object Object]".
      const refused = t.logs.filter((line) => line.code === 'oauth_failed')
      expect(refused.length).toBeGreaterThan(0)
      for (const line of refused) expect(line.internal).toMatchObject({ provider: 'google' })
      expect(logged.join('\n')).not.toContain('[object Object]')
      for (const text of [...logged, ...bodies]) for (const secret of secrets) expect(text).not.toContain(secret)
    } finally {
      graph.failMeWith(undefined)
    }
  })
})

describe('POST /api/v1/auth/oauth/callback with Facebook (Graph API)', () => {
  it('creates a user from /me, and the same Facebook id logs in as that user again', async () => {
    const t = await app()
    const user = { id: `${Date.now()}${Math.floor(Math.random() * 1e6)}`, name: 'Hedy Lamarr', email: uniqueEmail('fb') }
    const res = await t.post(CALLBACK, { provider: 'facebook', code: graph.issueCode(user, REDIRECT), redirect_uri: REDIRECT })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body).toEqual(signedIn({ user_id: expect.any(String), email: user.email, full_name: 'Hedy Lamarr', organization_id: expect.any(String), organization_name: "Hedy Lamarr's organization", is_new_user: true }))
    const me = await (await t.get('/api/v1/auth/me', body.access_token)).json()
    // Graph has no verification flag: a Facebook email is not taken as verified.
    expect(me).toMatchObject({ oauth_provider: 'facebook', is_verified: false })
    const again = await t.post(CALLBACK, { provider: 'facebook', code: graph.issueCode({ ...user, email: uniqueEmail('moved') }, REDIRECT), redirect_uri: REDIRECT })
    expect(await again.json()).toMatchObject({ user_id: body.user_id, is_new_user: false })
  })

  it('never links a Facebook email to an existing account', async () => {
    const t = await app()
    const local = await t.register()
    await t.db.update(users).set({ isVerified: true }).where(eq(users.id, local.user_id))
    const res = await t.post(CALLBACK, { provider: 'facebook', code: graph.issueCode({ id: `fb-${randomUUID()}`, name: 'X', email: local.email }, REDIRECT), redirect_uri: REDIRECT })
    expect(res.status).toBe(409)
    expect(await sessionsOf(t, local.user_id)).toBe(1)
  })

  it('answers a reused code 401 and a Graph failure 502, creating nobody', async () => {
    const t = await app()
    const user = { id: `fb-${randomUUID()}`, name: 'Reuse', email: uniqueEmail('fb') }
    const code = graph.issueCode(user, REDIRECT)
    expect((await t.post(CALLBACK, { provider: 'facebook', code, redirect_uri: REDIRECT })).status).toBe(200)
    const reused = await t.post(CALLBACK, { provider: 'facebook', code, redirect_uri: REDIRECT })
    expect(reused.status).toBe(401)
    expect(await reused.json()).toEqual(problem(401, 'oauth_failed'))

    const other = { id: `fb-${randomUUID()}`, name: 'Down', email: uniqueEmail('fb') }
    graph.failMeWith(500)
    try {
      const res = await t.post(CALLBACK, { provider: 'facebook', code: graph.issueCode(other, REDIRECT), redirect_uri: REDIRECT })
      expect(res.status).toBe(502)
    } finally {
      graph.failMeWith(undefined)
    }
    expect(await usersWithEmail(t, other.email)).toBe(0)
  })

  it('answers 422 oauth_email_missing when a new Facebook user shares no email', async () => {
    const t = await app()
    const res = await t.post(CALLBACK, { provider: 'facebook', code: graph.issueCode({ id: `fb-${randomUUID()}`, name: 'No Mail' }, REDIRECT), redirect_uri: REDIRECT })
    expect(res.status).toBe(422)
    expect((await res.json()).code).toBe('oauth_email_missing')
  })
})

describe('POST /api/v1/auth/oauth/callback with Outlook (Microsoft identity platform)', () => {
  const microsoft = (tid: string, overrides: Claims = {}): Claims => ({
    sub: `pairwise-${randomUUID()}`,
    tid,
    oid: randomUUID(),
    iss: `${idp.url}/${tid}/v2.0`,
    email: uniqueEmail('ms'),
    name: 'Katherine Johnson',
    ...overrides,
  })
  const outlookLogin = async (t: TestApp, claims: Claims) =>
    t.post(CALLBACK, { provider: 'outlook', code: await idp.authorize(claims, { redirectUri: REDIRECT }), redirect_uri: REDIRECT })

  it('identifies the user by tenant and object id, never by the email claim', async () => {
    const t = await app()
    const claims = microsoft(randomUUID())
    const res = await outlookLogin(t, claims)
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body).toMatchObject({ email: claims.email, full_name: 'Katherine Johnson', is_new_user: true })
    const [identity] = await t.db.select().from(oauthIdentities).where(eq(oauthIdentities.userId, body.user_id))
    expect(identity).toMatchObject({ provider: 'outlook', subject: `${claims.tid}:${claims.oid}` })
    // The same object with a changed email is the same user.
    const renamed = await outlookLogin(t, { ...claims, email: uniqueEmail('renamed') })
    expect(await renamed.json()).toMatchObject({ user_id: body.user_id, is_new_user: false })
    // The same oid in another tenant is someone else.
    const otherTenant = await outlookLogin(t, microsoft(randomUUID(), { oid: claims.oid }))
    expect(await otherTenant.json()).toMatchObject({ is_new_user: true })
    expect((await (await t.get('/api/v1/auth/me', body.access_token)).json()).oauth_provider).toBe('outlook')
  })

  it('refuses 401 an ID token whose issuer names another tenant than its tid', async () => {
    const t = await app()
    const claims = microsoft(randomUUID(), { iss: `${idp.url}/${randomUUID()}/v2.0` })
    const res = await outlookLogin(t, claims)
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual(problem(401, 'oauth_failed', 'The ID token from outlook is not valid.'))
    expect(await usersWithEmail(t, String(claims.email))).toBe(0)
  })

  it('with a single-tenant configuration, refuses 401 a user of another tenant', async () => {
    const tenant = randomUUID()
    const t = await app({ OUTLOOK_TENANT: tenant })
    expect((await outlookLogin(t, microsoft(tenant))).status).toBe(200)
    expect((await outlookLogin(t, microsoft(randomUUID()))).status).toBe(401)
  })

  it('links only when Microsoft vouches for the email (xms_edov)', async () => {
    const t = await app()
    const local = await t.register()
    await t.db.update(users).set({ isVerified: true }).where(eq(users.id, local.user_id))
    const tid = randomUUID()
    expect((await outlookLogin(t, microsoft(tid, { email: local.email }))).status).toBe(409)
    const vouched = await t.post(CALLBACK, {
      provider: 'outlook',
      code: await idp.authorize(microsoft(tid, { email: local.email, xms_edov: true }), { redirectUri: REDIRECT }),
      redirect_uri: REDIRECT,
      password: local.password,
    })
    expect(await vouched.json()).toMatchObject({ user_id: local.user_id, is_new_user: false })
    const linked = await t.db.select().from(oauthIdentities).where(and(eq(oauthIdentities.userId, local.user_id), eq(oauthIdentities.provider, 'outlook')))
    expect(linked).toHaveLength(1)
  })
})

describe('two-factor', () => {
  it('answers a user with 2FA on with the 2FA challenge, not tokens', async () => {
    const t = await app()
    const claims = googleUser()
    const { user_id } = await (await googleLogin(t, claims)).json()
    await t.db.update(users).set({ totpEnabledAt: new Date() }).where(eq(users.id, user_id))
    const res = await googleLogin(t, claims)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ requires_2fa: true, session_token: expect.any(String) })
    expect(await sessionsOf(t, user_id)).toBe(1)
  })
})

// The client's window is counted first, before the provider hears of the code: a client over
// it must not make us spend our client credentials on the provider's token endpoint (the
// provider would throttle them for every user). Over it, nothing is written.
describe('the per-IP window of the callback', () => {
  const limited = () => testApp({ ip: uniqueIp(), clock: new TestClock(new Date()), env: { ...providerEnv(), RATE_LIMIT_OAUTH_PER_IP: '2/60' } })

  it('answers 429 over the window and signs nobody in, for a known identity or a new one', async () => {
    const t = await limited()
    const known = googleUser()
    const first = await (await googleLogin(t, known)).json()
    expect((await googleLogin(t, known)).status).toBe(200)
    const again = await googleLogin(t, known)
    expect([again.status, again.headers.get('Retry-After')]).toEqual([429, '60'])
    expect(await again.json()).toEqual(problem(429, 'rate_limited', 'Too many requests. Try again in 60 seconds.'))
    const stranger = googleUser()
    expect((await googleLogin(t, stranger)).status).toBe(429)
    expect({ sessions: await sessionsOf(t, first.user_id), strangers: await usersWithEmail(t, stranger.email as string) }).toEqual({ sessions: 2, strangers: 0 })
  })

  it('answers 429 once over, before the token endpoint of the provider is called', async () => {
    const t = await limited()
    expect((await googleLogin(t, googleUser())).status).toBe(200)
    expect((await googleLogin(t, googleUser())).status).toBe(200)
    const code = await idp.authorize(googleUser(), { redirectUri: REDIRECT })
    const before = idp.tokenRequests.length
    for (let i = 0; i < 5; i++)
      expect((await t.post(CALLBACK, { provider: 'google', code, redirect_uri: REDIRECT })).status).toBe(429)
    expect(idp.tokenRequests.length).toBe(before)
  })

  it('counts a callback the provider refuses, and answers 429 before its refusal once over', async () => {
    const t = await limited()
    const bogus = () => t.post(CALLBACK, { provider: 'google', code: 'never-issued', redirect_uri: REDIRECT })
    expect((await bogus()).status).toBe(401)
    expect((await bogus()).status).toBe(401)
    expect((await bogus()).status).toBe(429)
  })
})

// A returning identity's login is decided in SQL (the session or the challenge written only for
// what the account is when the statement runs): it must write exactly what any login writes.
describe('what the login of a returning identity writes', () => {
  const ip = '203.0.113.77'
  const userAgent = 'Returning/1.0'
  const returning = (env: Partial<Bindings> = {}) => testApp({ ip, clock: new TestClock(new Date()), env: { ...providerEnv(), ...env } })
  const login = async (t: TestApp, claims: Claims) =>
    t.request('POST', CALLBACK, { provider: 'google', code: await idp.authorize(claims, { redirectUri: REDIRECT }), redirect_uri: REDIRECT }, { 'User-Agent': userAgent })
  const at = (t: TestApp, seconds = 0) => new Date(t.clock.now().getTime() + seconds * 1000)
  /** Everything of the user's, but the rows the account was created with. */
  async function written(t: TestApp, userId: string, after: { events: number; sessions: string[] }) {
    const events = await t.db.select().from(authEvents).where(eq(authEvents.userId, userId)).orderBy(authEvents.id)
    return {
      sessions: (await t.db.select().from(sessions).where(eq(sessions.userId, userId))).filter((row) => !after.sessions.includes(row.id)),
      refreshTokens: await t.db.select({ sessionId: refreshTokens.sessionId, createdAt: refreshTokens.createdAt, expiresAt: refreshTokens.expiresAt, usedAt: refreshTokens.usedAt }).from(refreshTokens).innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId)).where(eq(sessions.userId, userId)).then((rows) => rows.filter((row) => !after.sessions.includes(row.sessionId))),
      challenges: await t.db.select().from(twoFactorChallenges).where(eq(twoFactorChallenges.userId, userId)),
      events: events.slice(after.events).map(({ id: _, ...row }) => row),
    }
  }
  async function known(t: TestApp) {
    const claims = googleUser()
    const first = await (await login(t, claims)).json()
    const before = {
      events: (await t.db.select().from(authEvents).where(eq(authEvents.userId, first.user_id))).length,
      sessions: (await t.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, first.user_id))).map((row) => row.id),
    }
    return { claims, first, before }
  }

  it('a session, its refresh token and its login event, as any login', async () => {
    const t = await returning()
    const { claims, first, before } = await known(t)
    const res = await login(t, claims)
    expect(res.status).toBe(200)
    const body = await res.json()
    const sessionId = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString()).sid
    expect(await written(t, first.user_id, before)).toEqual({
      sessions: [{ id: sessionId, userId: first.user_id, createdAt: at(t), lastUsedAt: at(t), expiresAt: at(t, 90 * 86400), revokedAt: null, userAgent, ip }],
      refreshTokens: [{ sessionId, createdAt: at(t), expiresAt: at(t, 30 * 86400), usedAt: null }],
      challenges: [],
      events: [
        { createdAt: at(t), type: 'login', outcome: 'success', userId: first.user_id, orgId: first.organization_id, ip, userAgent, detail: { method: 'oauth', session_id: sessionId } },
      ],
    })
    expect((await t.get('/api/v1/auth/me', body.access_token)).status).toBe(200)
  })

  it('with 2FA on, only the challenge and the first factor’s event', async () => {
    const t = await returning()
    const { claims, first, before } = await known(t)
    await t.db.update(users).set({ totpEnabledAt: at(t, -60) }).where(eq(users.id, first.user_id))
    const res = await login(t, claims)
    expect(await res.json()).toEqual({ requires_2fa: true, session_token: expect.any(String) })
    expect(await written(t, first.user_id, before)).toEqual({
      sessions: [],
      refreshTokens: [],
      challenges: [
        { tokenHash: expect.any(String), userId: first.user_id, createdAt: at(t), expiresAt: at(t, 5 * 60), failedAttempts: 0, usedAt: null, userAgent, ip, firstFactorPasskeyId: null },
      ],
      events: [{ createdAt: at(t), type: 'login_first_factor', outcome: 'success', userId: first.user_id, orgId: first.organization_id, ip, userAgent, detail: { method: 'oauth' } }],
    })
  })

  it('an inactive account: 403, and nothing written', async () => {
    const t = await returning()
    const { claims, first, before } = await known(t)
    await t.db.update(users).set({ isActive: false }).where(eq(users.id, first.user_id))
    const res = await login(t, claims)
    expect(await res.json()).toEqual(problem(403, 'account_inactive', 'The account is inactive.'))
    expect(await written(t, first.user_id, before)).toEqual({ sessions: [], refreshTokens: [], challenges: [], events: [] })
  })

  it('revokes the least recently used sessions beyond SESSIONS_PER_USER_MAX, as any login', async () => {
    const t = await returning({ SESSIONS_PER_USER_MAX: '2' })
    const { claims, first } = await known(t)
    t.clock.advance(60)
    const second = await (await login(t, claims)).json()
    t.clock.advance(60)
    const third = await (await login(t, claims)).json()
    const live = async (token: string) => (await t.get('/api/v1/auth/me', token)).status
    expect([await live(first.access_token), await live(second.access_token), await live(third.access_token)]).toEqual([401, 200, 200])
  })
})
