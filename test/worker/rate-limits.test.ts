import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uniqueIp } from '../support/ip'
import type { TestWorker } from '../support/worker'
import { startTestWorker } from '../support/worker'

// The limits on the production path: the built Worker in workerd, counters in Postgres
// reached through the Neon driver.
describe('rate limits in workerd', () => {
  let worker: TestWorker
  beforeAll(async () => {
    worker = await startTestWorker({ RATE_LIMIT_LOGIN_PER_IP: '8/60' })
  })
  afterAll(() => worker?.stop())

  const post = (path: string, body: unknown, ip: string) =>
    worker.fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': ip },
      body: JSON.stringify(body),
    })
  const password = 'correct horse battery staple'

  it('locks an account after 5 failures, refuses even the right password, and limits the IP whatever X-Forwarded-For says', async () => {
    const ip = uniqueIp()
    const email = `locked-${Date.now()}@example.com`
    expect((await post('/api/v1/auth/register', { email, password, full_name: 'L', organization_name: 'L' }, uniqueIp())).status).toBe(201)
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await post('/api/v1/auth/login', { email, password: 'wrong password' }, ip)).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401])

    const locked = await post('/v1/login', { email, password }, ip)
    expect(locked.status).toBe(429)
    expect(Number(locked.headers.get('Retry-After'))).toBeGreaterThan(25)
    expect(await locked.json()).toEqual({ success: false, message: 'Too Many Attempts.' })

    // Six hits from this IP so far; the window holds 8.
    for (let i = 0; i < 2; i++) await post('/api/v1/auth/login', { email: `x${i}-${email}`, password }, ip)
    const spoofed = await worker.fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': ip, 'X-Forwarded-For': uniqueIp() },
      body: JSON.stringify({ email: `other-${email}`, password }),
    })
    expect(spoofed.status).toBe(429)
    expect(await spoofed.json()).toMatchObject({ code: 'rate_limited', status: 429 })
  })
})
