import { neonConfig } from '@neondatabase/serverless'
import ws from 'ws'
import { openDatabase } from '../../db/client'
import type { RequestDatabase } from '../../db/client'
import { createApp } from '../../functions/app'
import type { Bindings } from '../../functions/config'
import { TEST_CLOCK_START } from './clock'
import { uniqueIp } from './ip'
import type { FaultLink, TestPostgresOptions } from './postgres'
import { captureLogs, noteEnvSecrets, noteSecrets } from './logs'
import { TEST_DATA_KEY, TEST_ISSUER, testRsaKey } from './keys'

export { uniqueIp }

/**
 * The database of this test file, reached exactly as the Worker reaches Neon: the Neon
 * driver over HTTP (and a WebSocket for interactive transactions) to the local relay, in
 * front of a copy of the migrated PGlite template served over the Postgres protocol, or,
 * when TEST_DATABASE_URL names a real Postgres, a fresh database there.
 */
interface TestDatabase {
  db: RequestDatabase
  /** SQL-over-HTTP requests and WebSockets the relay has served so far. */
  counts: () => { httpRequests: number; webSockets: number }
  /** The fault proxy and leak checks, when the file asked for them (`testDatabase({ faults: true })`). */
  faults?: FaultLink
  close: () => Promise<void>
}

let current: Promise<TestDatabase> | undefined

async function createTestDatabase(options: TestPostgresOptions): Promise<TestDatabase> {
  const { startTestPostgres } = await import('./postgres')
  const pg = await startTestPostgres(options)
  neonConfig.webSocketConstructor = ws // Node 20 has no WebSocket of its own
  return { db: openDatabase({ url: pg.url, localRelay: pg.wsProxy }), counts: pg.counts, faults: pg.faults, close: () => pg.close() }
}

/** This test file's database; the options of the first call decide how it is reached. */
export const testDatabase = (options: TestPostgresOptions = {}) => (current ??= createTestDatabase(options))

export async function closeTestDatabases() {
  const db = current
  current = undefined
  if (db) await (await db).close()
}

/** The injected clock; it starts at TEST_CLOCK_START (./clock) and moves only when told. */
export class TestClock {
  constructor(public current = new Date(TEST_CLOCK_START)) {}
  now = () => new Date(this.current)
  advance(seconds: number) {
    this.current = new Date(this.current.getTime() + seconds * 1000)
  }
}

export async function testBindings(overrides: Partial<Bindings> = {}): Promise<Bindings> {
  return {
    ENVIRONMENT: 'test',
    DATABASE_URL: 'postgres://unused',
    JWT_ALG: 'RS256',
    JWT_KEYS: JSON.stringify([(await testRsaKey()).private]),
    JWT_ISSUER: TEST_ISSUER,
    DATA_ENCRYPTION_KEYS: JSON.stringify([TEST_DATA_KEY]),
    // /dev/mail also needs ENVIRONMENT=development, which only the tests reading mail set.
    DEV_MAIL: 'on',
    ...overrides,
  }
}

let emails = 0
/** An email no other test of this process uses, so tests can share a database. */
export const uniqueEmail = (prefix = 'user') => `${prefix}-${process.pid}-${Date.now()}-${++emails}@example.com`

/** Bodies in tests are read loosely: the assertions state their shape. */
export type TestResponse = Omit<Response, 'json'> & { json(): Promise<any> }

interface RegisterResponse {
  user_id: string
  email: string
  full_name: string
  organization_id: string
  organization_name: string
  access_token: string
  token_type: 'bearer'
  expires_in: number
  refresh_token: string
}

export interface TestAppOptions {
  env?: Partial<Bindings>
  clock?: TestClock
  fetch?: typeof fetch
  /**
   * The CF-Connecting-IP of this app's requests, as Cloudflare's edge would set it. A string:
   * every request comes from that one client. `null`: no header, as in local development.
   * Default: each request from an address of its own (`uniqueIp()`), as if every request
   * were another client, so per-IP limits reach only the tests that are about them (a test
   * may fire 20 registrations at once from one app to race them).
   */
  ip?: string | null
}

/** The app as the Worker runs it, called in-process through `app.request`. */
export async function testApp(options: TestAppOptions = {}) {
  const database = await testDatabase()
  const clock = options.clock ?? new TestClock()
  const logs = captureLogs()
  const app = createApp({ openDatabase: () => database.db, now: clock.now, fetch: options.fetch, log: logs.sink })
  const env = await testBindings(options.env)
  noteEnvSecrets(env as unknown as Record<string, string>)
  const ip = options.ip
  const client = (): Record<string, string> => (ip === null ? {} : { 'CF-Connecting-IP': ip ?? uniqueIp() })

  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<TestResponse> => {
    const init = {
      method,
      headers: { ...client(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    }
    const res = await app.request(path, init, env)
    // Every secret a test sends or receives is looked for in the logs after the file (setup.ts).
    noteSecrets(init, res.status, await res.clone().text())
    return res
  }
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })

  async function register(fields: Partial<{ email: string; password: string; full_name: string; organization_name: string }> = {}) {
    const input = {
      email: uniqueEmail(),
      password: 'correct horse battery staple',
      full_name: 'Ada Lovelace',
      organization_name: 'Analytical Engines',
      ...fields,
    }
    // Each helper registration is a new client, even in a one-client app: tests that set up
    // many users stay clear of the per-IP registration limit, which has tests of its own.
    const res = await request('POST', '/api/v1/auth/register', input, { 'CF-Connecting-IP': uniqueIp() })
    if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`)
    const body: RegisterResponse = await res.json()
    return { ...input, ...body }
  }

  return {
    app,
    env,
    clock,
    ip,
    /** Every line this app logged, parsed. */
    logs: logs.lines,
    db: database.db,
    /** The database requests (HTTP) and connections (WebSocket) made while `work` runs. */
    async roundTrips(work: () => Promise<unknown>) {
      const before = database.counts()
      await work()
      const after = database.counts()
      return { http: after.httpRequests - before.httpRequests, webSockets: after.webSockets - before.webSockets }
    },
    request,
    bearer,
    register,
    get: (path: string, token?: string) => request('GET', path, undefined, token ? bearer(token) : {}),
    post: (path: string, body?: unknown, token?: string) => request('POST', path, body, token ? bearer(token) : {}),
    patch: (path: string, body?: unknown, token?: string) => request('PATCH', path, body, token ? bearer(token) : {}),
    delete: (path: string, token?: string) => request('DELETE', path, undefined, token ? bearer(token) : {}),
  }
}

export type TestApp = Awaited<ReturnType<typeof testApp>>
