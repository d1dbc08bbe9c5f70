import { and, desc, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { authEvents, users, webauthnChallenges } from '../../db/schema'
import { testApp, uniqueEmail, uniqueIp } from '../support/app'
import type { TestApp, TestAppOptions } from '../support/app'
import { referenceTotp } from '../support/rfc6238'
import { softwareAuthenticator } from '../support/webauthn-authenticator'
import type { AuthenticatorOptions, SoftwareAuthenticator, Tamper } from '../support/webauthn-authenticator'
import { problem, V1_UNAUTHENTICATED } from '../support/errors'
import { v1SignedIn } from '../support/bodies'

const ORIGIN = 'https://app.example.com'
const WEBAUTHN = { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: ORIGIN }

const passkeyApp = (options: TestAppOptions = {}) => testApp({ ...options, env: { ...WEBAUTHN, ...options.env } })
const authenticator = (options: Partial<AuthenticatorOptions> = {}) => softwareAuthenticator({ origin: ORIGIN, ...options })

type User = Awaited<ReturnType<TestApp['register']>>

/** Registration options for a user, with the password (so tests that move the clock still pass the recent-sign-in rule). */
async function registrationOptions(t: TestApp, user: User) {
  const res = await t.post('/api/v1/auth/passkeys/registration/options', { password: user.password }, user.access_token)
  expect(res.status).toBe(200)
  return res.json()
}

/** A user with a passkey on `device`, added through the API. */
async function withPasskey(t: TestApp, device: SoftwareAuthenticator = authenticator(), user?: User) {
  user ??= await t.register()
  const { json } = await device.register(await registrationOptions(t, user))
  const res = await t.post('/api/v1/auth/passkeys/registration', { name: 'Laptop', credential: json }, user.access_token)
  expect(res.status).toBe(201)
  return { user, device, passkey: await res.json() }
}

async function loginOptions(t: TestApp, body: { email?: string } = {}, path = '/api/v1/auth/passkeys/login/options') {
  const res = await t.post(path, body)
  expect(res.status).toBe(200)
  const json = await res.json()
  return path.startsWith('/v1') ? json.data : json
}

async function signIn(t: TestApp, device: SoftwareAuthenticator, tamper: Tamper = {}, options?: { email?: string }) {
  const credential = await device.authenticate(await loginOptions(t, options), tamper)
  return t.post('/api/v1/auth/passkeys/login', { credential })
}

const passkeyInvalid = problem(401, 'passkey_invalid', 'The passkey could not be verified; ask for new options and try again.')

const lastEvent = async (t: TestApp, userId: string, type: string) => {
  const [row] = await t.db
    .select()
    .from(authEvents)
    .where(and(eq(authEvents.userId, userId), eq(authEvents.type, type)))
    .orderBy(desc(authEvents.id))
    .limit(1)
  return row
}

describe('adding a passkey', () => {
  it('answers creation options for the browser, then stores the credential', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    const options = await registrationOptions(t, user)
    expect(options).toEqual({
      rp: { id: 'example.com', name: 'Gatehouse' },
      user: { id: Buffer.from(user.user_id.replace(/-/g, ''), 'hex').toString('base64url'), name: user.email, displayName: user.full_name },
      challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      pubKeyCredParams: [
        { type: 'public-key', alg: -8 },
        { type: 'public-key', alg: -7 },
        { type: 'public-key', alg: -257 },
      ],
      timeout: 300000,
      excludeCredentials: [],
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'preferred' },
      attestation: 'none',
      extensions: { credProps: true },
    })
    const device = authenticator()
    const { json } = await device.register(options)
    const res = await t.post('/api/v1/auth/passkeys/registration', { name: 'Work laptop', credential: json }, user.access_token)
    expect(res.status).toBe(201)
    const passkey = await res.json()
    expect(passkey).toEqual({ id: expect.any(String), name: 'Work laptop', created_at: t.clock.now().toISOString(), last_used_at: null })
    expect(await (await t.get('/api/v1/auth/passkeys', user.access_token)).json()).toEqual({ passkeys: [passkey] })
    expect(await lastEvent(t, user.user_id, 'passkey_registered')).toMatchObject({ outcome: 'success', detail: { passkey_id: passkey.id } })

    // The next ceremony excludes the authenticator already registered.
    const again = await registrationOptions(t, user)
    expect(again.excludeCredentials).toEqual([{ type: 'public-key', id: json.id, transports: ['internal', 'hybrid'] }])
  })

  it.each(['ES256', 'RS256', 'EdDSA'] as const)('takes a %s credential, which then signs in', async (algorithm) => {
    const t = await passkeyApp()
    const { device } = await withPasskey(t, authenticator({ algorithm }))
    expect((await signIn(t, device)).status).toBe(200)
  })

  it('refuses a credential id registered before, to anyone', async () => {
    const t = await passkeyApp()
    const alice = await withPasskey(t)
    const taken = alice.device.credentials[0]!.id
    for (const user of [alice.user, await t.register()]) {
      const { json } = await authenticator().register(await registrationOptions(t, user), { credentialId: taken })
      const res = await t.post('/api/v1/auth/passkeys/registration', { credential: json }, user.access_token)
      expect(res.status).toBe(409)
      expect(await res.json()).toMatchObject({ code: 'passkey_already_registered' })
    }
  })

  it('refuses the same registration sent twice: its challenge is spent', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    const { json } = await authenticator().register(await registrationOptions(t, user))
    expect((await t.post('/api/v1/auth/passkeys/registration', { credential: json }, user.access_token)).status).toBe(201)
    expect((await t.post('/api/v1/auth/passkeys/registration', { credential: json }, user.access_token)).status).toBe(422)
  })

  it('refuses a response whose id is not the credential in its attestation', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    const { json } = await authenticator().register(await registrationOptions(t, user), { id: Buffer.alloc(16, 3).toString('base64url') })
    expect((await t.post('/api/v1/auth/passkeys/registration', { credential: json }, user.access_token)).status).toBe(422)
    expect(await lastEvent(t, user.user_id, 'passkey_registered')).toMatchObject({ detail: { reason: 'credential_mismatch' } })
  })

  it('refuses a registration answering another user’s challenge', async () => {
    const t = await passkeyApp()
    const alice = await t.register()
    const mallory = await t.register()
    const { json } = await authenticator().register(await registrationOptions(t, alice))
    const res = await t.post('/api/v1/auth/passkeys/registration', { credential: json }, mallory.access_token)
    expect(res.status).toBe(422)
    expect(await res.json()).toMatchObject({ code: 'passkey_registration_invalid' })
    expect(await lastEvent(t, mallory.user_id, 'passkey_registered')).toMatchObject({ outcome: 'failure', detail: { reason: 'challenge_invalid' } })
  })

  it('refuses a registration from an origin that is not configured', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    const { json } = await authenticator().register(await registrationOptions(t, user), { origin: 'https://evil.example' })
    const res = await t.post('/api/v1/auth/passkeys/registration', { credential: json }, user.access_token)
    expect(res.status).toBe(422)
    expect(await res.json()).toEqual(problem(422, 'passkey_registration_invalid', 'The passkey could not be registered; ask for new options and try again.'))
    expect(await lastEvent(t, user.user_id, 'passkey_registered')).toMatchObject({ outcome: 'failure', detail: { reason: 'wrong_origin' } })
  })

  it('refuses a registration whose challenge is more than 5 minutes old', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    const { json } = await authenticator().register(await registrationOptions(t, user))
    t.clock.advance(301)
    expect((await t.post('/api/v1/auth/passkeys/registration', { credential: json }, user.access_token)).status).toBe(422)
  })

  it('needs no password within 10 minutes of signing in', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    t.clock.advance(599)
    expect((await t.post('/api/v1/auth/passkeys/registration/options', undefined, user.access_token)).status).toBe(200)
  })

  it('reads its optional body as it always has: none declared is none, a declared one must be JSON', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    const send = (body: string, type?: string) =>
      t.request('POST', '/api/v1/auth/passkeys/registration/options', body, { ...t.bearer(user.access_token), ...(type ? { 'Content-Type': type } : {}) })
    expect(await (await send('', 'application/json')).json()).toMatchObject({ status: 400, code: 'malformed_json' })
    expect(await (await send('password=x', 'text/plain')).json()).toMatchObject({ status: 400, code: 'unsupported_media_type' })
    expect((await send('{"password": 42}', 'application/json')).status).toBe(422)
    expect((await t.post('/api/v1/auth/passkeys/registration/options', undefined, user.access_token)).status).toBe(200)
  })

  it('needs the password again once the sign-in is more than 10 minutes old', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    t.clock.advance(601)
    const res = await t.post('/api/v1/auth/passkeys/registration/options', undefined, user.access_token)
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ code: 'reauthentication_required' })
    const wrong = await t.post('/api/v1/auth/passkeys/registration/options', { password: 'not the password' }, user.access_token)
    expect(wrong.status).toBe(422)
    expect(await wrong.json()).toMatchObject({ code: 'invalid_credentials', errors: [{ field: 'password', message: 'is incorrect' }] })
    expect((await t.post('/api/v1/auth/passkeys/registration/options', { password: user.password }, user.access_token)).status).toBe(200)
  })

  it('needs no password when PASSKEY_REAUTH_SECONDS is 0', async () => {
    const t = await passkeyApp({ env: { PASSKEY_REAUTH_SECONDS: '0' } })
    const user = await t.register()
    t.clock.advance(3600)
    expect((await t.post('/api/v1/auth/passkeys/registration/options', undefined, user.access_token)).status).toBe(200)
  })

  it('answers 422, not 500, for a credential that is not one', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    await registrationOptions(t, user)
    const bodies = [
      { credential: {} },
      { credential: { id: 'a', rawId: 'a', type: 'public-key', response: { clientDataJSON: 'not base64!', attestationObject: '' } } },
      { credential: { id: 'a', rawId: 'a', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } } },
      { credential: { id: 'a', rawId: 'b', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } } },
    ]
    for (const body of bodies) expect((await t.post('/api/v1/auth/passkeys/registration', body, user.access_token)).status).toBe(422)
  })
})

