import { neonConfig } from '@neondatabase/serverless'
import { count, like } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import ws from 'ws'
import { openDatabase } from '../../db/client'
import type { RequestDatabase } from '../../db/client'
import { authEvents, rateLimits } from '../../db/schema'
import type { TestWorker } from '../support/worker'
import { startTestWorker } from '../support/worker'

// The Cron Trigger of wrangler.toml, run by workerd through wrangler's /__scheduled.
describe('the retention cron in workerd', () => {
  let worker: TestWorker
  let db: RequestDatabase
  beforeAll(async () => {
    worker = await startTestWorker()
    neonConfig.webSocketConstructor = ws
    db = openDatabase({ url: worker.db.url, localRelay: worker.db.wsProxy })
  })
  afterAll(async () => {
    await worker?.stop()
  })

  it('purges old audit events and ended rate-limit windows, and keeps recent ones', async () => {
    const old = new Date(Date.now() - 400 * 86_400_000)
    await db.insert(authEvents).values([
      { createdAt: old, type: 'login', outcome: 'failure', detail: { marker: 'retention-old' } },
      { createdAt: new Date(), type: 'login', outcome: 'failure', detail: { marker: 'retention-new' } },
    ])
    await db.insert(rateLimits).values([
      { key: 'retention:ip:old', count: 3, windowStartedAt: old },
      { key: 'retention:ip:new', count: 3, windowStartedAt: new Date() },
    ])
    const res = await worker.fetch('/__scheduled?cron=23+*+*+*+*')
    expect(res.status).toBe(200)
    await res.text()
    const markers = (await db.select({ detail: authEvents.detail }).from(authEvents)).map((r) => (r.detail as { marker?: string } | null)?.marker)
    expect(markers.filter(Boolean)).toEqual(['retention-new'])
    expect((await db.select({ key: rateLimits.key }).from(rateLimits).where(like(rateLimits.key, 'retention:%'))).map((r) => r.key)).toEqual([
      'retention:ip:new',
    ])
    expect(await db.select({ n: count() }).from(authEvents)).toEqual([{ n: 1 }])
  })
})
