import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Bindings } from '../../functions/config'
import { TestClock, testApp, uniqueEmail } from '../support/app'
import { codeChallenge, providerEnv, useOAuthServers } from '../support/oauth'
import { problem } from '../support/errors'

// Production guardrails (issue #13 §5): settings that are unsafe on a reachable deployment.

const INTERNAL_ERROR = problem(500, 'internal_error', 'An unexpected error occurred.')

describe('APP_URL in production', () => {
  for (const [what, value] of [
    ['unset (mailed links would point at localhost)', undefined],
    ['plain http', 'http://app.example'],
    ['not a URL', 'app.example'],
  ] as const) {
    it(`refuses to serve when it is ${what}, and says nothing of why on the wire`, async () => {
      const t = await testApp({ env: { ENVIRONMENT: 'production', APP_URL: value } })
      const res = await t.get('/health')
      expect(res.status).toBe(500)
      expect(await res.json()).toEqual({ ...INTERNAL_ERROR, request_id: res.headers.get('x-request-id') })
    })
  }

  it('serves with an https APP_URL; development keeps its localhost default', async () => {
    expect((await (await testApp({ env: { ENVIRONMENT: 'production', APP_URL: 'https://app.example' } })).get('/health')).status).toBe(200)
    expect((await (await testApp({ env: { ENVIRONMENT: 'development', APP_URL: undefined } })).get('/health')).status).toBe(200)
  })
})

describe('GET /dev/mail', () => {
  const mailbox = async (env: Partial<Bindings>) => {
    const t = await testApp({ env })
    const user = await t.register()
    return t.get(`/dev/mail?to=${encodeURIComponent(user.email)}`)
  }

  it('is not served on ENVIRONMENT=development alone: DEV_MAIL=on must say so too', async () => {
    const res = await mailbox({ ENVIRONMENT: 'development', DEV_MAIL: undefined })
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ status: 404, code: 'not_found' })
    expect((await mailbox({ ENVIRONMENT: 'development', DEV_MAIL: 'off' })).status).toBe(404)
    expect((await mailbox({ ENVIRONMENT: 'development', DEV_MAIL: 'on' })).status).toBe(200)
  })

  it("is served in a preview only with DEV_MAIL=on too (the previews' vars set it)", async () => {
    const preview = { ENVIRONMENT: 'preview', APP_URL: 'https://pr-7.example.workers.dev', JWT_ISSUER: 'https://pr-7.example.workers.dev' }
    expect((await mailbox({ ...preview, DEV_MAIL: undefined })).status).toBe(404)
    expect((await mailbox({ ...preview, DEV_MAIL: 'on' })).status).toBe(200)
  })

  it('is never served in production, whatever DEV_MAIL says', async () => {
    expect((await mailbox({ ENVIRONMENT: 'production', APP_URL: 'https://app.example', DEV_MAIL: 'on', MAIL_TRANSPORT: 'outbox' })).status).toBe(404)
  })
})

describe('OAUTH_REQUIRE_PKCE', () => {
  const REDIRECT = 'https://app.example.com/oauth/callback'
  const servers = useOAuthServers()
  // oauth2-mock-server stamps its tokens with the real time: the app's clock must agree.
  const app = (env: Partial<Bindings>) => testApp({ clock: new TestClock(new Date()), env: { ...providerEnv(servers.idp, servers.graph, [REDIRECT]), ...env } })
  const user = () => ({ sub: `google-${randomUUID()}`, email: uniqueEmail('pkce'), email_verified: true, name: 'P' })

  it('when on, refuses a callback without code_verifier (422) before the provider hears of the code', async () => {
    const t = await app({ OAUTH_REQUIRE_PKCE: 'on' })
    for (const provider of ['google', 'facebook', 'outlook']) {
      const code = await servers.idp.authorize(user(), { redirectUri: REDIRECT })
      const before = servers.idp.tokenRequests.length + servers.graph.requests.length
      const res = await t.post('/api/v1/auth/oauth/callback', { provider, code, redirect_uri: REDIRECT })
      expect(res.status).toBe(422)
      expect(await res.json()).toMatchObject({ code: 'validation_failed', errors: [{ field: 'code_verifier', message: 'is required (PKCE) on this server' }] })
      expect(servers.idp.tokenRequests.length + servers.graph.requests.length).toBe(before)
    }
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
    const code = await servers.idp.authorize(user(), { redirectUri: REDIRECT, codeChallenge: codeChallenge(verifier) })
    const res = await t.post('/api/v1/auth/oauth/callback', { provider: 'google', code, redirect_uri: REDIRECT, code_verifier: verifier })
    expect(res.status).toBe(200)
    expect(servers.idp.tokenRequests.at(-1)).toMatchObject({ code, code_verifier: verifier })
  })

  it('is off by default: the contract’s callback without code_verifier still works', async () => {
    const t = await app({})
    const code = await servers.idp.authorize(user(), { redirectUri: REDIRECT })
    expect((await t.post('/api/v1/auth/oauth/callback', { provider: 'google', code, redirect_uri: REDIRECT })).status).toBe(200)
  })

  it('a value that cannot be meant refuses to serve', async () => {
    expect((await (await app({ OAUTH_REQUIRE_PKCE: 'yes please' })).get('/health')).status).toBe(500)
  })
})