describe('managing passkeys', () => {
  it('renames and deletes the caller’s own passkeys only', async () => {
    const t = await passkeyApp()
    const { user, passkey } = await withPasskey(t)
    const other = await t.register()
    const renamed = await t.patch(`/api/v1/auth/passkeys/${passkey.id}`, { name: ' Phone ' }, user.access_token)
    expect(await renamed.json()).toEqual({ ...passkey, name: 'Phone' })
    expect((await t.patch(`/api/v1/auth/passkeys/${passkey.id}`, { name: 'Mine' }, other.access_token)).status).toBe(404)
    expect((await t.delete(`/api/v1/auth/passkeys/${passkey.id}`, other.access_token)).status).toBe(404)
    expect((await t.delete('/api/v1/auth/passkeys/not-a-uuid', user.access_token)).status).toBe(404)
    expect((await t.delete(`/api/v1/auth/passkeys/${passkey.id}`, user.access_token)).status).toBe(204)
    expect(await (await t.get('/api/v1/auth/passkeys', user.access_token)).json()).toEqual({ passkeys: [] })
    expect(await lastEvent(t, user.user_id, 'passkey_deleted')).toMatchObject({ outcome: 'success' })
  })

  it('refuses to delete the last way to sign in', async () => {
    const t = await passkeyApp()
    const { user, passkey } = await withPasskey(t)
    const { passkey: second } = await withPasskey(t, authenticator(), user)
    await t.db.update(users).set({ passwordHash: null }).where(eq(users.id, user.user_id))
    // Two passkeys and no password: either may go, but not both.
    expect((await t.delete(`/api/v1/auth/passkeys/${passkey.id}`, user.access_token)).status).toBe(204)
    const res = await t.delete(`/api/v1/auth/passkeys/${second.id}`, user.access_token)
    expect(res.status).toBe(409)
    expect(await res.json()).toMatchObject({ code: 'last_sign_in_method' })
    expect(await lastEvent(t, user.user_id, 'passkey_deleted')).toMatchObject({ outcome: 'denied', detail: { reason: 'last_sign_in_method' } })
    expect(await (await t.get('/api/v1/auth/passkeys', user.access_token)).json()).toEqual({ passkeys: [second] })
  })
})

