import { count, eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { authEvents, emailTokens, invitations, mailOutbox, rateLimits, refreshTokens, sessions, twoFactorChallenges, webauthnChallenges } from '../../db/schema'
import { createScheduled } from '../../functions/scheduled'
import { TestClock, testApp, testDatabase } from '../support/app'
import type { TestApp } from '../support/app'
import { inviteAndReadToken, registerVerifiedOwner } from '../support/org'

const DAY = 86_400

const tables = { authEvents, sessions, refreshTokens, twoFactorChallenges, webauthnChallenges, emailTokens, invitations, mailOutbox, rateLimits }
async function counts(t: TestApp) {
  const out: Record<string, number> = {}
  for (const [name, table] of Object.entries(tables)) out[name] = (await t.db.select({ n: count() }).from(table))[0]!.n
  return out
}

async function runCron(t: TestApp, env: Record<string, string> = {}) {
  const database = await testDatabase()
  const logs: string[] = []
  const log = console.log
  console.log = (...args: unknown[]) => void logs.push(args.join(' '))
  try {
    const scheduled = createScheduled({ openDatabase: () => database.db, now: t.clock.now })
    await scheduled({ scheduledTime: t.clock.now().getTime(), cron: '23 * * * *', noRetry() {} }, { ...t.env, ...env }, {
      waitUntil() {},
      passThroughOnException() {},
      props: {},
    } as unknown as ExecutionContext)
  } finally {
    console.log = log
  }
  return logs
}

/** Everything that grows with use: a registration, logins (one with 2FA pending), failures, an invitation, mails. */
async function activity(t: TestApp) {
  const owner = await registerVerifiedOwner(t)
  await t.post('/api/v1/auth/login', { email: owner.email, password: 'wrong password here' })
  await t.post('/api/v1/auth/refresh', { refresh_token: owner.refresh_token })
  await inviteAndReadToken(t, owner.access_token, 'member')
  await t.post('/api/v1/auth/password/forgot', { email: owner.email })
  await t.db.insert(twoFactorChallenges).values({
    tokenHash: `challenge-${owner.user_id}`,
    userId: owner.user_id,
    createdAt: t.clock.now(),
    expiresAt: new Date(t.clock.now().getTime() + 300_000),
  })
  // A passkey ceremony started and never finished.
  await t.db.insert(webauthnChallenges).values({
    challengeHash: `webauthn-${owner.user_id}`,
    ceremony: 'login',
    userBound: false,
    createdAt: t.clock.now(),
    expiresAt: new Date(t.clock.now().getTime() + 300_000),
  })
  return owner
}

describe('the retention cron', () => {
  it('purges every kind of expired and spent row, and keeps what is still usable or recent', async () => {
    const t = await testApp({ env: { ENVIRONMENT: 'development' }, clock: new TestClock(new Date('2026-01-01T00:00:00Z')) })
    await activity(t)
    const old = await counts(t)
    for (const n of Object.values(old)) expect(n).toBeGreaterThan(0)
    // A hard lock (100 failures) is lifted only by a password reset: retention keeps it.
    await t.db.insert(rateLimits).values({ key: 'login:account:hard-locked@example.com', count: 100, windowStartedAt: t.clock.now() })

    t.clock.advance(200 * DAY)
    const recent = await activity(t)
    const logs = await runCron(t)

    // The recent activity is intact: its session, and both its refresh tokens (the spent one
    // is what detects a reuse).
    expect(
      await t.db
        .select({ n: count() })
        .from(authEvents)
        .where(sql`${authEvents.createdAt} < ${new Date('2026-06-01').toISOString()}`),
    ).toEqual([{ n: 0 }])
    expect(await t.db.select({ n: count() }).from(sessions).where(eq(sessions.userId, recent.user_id))).toEqual([{ n: 1 }])
    expect(
      await t.db
        .select({ n: count() })
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .where(eq(sessions.userId, recent.user_id)),
    ).toEqual([{ n: 2 }])
    expect(await t.db.select({ n: count() }).from(refreshTokens).where(sql`${refreshTokens.createdAt} < '2026-06-01'`)).toEqual([{ n: 0 }])
    expect(await t.db.select({ n: count() }).from(sessions).where(sql`${sessions.createdAt} < '2026-06-01'`)).toEqual([{ n: 0 }])
    expect(await t.db.select({ n: count() }).from(invitations).where(sql`${invitations.createdAt} < '2026-06-01'`)).toEqual([{ n: 0 }])
    expect(await t.db.select({ n: count() }).from(emailTokens).where(sql`${emailTokens.createdAt} < '2026-06-01'`)).toEqual([{ n: 0 }])
    expect(await t.db.select({ n: count() }).from(mailOutbox).where(sql`${mailOutbox.createdAt} < '2026-06-01'`)).toEqual([{ n: 0 }])
    expect(await t.db.select({ n: count() }).from(twoFactorChallenges).where(sql`${twoFactorChallenges.createdAt} < '2026-06-01'`)).toEqual([{ n: 0 }])
    expect(await t.db.select({ n: count() }).from(webauthnChallenges).where(sql`${webauthnChallenges.createdAt} < '2026-06-01'`)).toEqual([{ n: 0 }])
    // The recent one has not expired: a browser may still be answering it.
    expect(await t.db.select({ n: count() }).from(webauthnChallenges).where(sql`${webauthnChallenges.createdAt} >= '2026-06-01'`)).toEqual([{ n: 1 }])
    expect(await t.db.select({ n: count() }).from(rateLimits).where(sql`${rateLimits.windowStartedAt} < '2026-06-01'`)).toEqual([{ n: 1 }])
    expect(logs.some((line) => line.startsWith('retention purge {'))).toBe(true)
  })

  it('keeps audit events for 90 days by default, and as configured', async () => {
    const t = await testApp({ clock: new TestClock(new Date('2025-01-01T00:00:00Z')) })
    const user = await t.register()
    const events = () => t.db.select({ n: count() }).from(authEvents).where(eq(authEvents.userId, user.user_id))
    t.clock.advance(89 * DAY)
    await runCron(t)
    expect(await events()).toEqual([{ n: 1 }])
    await runCron(t, { RETENTION_AUDIT_EVENTS_DAYS: '30' })
    expect(await events()).toEqual([{ n: 0 }])
  })

  it('deletes in bounded batches: at most batch size × batches per table per run', async () => {
    const t = await testApp({ clock: new TestClock(new Date('2024-01-01T00:00:00Z')) })
    const user = await t.register()
    for (let i = 0; i < 6; i++) await t.post('/api/v1/auth/login', { email: user.email, password: user.password })
    t.clock.advance(400 * DAY)
    const mine = () => t.db.select({ n: count() }).from(sessions).where(eq(sessions.userId, user.user_id))
    expect(await mine()).toEqual([{ n: 7 }])
    await runCron(t, { RETENTION_BATCH_SIZE: '2', RETENTION_MAX_BATCHES: '2' })
    expect(await mine()).toEqual([{ n: 3 }])
    await runCron(t, { RETENTION_BATCH_SIZE: '2', RETENTION_MAX_BATCHES: '2' })
    expect(await mine()).toEqual([{ n: 0 }])
  })
})
