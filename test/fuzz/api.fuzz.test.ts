import fc from 'fast-check'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { routes } from '../../functions/routes'
import { rowsOf } from '../../db/client'
import { testApp, uniqueEmail } from '../support/app'
import type { TestApp } from '../support/app'
import { addMember, registerVerifiedOwner } from '../support/org'
import type { SignedIn } from '../support/org'
import { anyJson, arbitraryFor, pathParam, queryString } from './arbitraries'

// Property-based requests against every route of the route table, both dialects, from each
// endpoint's own declared schema. `npm test` runs a short fixed-seed pass; `npm run fuzz --
// --runs N [--seed S]` runs N per endpoint.
const RUNS = Number(process.env.FUZZ_RUNS ?? 6)
const SEED = Number(process.env.FUZZ_SEED ?? 20261204)
const TIMEOUT_MS = Math.max(60_000, RUNS * 2_000)

/** Everything a rejected request must leave as it was (counters, audit rows and mail may change). */
const STATE_QUERY = sql.raw(
  `select ${['users', 'memberships', 'organizations', 'sessions', 'refresh_tokens', 'email_tokens', 'invitations', 'recovery_codes', 'oauth_identities']
    .map((table) => `(select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from ${table} t) as ${table}`)
    .join(
      ', ',
    )}, (select md5(coalesce(string_agg((t.token_hash, t.user_id, t.expires_at)::text, '|' order by t.token_hash), '')) from two_factor_challenges t) as two_factor_challenges`,
)

const SECRET_FIELD = /password|token|code|secret/i

/** Strings the input holds in secret-named fields, and all other strings it holds. */
function stringsOf(value: unknown, secret = false, out = { secrets: new Set<string>(), others: new Set<string>() }) {
  if (typeof value === 'string') (secret ? out.secrets : out.others).add(value)
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, secret, out)
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) stringsOf(v, secret || SECRET_FIELD.test(k), out)
  return out
}

/**
 * A path parameter as a client can send it: percent-encoded UTF-8 (a lone surrogate becomes
 * U+FFFD, as in any real client), or, for values marked `%raw:`, bytes no encoder would
 * produce (a stray `%`, an encoded lone surrogate, a truncated sequence).
 */
const encodePathParam = (value: string) => (value.startsWith('%raw:') ? value.slice(5) : encodeURIComponent(value.toWellFormed()))

interface Fixture {
  owner: SignedIn
  member: SignedIn
  pool: string[]
}

describe.sequential(`fuzzing every route (${RUNS} runs each, seed ${SEED})`, () => {
  let t: TestApp
  let fixture: Fixture
  const logs: string[] = []
  const original = { log: console.log, warn: console.warn, error: console.error }

  async function freshFixture(): Promise<Fixture> {
    const owner = await registerVerifiedOwner(t, { email: uniqueEmail('fuzz-owner') })
    const member = await addMember(t, owner.access_token, 'member')
    return { owner, member, pool: [owner.email, member.email, owner.user_id, member.user_id, owner.organization_id] }
  }

  beforeAll(async () => {
    t = await testApp({ env: { ENVIRONMENT: 'development' }, ip: null })
    fixture = await freshFixture()
    for (const level of ['log', 'warn', 'error'] as const)
      console[level] = (...args: unknown[]) => void logs.push(args.map((a) => (a instanceof Error ? `${a.stack} ${String(a.cause)}` : String(a))).join(' '))
  })
  afterAll(() => Object.assign(console, original))

  for (const [method, path, endpoint] of routes) {
    const dialect = path.startsWith('/v1/') ? 'v1' : 'api'
    it(
      `${method.toUpperCase()} ${path}`,
      async () => {
        const request = fc.record({
          params: fc.array(pathParam(fixture.pool), { minLength: 3, maxLength: 3 }),
          query: queryString,
          body: fc.oneof(
            { arbitrary: arbitraryFor(endpoint.spec.body, fixture.pool).map((v) => ({ json: v })), weight: 8 },
            { arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((raw) => ({ raw })), weight: 1 },
            { arbitrary: anyJson.map((v) => ({ json: v })), weight: 1 },
          ),
          contentType: fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', undefined),
          auth: fc.constantFrom('owner', 'owner', 'owner', 'none', 'garbage', 'basic', 'none-alg'),
          ip: fc.constantFrom(...Array.from({ length: 40 }, (_, i) => `198.51.100.${i}`), undefined),
        })
        await fc.assert(
          fc.asyncProperty(request, async (r) => {
            let param = 0
            const url = path.replace(/:[a-z_]+/g, () => encodePathParam(r.params[param++] ?? 'x')) + r.query
            const text = 'raw' in r.body ? r.body.raw : JSON.stringify(r.body.json)
            const headers: Record<string, string> = {}
            if (r.contentType) headers['Content-Type'] = r.contentType
            if (r.ip) headers['CF-Connecting-IP'] = r.ip
            if (r.auth === 'owner') headers.Authorization = `Bearer ${fixture.owner.access_token}`
            if (r.auth === 'garbage') headers.Authorization = 'Bearer not.a.token'
            if (r.auth === 'basic') headers.Authorization = 'Basic YWRtaW46YWRtaW4='
            if (r.auth === 'none-alg') headers.Authorization = 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'
            const sendsBody = method !== 'get' && text !== undefined
            const before = rowsOf<Record<string, string>>(await t.db.execute(STATE_QUERY))[0]
            logs.length = 0
            const res = await t.app.request(url, { method: method.toUpperCase(), headers, body: sendsBody ? text : undefined }, t.env)
            const body = await res.text()
            const where = `${method.toUpperCase()} ${url} ${text?.slice(0, 300)} → ${res.status} ${body.slice(0, 300)}`

            // Never a 5xx.
            expect(res.status, where).toBeLessThan(500)
            // Every 4xx in the dialect's error shape.
            if (res.status >= 400) {
              const parsed = JSON.parse(body)
              if (dialect === 'v1') {
                expect(parsed, where).toMatchObject({ success: false, message: expect.any(String) })
                if ('errors' in parsed) expect(typeof parsed.errors, where).toBe('object')
              } else {
                expect(res.headers.get('Content-Type'), where).toBe('application/problem+json')
                expect(parsed, where).toMatchObject({
                  type: expect.any(String),
                  title: expect.any(String),
                  status: res.status,
                  detail: expect.any(String),
                  code: expect.any(String),
                })
              }
            }
            // No secret from the input in the response or a log line.
            const { secrets, others } = stringsOf('json' in r.body ? r.body.json : undefined)
            const seen = [body, ...logs].join('\n')
            for (const secret of secrets) {
              if (secret.length < 8 || others.has(secret) || fixture.pool.includes(secret)) continue
              expect(seen.includes(secret), `${where}: leaked ${JSON.stringify(secret)}`).toBe(false)
            }
            // A rejected request changes no account, session, organization, 2FA or token state.
            if (res.status >= 400) {
              const after = rowsOf<Record<string, string>>(await t.db.execute(STATE_QUERY))[0]
              expect(after, where).toEqual(before)
            }
            t.clock.advance(13)
            // A request may have ended the fixture's session (logout) or locked its login: start afresh.
            if (res.status < 400 && (await t.get('/api/v1/auth/me', fixture.owner.access_token)).status !== 200) fixture = await freshFixture()
          }),
          { numRuns: RUNS, seed: SEED, endOnFailure: true },
        )
      },
      TIMEOUT_MS,
    )
  }
})
