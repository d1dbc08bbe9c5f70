import { readFileSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { migrate } from 'drizzle-orm/pglite/migrator'
import { afterAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import type { Database, RequestDatabase } from '../../db/client'
import * as schema from '../../db/schema'
import { createApp } from '../../functions/app'
import { TestClock, testBindings, uniqueEmail, uniqueIp } from '../support/app'

// The database of this file, with a gate: while it is shut, any statement that writes a
// mail token or a mail waits. A response that comes back while it is shut did none of that work.
// The template when the tier provides one; the postgres tier does not, so migrate a fresh one there.
const template = inject('pgliteTemplate')
const pg = template ? await PGlite.create({ loadDataDir: new Blob([readFileSync(template)]) }) : await PGlite.create()
if (!template) await migrate(drizzle({ client: pg }), { migrationsFolder: 'db/migrations' })
afterAll(() => pg.close())
let release: (() => void) | undefined
let gate: Promise<void> = Promise.resolve()
const shut = () => (gate = new Promise((resolve) => (release = resolve)))
const gated = new Proxy(pg, {
  get(target, key, receiver) {
    const value = Reflect.get(target, key, receiver)
    const call = value as (...args: unknown[]) => unknown
    if (key === 'transaction')
      return async (...args: unknown[]) => {
        await gate
        return call.apply(target, args)
      }
    if (key === 'query')
      return async (query: string, ...rest: unknown[]) => {
        if (/email_tokens|mail_outbox/.test(query)) await gate
        return call.call(target, query, ...rest)
      }
    return typeof value === 'function' ? value.bind(target) : value
  },
})
const db = drizzle({ client: gated, schema }) as unknown as Database

describe('POST /api/v1/auth/password/forgot timing', () => {
  it('answers a real account before its token and mail are written, as it answers an unknown address', async () => {
    // In process, not behind the relay: the gate needs the driver's own `query`. Batches run in turn here.
    const app = createApp({ openDatabase: () => db as unknown as RequestDatabase, now: new TestClock().now })
    const env = await testBindings({ ENVIRONMENT: 'development', APP_URL: 'https://app.example' })
    const email = uniqueEmail()
    const registered = await app.request(
      '/api/v1/auth/register',
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': uniqueIp() },
        body: JSON.stringify({ email, password: 'correct horse battery staple', full_name: 'Ada', organization_name: 'Org' }),
      },
      env,
    )
    expect(registered.status).toBe(201)

    const tasks: Promise<unknown>[] = []
    const ctx = { waitUntil: (p: Promise<unknown>) => void tasks.push(p), passThroughOnException() {}, props: {} }
    const forgot = (address: string) =>
      app.request(
        '/api/v1/auth/password/forgot',
        { method: 'POST', headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': uniqueIp() }, body: JSON.stringify({ email: address }) },
        env,
        ctx,
      )
    shut()
    const known = await forgot(email)
    const unknown = await forgot(uniqueEmail('nobody'))
    expect([known.status, unknown.status]).toEqual([202, 202])
    release!()
    await Promise.all(tasks)
    const mails = await db.select().from(schema.mailOutbox)
    expect(mails.filter((m) => m.to === email).map((m) => m.subject)).toEqual(['Confirm your email address', 'Reset your password'])
  }, 10_000)
})
