import { neonConfig } from '@neondatabase/serverless'
import { describe, expect, it } from 'vitest'
import ws from 'ws'
import { openDatabase } from '../../db/client'
import { createApp } from '../../functions/app'
import { testBindings } from '../support/app'
import { problem } from '../support/errors'

describe('database unreachable', () => {
  // The Neon driver, pointed at a port where nothing listens: the production code path.
  neonConfig.webSocketConstructor = ws
  const app = createApp({ openDatabase: () => openDatabase({ url: 'postgres://gatehouse@127.0.0.1:9/none', localRelay: '127.0.0.1:9' }) })

  it('answers 503 problem details to register, with nothing of the driver inside', async () => {
    const res = await app.request(
      '/api/v1/auth/register',
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'down@example.com', password: 'correct horse battery', full_name: 'D', organization_name: 'D' }),
      },
      await testBindings(),
    )
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual(problem(503, 'database_unavailable', 'The service is temporarily unavailable.'))
  })

  it('answers 503 in the envelope on /v1, and /health says the database is unreachable', async () => {
    const env = await testBindings()
    const res = await app.request(
      '/v1/login',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'down@example.com', password: 'x'.repeat(10) }) },
      env,
    )
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ success: false, message: 'The service is temporarily unavailable.' })
    const health = await app.request('/health', {}, env)
    expect(health.status).toBe(503)
    expect(await health.json()).toEqual({ status: 'degraded', database: 'unreachable' })
  })
})
