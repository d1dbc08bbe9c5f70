import { sql } from 'drizzle-orm'
import { afterEach, describe, expect, it } from 'vitest'
import { rowsOf } from '../../db/client'
import { TestClock, testApp, testDatabase } from '../support/app'
import type { TestApp, TestResponse } from '../support/app'
import type { Fault } from '../support/fault-proxy'
import { providerEnv, useOAuthServers } from '../support/oauth'
import type { FaultLink } from '../support/postgres'
import { addMember, inviteAndReadToken, lastMailTo, registerOwner, registerVerifiedOwner } from '../support/org'
import { referenceTotp } from '../support/rfc6238'
import { challenge, verify, withTwoFactor } from '../support/two-factor'
import { softwareAuthenticator } from '../support/webauthn-authenticator'

// The link to the database drops inside each multi-statement operation (the issue's §4): a
// proxy between the relay (Neon's endpoint, locally) and Postgres cuts the connection just
// before the operation's transaction commits, or just after Postgres committed it and before
// the answer gets back. The Worker cannot tell the two apart: both answer 503. Before the
// commit nothing may be written and a retry must succeed; after it the change must be whole,
// and a retry gets the contract's answer for a repeat (docs/limits-and-retention.md).

const password = 'correct horse battery staple'
const newPassword = 'a brand new passphrase'