describe('signing in with a passkey', () => {
  it('answers exactly what a password login answers', async () => {
    const t = await passkeyApp()
    const { user, device, passkey } = await withPasskey(t)
    const options = await loginOptions(t)
    expect(options).toEqual({
      challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      timeout: 300000,
      rpId: 'example.com',
      allowCredentials: [],
      userVerification: 'preferred',
    })
    const res = await t.post('/api/v1/auth/passkeys/login', { credential: await device.authenticate(options) })
    expect(res.status).toBe(200)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const body = await res.json()
    expect(await lastEvent(t, user.user_id, 'login')).toMatchObject({
      outcome: 'success',
      detail: { method: 'passkey', passkey_id: passkey.id, user_verified: true },
    })
    const password = await (await t.post('/api/v1/auth/login', { email: user.email, password: user.password })).json()
    expect(Object.keys(body).sort()).toEqual(Object.keys(password).sort())
    expect(body).toMatchObject({ user_id: user.user_id, email: user.email, organization_id: user.organization_id, token_type: 'bearer' })
    expect((await t.get('/api/v1/auth/me', body.access_token)).status).toBe(200)
    const [listed] = (await (await t.get('/api/v1/auth/passkeys', body.access_token)).json()).passkeys
    expect(listed).toEqual({ ...passkey, last_used_at: t.clock.now().toISOString() })
  })

  it('lists the account’s credentials for an email, and answers the same shape for any other email', async () => {
    const t = await passkeyApp()
    const { user, device } = await withPasskey(t)
    const passwordOnly = await t.register()
    const known = await loginOptions(t, { email: user.email.toUpperCase() })
    expect(known.allowCredentials).toEqual([
      { type: 'public-key', id: Buffer.from(device.credentials[0]!.id).toString('base64url'), transports: ['internal', 'hybrid'] },
    ])
    const shape = (o: any) => ({ ...o, challenge: typeof o.challenge, allowCredentials: o.allowCredentials.map((c: any) => Object.keys(c).sort()) })
    for (const email of [uniqueEmail('nobody'), passwordOnly.email]) {
      const options = await loginOptions(t, { email })
      expect(shape(options)).toEqual(shape(known))
      expect(options.allowCredentials[0].id).toMatch(/^([A-Za-z0-9_-]{22}|[A-Za-z0-9_-]{27}|[A-Za-z0-9_-]{43})$/)
      // Stable: asking twice does not reveal a stand-in by changing.
      expect((await loginOptions(t, { email })).allowCredentials).toEqual(options.allowCredentials)
    }
    expect((await signIn(t, device, {}, { email: user.email })).status).toBe(200)
  })

  it('refuses a challenge used twice (replay)', async () => {
    const t = await passkeyApp()
    const { device } = await withPasskey(t, authenticator({ counter: 'zero' }))
    const credential = await device.authenticate(await loginOptions(t))
    expect((await t.post('/api/v1/auth/passkeys/login', { credential })).status).toBe(200)
    const replay = await t.post('/api/v1/auth/passkeys/login', { credential })
    expect(replay.status).toBe(401)
    expect(await replay.json()).toEqual(passkeyInvalid)
  })

  it('refuses a challenge more than 5 minutes old', async () => {
    const t = await passkeyApp()
    const { device } = await withPasskey(t)
    const credential = await device.authenticate(await loginOptions(t))
    t.clock.advance(301)
    expect((await t.post('/api/v1/auth/passkeys/login', { credential })).status).toBe(401)
  })

  it('refuses a challenge the server never issued, and one issued for a registration', async () => {
    const t = await passkeyApp()
    const { device, user } = await withPasskey(t)
    expect((await signIn(t, device, { challenge: Buffer.alloc(32, 1).toString('base64url') })).status).toBe(401)
    const registration = await registrationOptions(t, user)
    const credential = await device.authenticate({ challenge: registration.challenge, rpId: 'example.com' })
    expect((await t.post('/api/v1/auth/passkeys/login', { credential })).status).toBe(401)
  })

  it('refuses an origin that is not configured', async () => {
    const t = await passkeyApp()
    const { device, user } = await withPasskey(t)
    const res = await signIn(t, device, { origin: 'https://app.example.com.evil.example' })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual(passkeyInvalid)
    // Refused before the challenge is looked up: nothing ties the attempt to an account.
    expect(await lastEvent(t, user.user_id, 'login')).toBeUndefined()
  })

  it('refuses an assertion for another RP ID', async () => {
    const t = await passkeyApp()
    const { device, user } = await withPasskey(t)
    expect((await signIn(t, device, { rpId: 'evil.example' })).status).toBe(401)
    expect(await lastEvent(t, user.user_id, 'login')).toMatchObject({ outcome: 'failure', detail: { method: 'passkey', reason: 'wrong_rp_id' } })
  })

  it('refuses a signature by another key, and an assertion without user presence', async () => {
    const t = await passkeyApp()
    const { device } = await withPasskey(t)
    expect((await signIn(t, device, { wrongKey: true })).status).toBe(401)
    expect((await signIn(t, device, { userPresent: false })).status).toBe(401)
    expect((await signIn(t, device)).status).toBe(200)
  })

  it('never signs user B in with user A’s credential', async () => {
    const t = await passkeyApp()
    const alice = await withPasskey(t)
    const bob = await withPasskey(t)
    // A challenge bound to Bob's account, answered with Alice's passkey.
    const res = await signIn(t, alice.device, {}, { email: bob.user.email })
    expect(res.status).toBe(401)
    expect(await lastEvent(t, alice.user.user_id, 'login')).toMatchObject({ detail: { reason: 'credential_mismatch' } })
    // Alice's credential claiming Bob's user handle.
    expect((await signIn(t, alice.device, { userHandle: bob.device.credentials[0]!.userHandle })).status).toBe(401)
    // Bob's credential id on Alice's signature.
    expect((await signIn(t, alice.device, { id: Buffer.from(bob.device.credentials[0]!.id).toString('base64url') })).status).toBe(401)
    expect((await signIn(t, alice.device)).status).toBe(200)
  })

  it('reports a counter that goes backwards as a possible clone, and refuses it', async () => {
    const t = await passkeyApp()
    const { device, user, passkey } = await withPasskey(t)
    expect((await signIn(t, device)).status).toBe(200) // counter 1
    expect((await signIn(t, device)).status).toBe(200) // counter 2
    const res = await signIn(t, device, { signCount: 1 })
    expect(res.status).toBe(401)
    expect(await lastEvent(t, user.user_id, 'passkey_clone_suspected')).toMatchObject({
      outcome: 'denied',
      detail: { passkey_id: passkey.id, stored_count: 2, received_count: 1, via: 'login' },
    })
    expect((await signIn(t, device)).status).toBe(200) // counter 3: the real one goes on
  })

  it('signs a synced passkey in again and again with its counter at 0', async () => {
    const t = await passkeyApp()
    const { device, user } = await withPasskey(t, authenticator({ counter: 'zero' }))
    for (let i = 0; i < 3; i++) expect((await signIn(t, device)).status).toBe(200)
    expect(await lastEvent(t, user.user_id, 'passkey_clone_suspected')).toBeUndefined()
  })

  it('refuses an assertion without user verification when WEBAUTHN_USER_VERIFICATION is required', async () => {
    const t = await passkeyApp({ env: { WEBAUTHN_USER_VERIFICATION: 'required' } })
    const { device } = await withPasskey(t)
    expect((await loginOptions(t)).userVerification).toBe('required')
    expect((await signIn(t, device, { userVerified: false })).status).toBe(401)
    expect((await signIn(t, device)).status).toBe(200)
  })

  it('says an account is inactive only after its passkey signed', async () => {
    const t = await passkeyApp()
    const { device, user } = await withPasskey(t)
    await t.db.update(users).set({ isActive: false }).where(eq(users.id, user.user_id))
    expect((await signIn(t, device, { wrongKey: true })).status).toBe(401)
    const res = await signIn(t, device)
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ code: 'account_inactive' })
    expect(await lastEvent(t, user.user_id, 'login')).toMatchObject({ outcome: 'denied', detail: { method: 'passkey', reason: 'account_inactive' } })
  })

  it('answers in the /v1 envelope', async () => {
    const t = await passkeyApp()
    const { device, user } = await withPasskey(t)
    const options = await loginOptions(t, { email: user.email }, '/v1/passkeys/login/options')
    const res = await t.post('/v1/passkeys/login', { credential: await device.authenticate(options) })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(v1SignedIn({ id: user.user_id, name: user.full_name, email: user.email }))
    const replay = await t.post('/v1/passkeys/login', { credential: await device.authenticate(options) })
    expect(replay.status).toBe(401)
    expect(await replay.json()).toEqual(V1_UNAUTHENTICATED)
  })

  it('is limited per IP with the password login', async () => {
    const t = await passkeyApp({ ip: uniqueIp(), env: { RATE_LIMIT_LOGIN_PER_IP: '3/60' } })
    const { device } = await withPasskey(t)
    expect((await signIn(t, device)).status).toBe(200) // two hits: options, login
    expect((await t.post('/api/v1/auth/passkeys/login/options', {})).status).toBe(200)
    const limited = await t.post('/api/v1/auth/passkeys/login/options', {})
    expect(limited.status).toBe(429)
    expect(limited.headers.get('Retry-After')).toBeTruthy()
  })
})

