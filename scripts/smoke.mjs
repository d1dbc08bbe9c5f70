// `npm run smoke -- --url URL [--mode preview|production] [--wait SECONDS]`: walks a deployed
// Gatehouse the way a client does and stops at the first step that answers wrongly (exit status
// 1). --wait gives a fresh deployment that long to answer /health (it takes seconds to spread).
//   preview     registers throwaway accounts (they die with the preview's database branch) and
//               walks register, email verification (from /dev/mail), login, me, refresh, JWKS,
//               /v1 login and me, 2FA setup/enable/verify and logout.
//   production  (the default: it creates nothing) signs in as SMOKE_EMAIL / SMOKE_PASSWORD, a
//               dedicated account without 2FA, and walks login, me, refresh, JWKS, /v1 login,
//               me and logout, ending every session it opened.
// Tokens, codes and passwords are never printed.
import { createHmac, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ScureBase32Plugin } from '@otplib/plugin-base32-scure'
import { createLocalJWKSet, jwtVerify } from 'jose'

export class SmokeError extends Error {}

const base32 = new ScureBase32Plugin()

/** RFC 6238 TOTP as the contract fixes it: HMAC-SHA-1, 6 digits, 30 s steps. */
export function totp(secretBase32, atMilliseconds) {
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(atMilliseconds / 1000 / 30)))
  let key
  try {
    key = base32.decode(secretBase32)
  } catch {
    throw new SmokeError('2FA setup: the secret is not base32')
  }
  const mac = createHmac('sha1', key).update(counter).digest()
  // RFC 4226 §5.3: dynamic truncation.
  const offset = mac[mac.length - 1] & 0x0f
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

/**
 * @param {{ url: string, mode?: 'preview' | 'production', email?: string, password?: string,
 *   waitSeconds?: number, fetch?: typeof fetch, log?: (line: string) => void, now?: () => number }} options
 * @returns {Promise<string[]>} the steps that passed, in order
 */