let link: FaultLink
const app = async (env: Record<string, string> = {}) => {
  link = (await testDatabase({ faults: true })).faults!
  return testApp({ env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example', ...env } })
}

async function rows<T = Record<string, unknown>>(t: TestApp, query: ReturnType<typeof sql>): Promise<T[]> {
  return rowsOf<T>(await t.db.execute(query))
}
const one = async (t: TestApp, query: ReturnType<typeof sql>) => Number(Object.values((await rows(t, query))[0]!)[0])

/**
 * Every row of every table but the counters, as one digest per table: "nothing written"
 * means these are equal. Counters count an attempt even when the request then fails:
 * `rate_limits`, and the columns named in `counters` (a 2FA challenge's attempts).
 */
async function snapshot(t: TestApp, counters: Record<string, string[]> = {}): Promise<Record<string, string>> {
  const tables = await rows<{ name: string }>(
    t,
    sql`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'rate_limits' order by 1`,
  )
  const row = (table: string) => (counters[table] ? `(to_jsonb(r) - array[${counters[table].map((c) => `'${c}'`).join(', ')}])::text` : 'r::text')
  const digests = await rows<Record<string, string>>(
    t,
    sql.raw(
      `select ${tables.map(({ name }) => `(select md5(coalesce(string_agg(${row(name)}, ',' order by ${row(name)}), '')) from "${name}" r) as "${name}"`).join(', ')}`,
    ),
  )
  return digests[0]!
}

/** The dialect's 503: a problem document, or the /v1 envelope. */
async function expectUnavailable(res: TestResponse, dialect: 'auth' | 'v1' = 'auth') {
  expect(res.status).toBe(503)
  if (dialect === 'v1') expect(await res.json()).toEqual({ success: false, message: 'The service is temporarily unavailable.' })
  else expect(await res.json()).toMatchObject({ status: 503, code: 'database_unavailable', detail: 'The service is temporarily unavailable.' })
}

async function expectError(res: TestResponse, status: number, code: string) {
  expect({ status: res.status, code: (await res.json()).code }).toEqual({ status, code })
}

/** Runs `request` with `fault` armed and checks the fault fired inside it. */
async function withFault(fault: Fault, request: () => Promise<TestResponse>) {
  const armed = link.proxy.arm(fault)
  try {
    const res = await request()
    expect(armed.fired(), `no statement matched ${fault.sql}`).toBe(true)
    return res
  } finally {
    link.proxy.disarm()
  }
}

// No connection outlives its request: the relay's pool has every client back (none checked
// out, none waiting), its WebSockets are closed, and every server process of the database is
// an idle pool client, none left inside a transaction. A WebSocket's pool ends after the
// answer (db/client.ts), so give it a moment.
afterEach(async () => {
  if (!link) return
  let state: unknown
  for (let i = 0; i < 50; i++) {
    const relay = link.relay()
    const backends = await link.backends()
    state = { relay, backends, proxied: link.proxy.connections }
    if (
      relay.open === relay.idle &&
      relay.waiting === 0 &&
      relay.webSockets === 0 &&
      backends.idle === relay.open &&
      Object.keys(backends).length === 1 &&
      link.proxy.connections === relay.open
    )
      break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const relay = link.relay()
  expect(state).toEqual({ relay: { ...relay, idle: relay.open, waiting: 0, webSockets: 0 }, backends: { idle: relay.open }, proxied: relay.open })
})

interface Operation<C> {
  /** The app's settings beyond the defaults. */
  env?: Record<string, string>
  /** A fresh setting for one run: users, tokens. */
  prepare(t: TestApp): Promise<C>
  /** The statement that marks the operation's own transaction. */
  sql: RegExp
  /** Counter columns that count the attempt even when it fails, by table. */
  counters?: Record<string, string[]>
  send(t: TestApp, c: C): Promise<TestResponse>
  /** The answer when it went through. */
  succeeds(res: TestResponse, c: C): Promise<void>
  /** After the commit: the whole change is there. */
  complete(t: TestApp, c: C): Promise<void>
  /** The answer to the same request once the change is there. */
  repeat(res: TestResponse, t: TestApp, c: C): Promise<void>
}

const operation = <C>(o: Operation<C>) => o

// 2FA turned on, with or without the password: its answer, and the rows it leaves.
async function twoFactorEnabledAnswer(res: TestResponse) {
  expect(res.status).toBe(200)
  expect((await res.json()).recovery_codes).toHaveLength(10)
}
const twoFactorEnabledRows = async (t: TestApp, userId: string) => ({
  enabled: await one(t, sql`select count(*) from users where id = ${userId} and totp_enabled_at is not null`),
  recoveryCodes: await one(t, sql`select count(*) from recovery_codes where user_id = ${userId}`),
  audit: await one(t, sql`select count(*) from auth_events where user_id = ${userId} and type = 'two_factor_enabled'`),
})

const operations = {
  register: operation({
    async prepare() {
      const email = `fault-${crypto.randomUUID()}@example.com`
      return { email, input: { email, password, full_name: 'Ada Lovelace', organization_name: 'Faulty Engines' } }
    },
    sql: /^insert into "users"/,
    send: (t, c) => t.post('/api/v1/auth/register', c.input),
    async succeeds(res, c) {
      expect(res.status).toBe(201)
      expect((await res.json()).email).toBe(c.email)
    },
    async complete(t, c) {
      const [user] = await rows<{ id: string }>(t, sql`select id from users where email_normalized = ${c.email}`)
      expect(user).toBeDefined()
      const id = user!.id
      expect({
        memberships: await one(t, sql`select count(*) from memberships m join organizations o on o.id = m.org_id where m.user_id = ${id} and m.role = 'owner'`),
        sessions: await one(t, sql`select count(*) from sessions where user_id = ${id} and revoked_at is null`),
        refreshTokens: await one(t, sql`select count(*) from refresh_tokens r join sessions s on s.id = r.session_id where s.user_id = ${id}`),
        verificationLinks: await one(t, sql`select count(*) from email_tokens where user_id = ${id} and purpose = 'verify_email'`),
        mails: await one(t, sql`select count(*) from mail_outbox where "to" = ${c.email}`),
        audit: await one(t, sql`select count(*) from auth_events where user_id = ${id} and type = 'register'`),
      }).toEqual({ memberships: 1, sessions: 1, refreshTokens: 1, verificationLinks: 1, mails: 1, audit: 1 })
    },
    repeat: (res) => expectError(res, 409, 'email_taken'),
  }),

  login: operation({
    prepare: (t) => registerOwner(t),
    // The second round trip: the session, the audit row and the counter reset, in one batch.
    sql: /^insert into "sessions"/,
    send: (t, c) => t.post('/api/v1/auth/login', { email: c.email, password: c.password }),
    async succeeds(res, c) {
      expect(res.status).toBe(200)
      expect((await res.json()).user_id).toBe(c.user_id)
    },
    async complete(t, c) {
      // The registration's session and this one, each with its refresh token and audit row.
      expect({
        sessions: await one(t, sql`select count(*) from sessions where user_id = ${c.user_id} and revoked_at is null`),
        refreshTokens: await one(t, sql`select count(*) from refresh_tokens r join sessions s on s.id = r.session_id where s.user_id = ${c.user_id}`),
        audit: await one(t, sql`select count(*) from auth_events where user_id = ${c.user_id} and type = 'login' and outcome = 'success'`),
      }).toEqual({ sessions: 2, refreshTokens: 2, audit: 1 })
    },
    // A login is not idempotent, and need not be: a retry opens another session.
    async repeat(res, t, c) {
      expect(res.status).toBe(200)
      expect(await one(t, sql`select count(*) from sessions where user_id = ${c.user_id} and revoked_at is null`)).toBe(3)
    },
  }),

  refresh: operation({
    prepare: (t) => registerOwner(t),
    // One statement: the per-IP window, spending the token and the new one.
    sql: /update "refresh_tokens" set used_at/,
    send: (t, c) => t.post('/api/v1/auth/refresh', { refresh_token: c.refresh_token }),
    async succeeds(res) {
      expect(res.status).toBe(200)
      expect(Object.keys(await res.json())).toEqual(expect.arrayContaining(['access_token', 'refresh_token']))
    },
    async complete(t, c) {
      expect(
        await rows(
          t,
          sql`select (r.used_at is not null) as used, (s.revoked_at is not null) as revoked from refresh_tokens r join sessions s on s.id = r.session_id where s.user_id = ${c.user_id} order by r.created_at, r.used_at nulls last`,
        ),
      ).toEqual([
        { used: true, revoked: false },
        { used: false, revoked: false },
      ])
    },
    // Reuse detection: the spent token ends the whole session (the contract's "Authentication").
    async repeat(res, t, c) {
      await expectError(res, 401, 'refresh_token_reused')
      expect(await one(t, sql`select count(*) from sessions where user_id = ${c.user_id} and revoked_at is null`)).toBe(0)
    },
  }),

  'password reset': operation({
    async prepare(t) {
      const owner = await registerVerifiedOwner(t)
      expect((await t.post('/api/v1/auth/password/forgot', { email: owner.email })).status).toBe(202)
      const token = /reset-password\?token=([A-Za-z0-9_-]{43})\n/.exec((await lastMailTo(t, owner.email)).text)![1]!
      return { ...owner, token }
    },
    sql: /^update "users" set "password_hash"/,
    send: (t, c) => t.post('/api/v1/auth/password/reset', { token: c.token, password: newPassword }),
    async succeeds(res) {
      expect(res.status).toBe(204)
    },
    async complete(t, c) {
      // A reset ends every session: the lost answer's included.
      expect({
        sessions: await one(t, sql`select count(*) from sessions where user_id = ${c.user_id} and revoked_at is null`),
        unspentLinks: await one(t, sql`select count(*) from email_tokens where user_id = ${c.user_id} and purpose = 'password_reset' and used_at is null`),
        audit: await one(t, sql`select count(*) from auth_events where user_id = ${c.user_id} and type = 'password_reset'`),
        oldPassword: (await t.post('/api/v1/auth/login', { email: c.email, password: c.password })).status,
        newPassword: (await t.post('/api/v1/auth/login', { email: c.email, password: newPassword })).status,
      }).toEqual({ sessions: 0, unspentLinks: 0, audit: 1, oldPassword: 401, newPassword: 200 })
    },
    repeat: (res) => expectError(res, 400, 'email_token_invalid'),
  }),

  'invitation create': operation({
    async prepare(t) {
      return { owner: await registerVerifiedOwner(t), email: `invited-${crypto.randomUUID()}@example.com` }
    },
    // One batch: the two invite windows hit, then the invitation, its mail and its audit row, each only within them.
    sql: /insert into "invitations" \(id, org_id/,
    send: (t, c) => t.post('/api/v1/org/invitations', { email: c.email, role: 'member' }, c.owner.access_token),
    async succeeds(res, c) {
      expect(res.status).toBe(201)
      expect((await res.json()).email).toBe(c.email)
    },
    async complete(t, c) {
      expect({
        invitations: await one(t, sql`select count(*) from invitations where email_normalized = ${c.email} and revoked_at is null`),
        mails: await one(t, sql`select count(*) from mail_outbox where "to" = ${c.email}`),
        audit: await one(
          t,
          sql`select count(*) from auth_events e join invitations i on i.id::text = e.detail->>'invitation_id' where e.type = 'invitation_created' and i.email_normalized = ${c.email}`,
        ),
      }).toEqual({ invitations: 1, mails: 1, audit: 1 })
    },
    // A repeat is a new invitation, which revokes the one the lost answer carried.
    async repeat(res, t, c) {
      expect(res.status).toBe(201)
      expect({
        pending: await one(t, sql`select count(*) from invitations where email_normalized = ${c.email} and revoked_at is null`),
        revoked: await one(t, sql`select count(*) from invitations where email_normalized = ${c.email} and revoked_at is not null`),
      }).toEqual({ pending: 1, revoked: 1 })
    },
  }),

  'invitation accept': operation({
    async prepare(t) {
      const owner = await registerVerifiedOwner(t)
      return { owner, ...(await inviteAndReadToken(t, owner.access_token, 'admin')) }
    },
    sql: /^with changed as \(update "invitations" set "accepted_at"/,
    send: (t, c) => t.post('/api/v1/auth/invitations/accept', { token: c.token, password, full_name: 'Grace Hopper' }),
    async succeeds(res, c) {
      expect(res.status).toBe(201)
      expect((await res.json()).organization_id).toBe(c.owner.organization_id)
    },
    async complete(t, c) {
      expect({
        member: await rows(t, sql`select m.role, m.org_id from users u join memberships m on m.user_id = u.id where u.email_normalized = ${c.email}`),
        accepted: await one(t, sql`select count(*) from invitations where id = ${c.id} and accepted_at is not null`),
        audit: await one(t, sql`select count(*) from auth_events where type = 'invitation_accepted' and detail->>'invitation_id' = ${c.id}`),
        login: (await t.post('/api/v1/auth/login', { email: c.email, password })).status,
      }).toEqual({ member: [{ role: 'admin', org_id: c.owner.organization_id }], accepted: 1, audit: 1, login: 200 })
    },
    repeat: (res) => expectError(res, 400, 'invitation_invalid'),
  }),

  '2FA enable': operation({
    async prepare(t) {
      const user = await registerOwner(t)
      const { secret } = await (await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).json()
      return { ...user, code: referenceTotp(secret, t.clock.now()) }
    },
    sql: /^with changed as \(update "users" set "totp_enabled_at"/,
    send: (t, c) => t.post('/api/v1/auth/2fa/enable', { code: c.code }, c.access_token),
    succeeds: twoFactorEnabledAnswer,
    async complete(t, c) {
      expect(await twoFactorEnabledRows(t, c.user_id)).toEqual({ enabled: 1, recoveryCodes: 10, audit: 1 })
    },
    repeat: (res) => expectError(res, 409, 'two_factor_already_enabled'),
  }),

  // An old sign-in (TWO_FACTOR_REAUTH_SECONDS): the password admitted with the session check;
  // then one batch: its counter reset, the code's attempt admitted (`required`), the change.
  '2FA enable after an old sign-in, with the password': operation({
    env: { TWO_FACTOR_REAUTH_SECONDS: '300' },
    async prepare(t) {
      const user = await registerOwner(t)
      const { secret } = await (await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).json()
      t.clock.advance(301)
      return { ...user, code: referenceTotp(secret, t.clock.now()) }
    },
    sql: /^with changed as \(insert into "rate_limits"/,
    send: (t, c) => t.post('/api/v1/auth/2fa/enable', { code: c.code, password }, c.access_token),
    succeeds: twoFactorEnabledAnswer,
    async complete(t, c) {
      expect({
        ...(await twoFactorEnabledRows(t, c.user_id)),
        counters: await one(t, sql`select count(*) from rate_limits where key like 'login:account:%' or key = ${`2fa:user:${c.user_id}`}`),
      }).toEqual({ enabled: 1, recoveryCodes: 10, audit: 1, counters: 0 })
    },
    repeat: (res) => expectError(res, 409, 'two_factor_already_enabled'),
  }),

  '2FA verify': operation({
    async prepare(t) {
      const user = await withTwoFactor(t)
      return { ...user, sessionToken: await challenge(t, user), at: user.code() }
    },
    // The attempt is charged to the challenge first (its own statement), and handed back with
    // the spend: a lost link keeps the charge, as a wrong code would.
    sql: /^with changed as \(update "two_factor_challenges" set "failed_attempts" = "two_factor_challenges"."failed_attempts" - 1, "used_at"/,
    counters: { two_factor_challenges: ['failed_attempts'] },
    send: (t, c) => verify(t, c.sessionToken, c.at),
    async succeeds(res, c) {
      expect(res.status).toBe(200)
      expect((await res.json()).user_id).toBe(c.user_id)
    },
    async complete(t, c) {
      // The challenge and the TOTP step are spent together; the session is the next round trip's.
      expect({
        spent: await one(t, sql`select count(*) from two_factor_challenges where user_id = ${c.user_id} and used_at is not null`),
        stepStored: await one(t, sql`select count(*) from users where id = ${c.user_id} and totp_last_step is not null`),
      }).toEqual({ spent: 1, stepStored: 1 })
    },
    repeat: (res) => expectError(res, 401, 'challenge_invalid'),
  }),

  // An old sign-in's password (its attempt counted with the session check), then one batch:
  // the registration challenge and the account's counter reset.
  'passkey registration options with the password': operation({
    async prepare(t) {
      const user = await registerOwner(t)
      t.clock.advance(601)
      return user
    },
    sql: /^\s*with swept as \([\s\S]*\), issued as \(\s*insert into "webauthn_challenges"/,
    send: (t, c) => t.post('/api/v1/auth/passkeys/registration/options', { password }, c.access_token),
    async succeeds(res, c) {
      expect(res.status).toBe(200)
      expect((await res.json()).user.name).toBe(c.email)
    },
    async complete(t, c) {
      expect({
        challenges: await one(t, sql`select count(*) from webauthn_challenges where user_id = ${c.user_id} and ceremony = 'registration'`),
        counters: await one(t, sql`select count(*) from rate_limits where key like 'login:account:%'`),
      }).toEqual({ challenges: 1, counters: 0 })
    },
    repeat: async (res) => expect(res.status).toBe(200),
  }),

  // The challenge spent (`required`), the passkey and its audit row: one batch.
  'passkey registration': operation({
    async prepare(t) {
      const user = await registerOwner(t)
      const options = await (await t.post('/api/v1/auth/passkeys/registration/options', undefined, user.access_token)).json()
      return { ...user, credential: (await softwareAuthenticator({ origin: 'https://app.example' }).register(options)).json }
    },
    sql: /^insert into "passkeys"/,
    send: (t, c) => t.post('/api/v1/auth/passkeys/registration', { name: 'Laptop', credential: c.credential }, c.access_token),
    async succeeds(res) {
      expect(res.status).toBe(201)
      expect((await res.json()).name).toBe('Laptop')
    },
    async complete(t, c) {
      expect({
        passkeys: await one(t, sql`select count(*) from passkeys where user_id = ${c.user_id}`),
        challenges: await one(t, sql`select count(*) from webauthn_challenges where user_id = ${c.user_id}`),
        audit: await one(t, sql`select count(*) from auth_events where user_id = ${c.user_id} and type = 'passkey_registered' and outcome = 'success'`),
      }).toEqual({ passkeys: 1, challenges: 0, audit: 1 })
    },
    repeat: (res) => expectError(res, 422, 'passkey_registration_invalid'),
  }),

  // The WebAuthn challenge and the 2FA challenge spent, the counter moved (each `required`),
  // and the session: one batch, after the attempt was charged in the first round trip.
  '2FA verify with a passkey': operation({
    async prepare(t) {
      const user = await withTwoFactor(t)
      const device = softwareAuthenticator({ origin: 'https://app.example' })
      const options = await (await t.post('/api/v1/auth/passkeys/registration/options', undefined, user.access_token)).json()
      const registered = await t.post('/api/v1/auth/passkeys/registration', { credential: (await device.register(options)).json }, user.access_token)
      expect(registered.status).toBe(201)
      const sessionToken = await challenge(t, user)
      const request = await (await t.post('/api/v1/auth/2fa/passkey-options', { session_token: sessionToken })).json()
      return { ...user, sessionToken, credential: await device.authenticate(request) }
    },
    sql: /^with changed as \(delete from "webauthn_challenges"/,
    counters: { two_factor_challenges: ['failed_attempts'] },
    send: (t, c) => t.post('/api/v1/auth/2fa/verify', { session_token: c.sessionToken, credential: c.credential }),
    async succeeds(res, c) {
      expect(res.status).toBe(200)
      expect((await res.json()).user_id).toBe(c.user_id)
    },
    async complete(t, c) {
      expect({
        spent: await one(t, sql`select count(*) from two_factor_challenges where user_id = ${c.user_id} and used_at is not null`),
        challenges: await one(t, sql`select count(*) from webauthn_challenges where user_id = ${c.user_id}`),
        counterMoved: await one(t, sql`select count(*) from passkeys where user_id = ${c.user_id} and last_used_at is not null`),
        sessions: await one(t, sql`select count(*) from sessions where user_id = ${c.user_id} and revoked_at is null`),
        audit: await one(t, sql`select count(*) from auth_events where user_id = ${c.user_id} and type = 'login' and detail->>'method' = 'passkey'`),
      }).toEqual({ spent: 1, challenges: 0, counterMoved: 1, sessions: 2, audit: 1 })
    },
    repeat: (res) => expectError(res, 401, 'challenge_invalid'),
  }),

  'member removal': operation({
    async prepare(t) {
      const owner = await registerVerifiedOwner(t)
      return { owner, member: await addMember(t, owner.access_token, 'member') }
    },
    sql: /^delete from "users"/,
    send: (t, c) => t.delete(`/api/v1/org/members/${c.member.user_id}`, c.owner.access_token),
    async succeeds(res) {
      expect(res.status).toBe(204)
    },
    async complete(t, c) {
      expect({
        user: await one(t, sql`select count(*) from users where id = ${c.member.user_id}`),
        memberships: await one(t, sql`select count(*) from memberships where user_id = ${c.member.user_id}`),
        audit: await one(t, sql`select count(*) from auth_events where type = 'member_removed' and detail->>'target_user_id' = ${c.member.user_id}`),
      }).toEqual({ user: 0, memberships: 0, audit: 1 })
    },
    repeat: (res) => expectError(res, 404, 'not_found'),
  }),
} satisfies Record<string, Operation<any>>

describe.each(Object.entries(operations) as [string, Operation<any>][])('%s, with the link to the database lost', (_name, op) => {
  it('before the commit: 503, nothing written, and a retry succeeds', async () => {
    const t = await app(op.env)
    const c = await op.prepare(t)
    const before = await snapshot(t, op.counters)
    await expectUnavailable(await withFault({ sql: op.sql, at: 'before-commit' }, () => op.send(t, c)))
    expect(await snapshot(t, op.counters)).toEqual(before)
    await op.succeeds(await op.send(t, c), c)
  })

  it('after the commit: 503, the change is whole, and a retry gets the answer for a repeat', async () => {
    const t = await app(op.env)
    const c = await op.prepare(t)
    await expectUnavailable(await withFault({ sql: op.sql, at: 'after-commit' }, () => op.send(t, c)))
    await op.complete(t, c)
    await op.repeat(await op.send(t, c), t, c)
  })
})

describe('the /v1 dialect, with the link to the database lost', () => {
  it('answers its own 503 envelope before the commit, writes nothing, and a retry signs in', async () => {
    const t = await app()
    const user = await registerOwner(t)
    const login = () => t.post('/v1/login', { email: user.email, password: user.password })
    const before = await snapshot(t)
    await expectUnavailable(await withFault({ sql: operations.login.sql, at: 'before-commit' }, login), 'v1')
    expect(await snapshot(t)).toEqual(before)
    const retry = await login()
    expect(retry.status).toBe(200)
    expect((await retry.json()).data.user.email).toBe(user.email)
  })

  it('answers its own 503 envelope after the commit, and a retried refresh meets reuse detection', async () => {
    const t = await app()
    const user = await registerOwner(t)
    const refresh = () => t.post('/v1/refresh', { refresh_token: user.refresh_token })
    await expectUnavailable(await withFault({ sql: operations.refresh.sql, at: 'after-commit' }, refresh), 'v1')
    await operations.refresh.complete(t, user)
    const retry = await refresh()
    expect(retry.status).toBe(401)
    expect(await retry.json()).toEqual({ success: false, message: 'Unauthenticated.' })
    expect(await one(t, sql`select count(*) from sessions where user_id = ${user.user_id} and revoked_at is null`)).toBe(0)
  })
})

// The other leg of the link: the database committed and answered, and the HTTP answer from
// Neon's endpoint to the Worker is lost (the relay cuts the connection instead). The Worker's
// fetch fails; the answer is the same 503, and so is what a retry gets.
describe.each(['register', 'login', 'refresh'] as const)('%s, with the answer lost on its way to the Worker', (name) => {
  it('answers 503, the change is whole, and a retry gets the answer for a repeat', async () => {
    const op = operations[name] as Operation<any>
    const t = await app()
    const c = await op.prepare(t)
    const lost = link.loseAnswer(op.sql)
    try {
      await expectUnavailable(await op.send(t, c))
      expect(lost.fired(), `no request matched ${op.sql}`).toBe(true)
    } finally {
      lost.stop()
    }
    await op.complete(t, c)
    await op.repeat(await op.send(t, c), t, c)
  })
})

// A passkey login is two commits: the challenge is spent (with the per-IP window, in the
// first round trip), then one batch moves the passkey's signature counter and opens the
// session. The challenge is single-use by design, so what a client retries after a 503 is the
// ceremony (new options, a new signature), not the same assertion.
describe('passkey login, with the link to the database lost at the session', () => {
  const ORIGIN = 'https://app.example.com'
  async function signedAssertion() {
    link = (await testDatabase({ faults: true })).faults!
    const t = await testApp({ env: { WEBAUTHN_RP_ID: 'example.com', WEBAUTHN_ORIGINS: ORIGIN } })
    const device = softwareAuthenticator({ origin: ORIGIN })
    const user = await registerOwner(t)
    const options = await (await t.post('/api/v1/auth/passkeys/registration/options', { password: user.password }, user.access_token)).json()
    expect((await t.post('/api/v1/auth/passkeys/registration', { credential: (await device.register(options)).json }, user.access_token)).status).toBe(201)
    const assertion = async () => device.authenticate(await (await t.post('/api/v1/auth/passkeys/login/options', {})).json())
    const signIn = (credential: unknown) => t.post('/api/v1/auth/passkeys/login', { credential })
    const sessions = () =>
      one(t, sql`select count(*) from sessions s join refresh_tokens r on r.session_id = s.id where s.user_id = ${user.user_id} and s.revoked_at is null`)
    return { t, user, assertion, signIn, sessions }
  }

  it('before the commit: 503, no session, and a new ceremony signs in', async () => {
    const { assertion, signIn, sessions } = await signedAssertion()
    const credential = await assertion()
    await expectUnavailable(await withFault({ sql: operations.login.sql, at: 'before-commit' }, () => signIn(credential)))
    expect(await sessions()).toBe(1) // the registration's
    await expectError(await signIn(credential), 401, 'passkey_invalid')
    expect((await signIn(await assertion())).status).toBe(200)
    expect(await sessions()).toBe(2)
  })

  it('after the commit: 503, the session is whole, and the same assertion is refused', async () => {
    const { t, user, assertion, signIn, sessions } = await signedAssertion()
    const credential = await assertion()
    await expectUnavailable(await withFault({ sql: operations.login.sql, at: 'after-commit' }, () => signIn(credential)))
    expect(await sessions()).toBe(2)
    expect(await one(t, sql`select count(*) from auth_events where user_id = ${user.user_id} and type = 'login' and detail->>'method' = 'passkey'`)).toBe(1)
    await expectError(await signIn(credential), 401, 'passkey_invalid')
  })
})

// A returning identity signs in with one statement (its lookups beside it), after the client's
// window committed alone: a retry is a new authorization code, as any client would send.
describe('OAuth login of a known identity, with the link to the database lost at its sign-in', () => {
  const REDIRECT = 'https://app.example.com/oauth/callback'
  const servers = useOAuthServers()
  const signIn = /^\s*with account as \(/
  async function knownIdentity() {
    link = (await testDatabase({ faults: true })).faults!
    // The local provider stamps its tokens with the real time: the app's clock must agree.
    const t = await testApp({ clock: new TestClock(new Date()), env: providerEnv(servers.idp, servers.graph, [REDIRECT]) })
    const claims = { sub: `google-${crypto.randomUUID()}`, email: `fault-${crypto.randomUUID()}@example.com`, email_verified: true }
    const callback = async () =>
      t.post('/api/v1/auth/oauth/callback', {
        provider: 'google',
        code: await servers.idp.authorize(claims, { redirectUri: REDIRECT }),
        redirect_uri: REDIRECT,
      })
    const first = await callback()
    expect(first.status).toBe(200)
    const { user_id } = await first.json()
    const signedIn = async () => ({
      sessions: await one(
        t,
        sql`select count(*) from sessions s join refresh_tokens r on r.session_id = s.id where s.user_id = ${user_id} and s.revoked_at is null`,
      ),
      logins: await one(t, sql`select count(*) from auth_events where user_id = ${user_id} and type = 'login' and outcome = 'success'`),
    })
    return { t, callback, signedIn }
  }

  it('before the commit: 503, nothing written, and a retry signs in', async () => {
    const { t, callback, signedIn } = await knownIdentity()
    const before = await snapshot(t)
    await expectUnavailable(await withFault({ sql: signIn, at: 'before-commit' }, callback))
    expect(await snapshot(t)).toEqual(before)
    expect((await callback()).status).toBe(200)
    expect(await signedIn()).toEqual({ sessions: 2, logins: 2 })
  })

  it('after the commit: 503, the session is whole with its login event, and a retry signs in again', async () => {
    const { callback, signedIn } = await knownIdentity()
    await expectUnavailable(await withFault({ sql: signIn, at: 'after-commit' }, callback))
    expect(await signedIn()).toEqual({ sessions: 2, logins: 2 })
    expect((await callback()).status).toBe(200)
    expect(await signedIn()).toEqual({ sessions: 3, logins: 3 })
  })
})