describe('passkeys and two-factor authentication', () => {
  const sessionToken = async (t: TestApp, user: User, path = '/api/v1/auth/login') => {
    const body = await (await t.post(path, { email: user.email, password: user.password })).json()
    return (path.startsWith('/v1') ? body.data : body).session_token as string
  }

  it('counts a passkey with user verification as two factors', async () => {
    const t = await passkeyApp()
    const { user, device } = await withPasskey(t)
    await withTwoFactor(t, user)
    expect(await (await signIn(t, device)).json()).toHaveProperty('access_token')
  })

  it('asks a 2FA user for the second factor after a passkey without user verification', async () => {
    const t = await passkeyApp()
    const { user, device } = await withPasskey(t)
    await withTwoFactor(t, user)
    const res = await signIn(t, device, { userVerified: false })
    expect(await res.json()).toEqual({ requires_2fa: true, session_token: expect.any(String) })
  })

  it('never counts one passkey without user verification as both factors', async () => {
    const t = await passkeyApp()
    const { user, device } = await withPasskey(t)
    await withTwoFactor(t, user)
    // The first factor: the passkey, presence only (a stolen security key, no PIN).
    const { session_token } = await (await signIn(t, device, { userVerified: false })).json()
    const optionsRes = await t.post('/api/v1/auth/2fa/passkey-options', { session_token })
    const options = await optionsRes.json()
    // The second factor must then be the PIN or biometric the first one skipped.
    expect(options.userVerification).toBe('required')
    const same = await t.post('/api/v1/auth/2fa/verify', { session_token, credential: await device.authenticate(options, { userVerified: false }) })
    expect(same.status).toBe(401)
    expect(await same.json()).toEqual(passkeyInvalid)
    // With user verification, the same passkey is a second factor.
    const again = await (await t.post('/api/v1/auth/2fa/passkey-options', { session_token })).json()
    const verified = await t.post('/api/v1/auth/2fa/verify', { session_token, credential: await device.authenticate(again) })
    expect(verified.status).toBe(200)
  })

  it('completes a two-step login with a passkey, in both dialects', async () => {
    const t = await passkeyApp()
    const { user, device, passkey } = await withPasskey(t)
    await withTwoFactor(t, user)
    for (const [login, optionsPath, verifyPath] of [
      ['/api/v1/auth/login', '/api/v1/auth/2fa/passkey-options', '/api/v1/auth/2fa/verify'],
      ['/v1/login', '/v1/2fa/passkey-options', '/v1/2fa/verify'],
    ] as const) {
      const session_token = await sessionToken(t, user, login)
      const optionsBody = await (await t.post(optionsPath, { session_token })).json()
      const options = login.startsWith('/v1') ? optionsBody.data : optionsBody
      expect(options.allowCredentials).toEqual([
        { type: 'public-key', id: Buffer.from(device.credentials[0]!.id).toString('base64url'), transports: ['internal', 'hybrid'] },
      ])
      const res = await t.post(verifyPath, { session_token, credential: await device.authenticate(options) })
      expect(res.status).toBe(200)
      const body = await res.json()
      expect(login.startsWith('/v1') ? body.data.token : body.access_token).toEqual(expect.any(String))
      // The session_token is spent.
      expect((await t.post(verifyPath, { session_token, credential: await device.authenticate(options) })).status).toBe(401)
    }
    expect(await lastEvent(t, user.user_id, 'login')).toMatchObject({ outcome: 'success', detail: { method: 'passkey', passkey_id: passkey.id } })
  })

  it('never completes user B’s two-step login with user A’s passkey', async () => {
    const t = await passkeyApp()
    const alice = await withPasskey(t)
    const bob = await withPasskey(t)
    await withTwoFactor(t, bob.user)
    const session_token = await sessionToken(t, bob.user)
    const options = await (await t.post('/api/v1/auth/2fa/passkey-options', { session_token })).json()
    const res = await t.post('/api/v1/auth/2fa/verify', { session_token, credential: await alice.device.authenticate(options) })
    expect(res.status).toBe(401)
    expect(await res.json()).toEqual(passkeyInvalid)
    // A sign-in challenge is not a 2FA challenge, even for the right user.
    const login = await loginOptions(t)
    expect((await t.post('/api/v1/auth/2fa/verify', { session_token, credential: await bob.device.authenticate(login) })).status).toBe(401)
    expect(await lastEvent(t, bob.user.user_id, 'two_factor_code')).toMatchObject({ outcome: 'failure', detail: { via: 'login_passkey' } })
  })

  it('refuses a 2FA passkey challenge issued for another session_token of the same user', async () => {
    const t = await passkeyApp()
    const { user, device } = await withPasskey(t)
    await withTwoFactor(t, user)
    const first = await sessionToken(t, user)
    const second = await sessionToken(t, user)
    const options = await (await t.post('/api/v1/auth/2fa/passkey-options', { session_token: first })).json()
    const res = await t.post('/api/v1/auth/2fa/verify', { session_token: second, credential: await device.authenticate(options) })
    expect(res.status).toBe(401)
  })

  it('answers passkey-options with 401 for a dead session_token and 404 for a user without passkeys', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    await withTwoFactor(t, user)
    expect((await t.post('/api/v1/auth/2fa/passkey-options', { session_token: 'x'.repeat(43) })).status).toBe(401)
    expect((await t.post('/api/v1/auth/2fa/passkey-options', { session_token: await sessionToken(t, user) })).status).toBe(404)
  })

  it('takes a code or a credential at /2fa/verify, not both and not neither', async () => {
    const t = await passkeyApp()
    const res = await t.post('/api/v1/auth/2fa/verify', { session_token: 'x' })
    expect(res.status).toBe(422)
    expect(await res.json()).toMatchObject({ errors: [{ field: 'code', message: 'is required' }] })
    const both = await t.post('/api/v1/auth/2fa/verify', {
      session_token: 'x',
      code: '123456',
      credential: { id: 'a', rawId: 'a', type: 'public-key', response: { clientDataJSON: '', authenticatorData: '', signature: '' } },
    })
    expect(both.status).toBe(422)
  })
})