export async function smoke({ url, mode = 'production', email, password, waitSeconds = 0, fetch = globalThis.fetch, log = () => {}, now = Date.now }) {
  const base = new URL(url)
  const passed = []
  const step = async (name, run) => {
    const result = await run()
    passed.push(name)
    log(`ok  ${name}`)
    return result
  }

  /** One request; `expect` is the status the step needs. Bodies of failures are shown, never of successes. */
  async function call(name, method, path, { body, token, expect = 200 } = {}) {
    const headers = { Accept: 'application/json' }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (token) headers.Authorization = `Bearer ${token}`
    let res
    try {
      res = await fetch(new URL(path, base), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
    } catch (error) {
      throw new SmokeError(`${name}: ${method} ${path} did not answer (${error.cause?.code ?? error.message})`)
    }
    const text = await res.text()
    if (res.status !== expect) {
      // An error body holds no secret (problem details or the /v1 envelope); a short cut of it
      // says what went wrong.
      throw new SmokeError(`${name}: ${method} ${path} answered ${res.status}, expected ${expect}: ${text.slice(0, 300)}`)
    }
    if (!text) return null
    try {
      return JSON.parse(text)
    } catch {
      throw new SmokeError(`${name}: ${method} ${path} answered ${res.status} with a body that is not JSON`)
    }
  }
  const need = (name, condition, what) => {
    if (!condition) throw new SmokeError(`${name}: ${what}`)
  }

  await step('health', async () => {
    const deadline = Date.now() + waitSeconds * 1000
    for (;;) {
      try {
        const body = await call('health', 'GET', '/health')
        need('health', body?.status === 'ok' && body?.database === 'ok', `expected status and database "ok", got ${JSON.stringify(body)}`)
        return
      } catch (error) {
        if (!(error instanceof SmokeError) || Date.now() >= deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, 2000))
      }
    }
  })

  if (mode === 'preview') {
    email = `smoke-${randomBytes(6).toString('hex')}@example.com`
    password = randomBytes(18).toString('base64url')
    const registered = await step('register', async () => {
      const body = await call('register', 'POST', '/api/v1/auth/register', {
        body: { email, password, full_name: 'Smoke Test', organization_name: 'Smoke Test' },
        expect: 201,
      })
      need('register', body.email === email && body.access_token && body.refresh_token, 'no tokens for the new account')
      return body
    })
    await step('verify email (from /dev/mail)', async () => {
      const { messages } = await call('verify email', 'GET', `/dev/mail?to=${encodeURIComponent(email)}`)
      const token = messages.map((m) => /[?&]token=([^\s&]+)/.exec(m.text)?.[1]).find(Boolean)
      need('verify email', token, 'no verification link in the outbox')
      const body = await call('verify email', 'POST', '/api/v1/auth/verify-email', { body: { token: decodeURIComponent(token) } })
      need('verify email', body.is_verified === true, 'the address is not verified')
    })
    await walkSignedIn({ userId: registered.user_id })
    const { secret } = await step('2FA setup', () => call('2FA setup', 'POST', '/api/v1/auth/2fa/setup', { token: registered.access_token }))
    await step('2FA enable', async () => {
      const body = await call('2FA enable', 'POST', '/api/v1/auth/2fa/enable', { body: { code: totp(secret, now()) }, token: registered.access_token })
      need('2FA enable', body.enabled === true && body.recovery_codes?.length === 10, 'not enabled with 10 recovery codes')
    })
    const verified = await step('2FA verify', async () => {
      const challenge = await call('2FA verify', 'POST', '/api/v1/auth/login', { body: { email, password } })
      need('2FA verify', challenge.requires_2fa === true && challenge.session_token, 'login did not ask for the second factor')
      // The code of the current step was spent by enable (a code works once); the next
      // step's code is inside the one step of drift RFC 6238 §5.2 lets the server accept.
      const body = await call('2FA verify', 'POST', '/api/v1/auth/2fa/verify', {
        body: { session_token: challenge.session_token, code: totp(secret, now() + 30_000) },
      })
      need('2FA verify', body.access_token && body.user_id === registered.user_id, 'no tokens after the second factor')
      return body
    })
    await logout('logout (2FA session)', verified.access_token)
    // The account's first session ends too, so nothing signed in is left behind.
    await logout('logout (first session)', registered.access_token)
    return passed
  }

  need('production', email && password, 'SMOKE_EMAIL and SMOKE_PASSWORD must name the dedicated smoke account')
  await walkSignedIn({})
  return passed

  /** login, me, refresh, JWKS, /v1 login and me, then logout of both sessions it opened. */
  async function walkSignedIn({ userId }) {
    const login = await step('login', async () => {
      const body = await call('login', 'POST', '/api/v1/auth/login', { body: { email, password } })
      need('login', !body.requires_2fa, 'the account has 2FA on; the smoke account must not')
      need('login', body.access_token && body.refresh_token && body.token_type === 'bearer', 'no bearer tokens')
      if (userId) need('login', body.user_id === userId, 'signed in as another user')
      return body
    })
    await step('me', async () => {
      const body = await call('me', 'GET', '/api/v1/auth/me', { token: login.access_token })
      need('me', body.id === login.user_id && body.email === login.email, 'the profile is not the signed-in user')
    })
    const refreshed = await step('refresh', async () => {
      const body = await call('refresh', 'POST', '/api/v1/auth/refresh', { body: { refresh_token: login.refresh_token } })
      need('refresh', body.access_token && body.refresh_token && body.refresh_token !== login.refresh_token, 'no rotated tokens')
      return body
    })
    await step('JWKS verify', async () => {
      const jwks = await call('JWKS verify', 'GET', '/.well-known/jwks.json')
      // The token's own alg is checked against the keys' (jose refuses a mismatch); the list
      // keeps `none` and HMAC out.
      const { payload } = await jwtVerify(refreshed.access_token, createLocalJWKSet(jwks), { algorithms: ['RS256', 'ES256', 'EdDSA'] }).catch((error) => {
        throw new SmokeError(`JWKS verify: the access token does not verify against /.well-known/jwks.json (${error.code ?? error.message})`)
      })
      need('JWKS verify', payload.sub === login.user_id, 'the token names another subject')
    })
    const v1 = await step('/v1 login', async () => {
      const body = await call('/v1 login', 'POST', '/v1/login', { body: { email, password } })
      need('/v1 login', body.success === true && body.data?.token && body.data.token_type === 'Bearer', 'no /v1 token')
      return body.data
    })
    await step('/v1 me', async () => {
      const body = await call('/v1 me', 'GET', '/v1/me', { token: v1.token })
      need('/v1 me', body.success === true && body.data?.id === login.user_id && body.data.email === login.email, 'the /v1 profile is not the user')
    })
    await step('/v1 logout', async () => {
      await call('/v1 logout', 'POST', '/v1/logout', { token: v1.token })
      await call('/v1 logout (token dead)', 'GET', '/v1/me', { token: v1.token, expect: 401 })
    })
    await logout('logout', refreshed.access_token)
  }

  async function logout(name, token) {
    await step(name, async () => {
      await call(name, 'POST', '/api/v1/auth/logout', { token, expect: 204 })
      await call(`${name} (token dead)`, 'GET', '/api/v1/auth/me', { token, expect: 401 })
    })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { url: { type: 'string' }, mode: { type: 'string', default: 'production' }, wait: { type: 'string', default: '0' } },
  })
  if (!values.url || !['preview', 'production'].includes(values.mode) || !/^\d+$/.test(values.wait)) {
    console.error('usage: npm run smoke -- --url URL [--mode preview|production] [--wait SECONDS]')
    process.exit(2)
  }
  console.log(`Smoke test of ${values.url} (${values.mode})`)
  try {
    await smoke({
      url: values.url,
      mode: values.mode,
      email: process.env.SMOKE_EMAIL,
      password: process.env.SMOKE_PASSWORD,
      waitSeconds: Number(values.wait),
      log: console.log,
    })
    console.log('Smoke test passed')
  } catch (error) {
    console.error(error instanceof SmokeError ? `FAILED ${error.message}` : error)
    process.exit(1)
  }
}
