import { expect } from 'vitest'
import type { TestApp } from './app'
import { referenceTotp } from './rfc6238'

/** A registered user with 2FA on, set up and enabled through the API with the reference implementation's codes. */
export async function withTwoFactor(t: TestApp) {
  const user = await t.register()
  const setup = await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)
  expect(setup.status).toBe(200)
  const { secret } = (await setup.json()) as { secret: string }
  const enable = await t.post('/api/v1/auth/2fa/enable', { code: referenceTotp(secret, t.clock.now()) }, user.access_token)
  expect(enable.status).toBe(200)
  const { recovery_codes } = (await enable.json()) as { recovery_codes: string[] }
  // The enabling code's step is spent: move on to a fresh one.
  t.clock.advance(30)
  const code = () => referenceTotp(secret, t.clock.now())
  return { ...user, secret, recoveryCodes: recovery_codes, code, wrong: () => wrongCode(code()) }
}

/** A code of the right shape that is not `right`. */
export const wrongCode = (right: string) => String((Number(right) + 1) % 1_000_000).padStart(6, '0')

/** Signs in with the password and returns the 2FA challenge's session_token (`/v1/login` answers in its envelope). */
export async function challenge(t: TestApp, user: { email: string; password: string }, path = '/api/v1/auth/login') {
  const res = await t.post(path, { email: user.email, password: user.password })
  expect(res.status).toBe(200)
  const body = (await res.json()) as Record<string, any>
  return (path.startsWith('/v1') ? body.data : body).session_token as string
}

export const verify = (t: TestApp, session_token: string, code: string) => t.post('/api/v1/auth/2fa/verify', { session_token, code })