// Each ceremony decides in fewer round trips (docs/edge-latency.md): a window counted in the
// statement that writes, a challenge spent in the batch it guards. What was refused before
// anything was written still is.
describe('passkey ceremonies in two round trips, refusing as before', () => {
  const registrationChallenges = async (t: TestApp, userId: string) =>
    (
      await t.db
        .select({ hash: webauthnChallenges.challengeHash })
        .from(webauthnChallenges)
        .where(and(eq(webauthnChallenges.userId, userId), eq(webauthnChallenges.ceremony, 'registration')))
    ).length

  it('writes no registration challenge over the hourly window, nor before an old sign-in gives its password', async () => {
    const t = await passkeyApp()
    const user = await t.register()
    for (let i = 0; i < 30; i++) expect((await t.post('/api/v1/auth/passkeys/registration/options', undefined, user.access_token)).status).toBe(200)
    const over = await t.post('/api/v1/auth/passkeys/registration/options', undefined, user.access_token)
    expect(over.status).toBe(429)
    expect(over.headers.get('Retry-After')).toBe('3600')
    expect(await registrationChallenges(t, user.user_id)).toBe(30)
    const later = await t.register()
    t.clock.advance(601)
    expect((await t.post('/api/v1/auth/passkeys/registration/options', undefined, later.access_token)).status).toBe(403)
    expect(await registrationChallenges(t, later.user_id)).toBe(0)
    expect((await t.post('/api/v1/auth/passkeys/registration/options', { password: later.password }, later.access_token)).status).toBe(200)
    expect(await registrationChallenges(t, later.user_id)).toBe(1)
  })

  it('spends no sign-in challenge for a request over the per-IP window', async () => {
    const t = await passkeyApp({ ip: uniqueIp(), env: { RATE_LIMIT_LOGIN_PER_IP: '2/60' } })
    const { device } = await withPasskey(t)
    const credential = await device.authenticate(await loginOptions(t))
    expect((await t.post('/api/v1/auth/passkeys/login/options', {})).status).toBe(200)
    expect((await t.post('/api/v1/auth/passkeys/login', { credential })).status).toBe(429)
    t.clock.advance(61)
    expect((await t.post('/api/v1/auth/passkeys/login', { credential })).status).toBe(200)
  })

  it('audits a rename or a delete only of the caller’s own passkey', async () => {
    const t = await passkeyApp()
    const { passkey } = await withPasskey(t)
    const other = await t.register()
    expect((await t.patch(`/api/v1/auth/passkeys/${passkey.id}`, { name: 'Mine' }, other.access_token)).status).toBe(404)
    expect((await t.delete(`/api/v1/auth/passkeys/${passkey.id}`, other.access_token)).status).toBe(404)
    expect(await lastEvent(t, other.user_id, 'passkey_renamed')).toBeUndefined()
    expect(await lastEvent(t, other.user_id, 'passkey_deleted')).toBeUndefined()
  })

  it('spends no 2FA passkey challenge for an attempt refused over the per-IP window', async () => {
    const t = await passkeyApp({ ip: uniqueIp(), env: { RATE_LIMIT_TWO_FACTOR_PER_IP: '2/60' } })
    const { user, device } = await withPasskey(t)
    await withTwoFactor(t, user)
    const { session_token } = await (await t.post('/api/v1/auth/login', { email: user.email, password: user.password })).json()
    const options = await (await t.post('/api/v1/auth/2fa/passkey-options', { session_token })).json()
    const credential = await device.authenticate(options)
    expect((await t.post('/api/v1/auth/2fa/passkey-options', { session_token })).status).toBe(200)
    expect((await t.post('/api/v1/auth/2fa/verify', { session_token, credential })).status).toBe(429)
    t.clock.advance(61)
    expect((await t.post('/api/v1/auth/2fa/verify', { session_token, credential })).status).toBe(200)
  })

  it('reports a counter that goes backwards at the second factor, charges the attempt and spends the challenge', async () => {
    const t = await passkeyApp()
    const { user, device, passkey } = await withPasskey(t)
    await withTwoFactor(t, user)
    expect((await signIn(t, device)).status).toBe(200) // counter 1, two factors at once
    const { session_token } = await (await t.post('/api/v1/auth/login', { email: user.email, password: user.password })).json()
    const options = await (await t.post('/api/v1/auth/2fa/passkey-options', { session_token })).json()
    const cloned = await t.post('/api/v1/auth/2fa/verify', { session_token, credential: await device.authenticate(options, { signCount: 1 }) })
    expect(cloned.status).toBe(401)
    expect(await cloned.json()).toEqual(passkeyInvalid)
    expect(await lastEvent(t, user.user_id, 'passkey_clone_suspected')).toMatchObject({
      outcome: 'denied',
      detail: { passkey_id: passkey.id, stored_count: 1, received_count: 1, via: 'two_factor' },
    })
    expect(await lastEvent(t, user.user_id, 'two_factor_code')).toMatchObject({ outcome: 'failure', detail: { via: 'login_passkey' } })
    expect((await t.post('/api/v1/auth/2fa/verify', { session_token, credential: await device.authenticate(options) })).status).toBe(401)
  })

  it('spends a 2FA passkey challenge on a refusal: signed again, it is still refused', async () => {
    const t = await passkeyApp()
    const { user, device } = await withPasskey(t)
    await withTwoFactor(t, user)
    const { session_token } = await (await signIn(t, device, { userVerified: false })).json()
    const options = await (await t.post('/api/v1/auth/2fa/passkey-options', { session_token })).json()
    const unverified = await device.authenticate(options, { userVerified: false })
    expect((await t.post('/api/v1/auth/2fa/verify', { session_token, credential: unverified })).status).toBe(401)
    const again = await t.post('/api/v1/auth/2fa/verify', { session_token, credential: await device.authenticate(options) })
    expect(again.status).toBe(401)
    expect(await again.json()).toEqual(passkeyInvalid)
  })
})

