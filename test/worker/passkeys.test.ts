import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestWorker } from '../support/worker'
import { startTestWorker } from '../support/worker'
import { softwareAuthenticator } from '../support/webauthn-authenticator'

// The ceremonies in workerd: its Web Crypto verifies each algorithm we offer.
const ORIGIN = 'https://app.example.com'

describe('passkeys in workerd', () => {
  let worker: TestWorker
  beforeAll(async () => {
    worker = await startTestWorker({ WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: ORIGIN })
  })
  afterAll(() => worker?.stop())

  const post = async (path: string, body: unknown, token?: string) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    if (token) headers.Authorization = `Bearer ${token}`
    const res = await worker.fetch(path, { method: 'POST', headers, body: JSON.stringify(body) })
    return { status: res.status, body: (await res.json()) as any }
  }

  it.each(['ES256', 'RS256', 'EdDSA'] as const)('registers a %s passkey and signs in with it', async (algorithm) => {
    const password = 'correct horse battery staple'
    const email = `workerd-${algorithm}-${Date.now()}@example.com`
    const user = await post('/api/v1/auth/register', { email, password, full_name: 'Ada', organization_name: 'Engines' })
    expect(user.status).toBe(201)
    const device = softwareAuthenticator({ origin: ORIGIN, algorithm })
    const options = await post('/api/v1/auth/passkeys/registration/options', { password }, user.body.access_token)
    const { json } = await device.register(options.body)
    expect((await post('/api/v1/auth/passkeys/registration', { credential: json }, user.body.access_token)).status).toBe(201)
    const login = await post('/v1/passkeys/login/options', { email })
    const signedIn = await post('/v1/passkeys/login', { credential: await device.authenticate(login.body.data) })
    expect(signedIn).toMatchObject({ status: 200, body: { success: true, data: { user: { id: user.body.user_id, email } } } })
  })
})
