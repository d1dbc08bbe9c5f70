import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestWorker } from '../support/worker'
import { startTestWorker } from '../support/worker'

// The real Worker in workerd, reaching its database through the relay as it reaches Neon.
describe('the Worker in workerd', () => {
  let worker: TestWorker
  beforeAll(async () => {
    worker = await startTestWorker()
  })
  afterAll(() => worker?.stop())

  it('answers GET /health with the database reachable', async () => {
    const res = await worker.fetch('/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ok', database: 'ok' })
  })

  it('keeps answering under concurrent requests (one connection each)', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, () => worker.fetch('/health')))
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200))
    await Promise.all(responses.map((r) => r.body?.cancel()))
  })
})