async function withTwoFactor(t: TestApp, user: User) {
  const setup = await (await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).json()
  expect((await t.post('/api/v1/auth/2fa/enable', { code: referenceTotp(setup.secret, t.clock.now()) }, user.access_token)).status).toBe(200)
  t.clock.advance(30)
}

describe('the OpenAPI document', () => {
  it('declares every passkey endpoint', async () => {
    const t = await passkeyApp()
    const { paths } = await (await t.get('/openapi.json')).json()
    for (const [path, method] of [
      ['/api/v1/auth/passkeys/registration/options', 'post'],
      ['/api/v1/auth/passkeys/registration', 'post'],
      ['/api/v1/auth/passkeys', 'get'],
      ['/api/v1/auth/passkeys/{id}', 'patch'],
      ['/api/v1/auth/passkeys/{id}', 'delete'],
      ['/api/v1/auth/passkeys/login/options', 'post'],
      ['/api/v1/auth/passkeys/login', 'post'],
      ['/api/v1/auth/2fa/passkey-options', 'post'],
      ['/v1/passkeys/login/options', 'post'],
      ['/v1/passkeys/login', 'post'],
      ['/v1/2fa/passkey-options', 'post'],
    ] as const)
      expect(paths[path]?.[method], `${method} ${path}`).toBeDefined()
  })
})
