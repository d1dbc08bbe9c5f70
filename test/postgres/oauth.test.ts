import { and, count, eq, gt, isNull } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { oauthIdentities, sessions, twoFactorChallenges, users } from '../../db/schema'
import { TestClock, testApp } from '../support/app'
import type { TestApp } from '../support/app'
import { providerEnv, useOAuthServers } from '../support/oauth'
import { addMember, registerVerifiedOwner } from '../support/org'

// A returning identity signs in with one statement that decides on its account as it finds it
// (db/queries/oauth.ts, signInIdentityStatement): raced here against changes to that account,
// each request on its own connection (TEST_DATABASE_URL: a real Postgres through the Neon driver).

const REDIRECT = 'https://app.example.com/oauth/callback'
const RACERS = 8

describe('the OAuth callback of a known identity, raced by a change to its account', () => {
  const servers = useOAuthServers()
  // The local provider stamps its tokens with the real time: the app's clock must agree.
  const oauthApp = () =>
    testApp({
      clock: new TestClock(new Date()),
      env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example', ...providerEnv(servers.idp, servers.graph, [REDIRECT]) },
    })
  const callbacks = async (t: TestApp, claims: Record<string, unknown>, n: number) => {
    const codes = await Promise.all(Array.from({ length: n }, () => servers.idp.authorize(claims, { redirectUri: REDIRECT })))
    return () => codes.map((code) => t.post('/api/v1/auth/oauth/callback', { provider: 'google', code, redirect_uri: REDIRECT }))
  }
  const liveSessions = async (t: TestApp, userId: string) => {
    const [row] = await t.db
      .select({ n: count() })
      .from(sessions)
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, t.clock.now())))
    return row!.n
  }

  it('never leaves a live session to a member deactivated meanwhile', async () => {
    const t = await oauthApp()
    const owner = await registerVerifiedOwner(t)
    for (let round = 0; round < 5; round++) {
      const member = await addMember(t, owner.access_token, 'member')
      const subject = `google-${member.user_id}`
      await t.db.insert(oauthIdentities).values({ provider: 'google', subject, userId: member.user_id, email: member.email })
      const send = await callbacks(t, { sub: subject, email: member.email, email_verified: true }, RACERS)
      const [deactivated, ...answers] = await Promise.all([
        t.patch(`/api/v1/org/members/${member.user_id}`, { is_active: false }, owner.access_token),
        ...send(),
      ])
      expect(deactivated!.status).toBe(200)
      expect(answers.filter((res) => res.status !== 200 && res.status !== 403)).toEqual([])
      expect(await liveSessions(t, member.user_id)).toBe(0)
    }
  })

  it('answers each login as it was written while 2FA is turned on: tokens with a session, or a challenge', async () => {
    const t = await oauthApp()
    for (let round = 0; round < 5; round++) {
      const claims = { sub: `google-${crypto.randomUUID()}`, email: `race-${crypto.randomUUID()}@example.com`, email_verified: true }
      const [first] = await Promise.all((await callbacks(t, claims, 1))())
      const { user_id } = await first!.json()
      const send = await callbacks(t, claims, RACERS)
      const [, ...answers] = await Promise.all([t.db.update(users).set({ totpEnabledAt: t.clock.now() }).where(eq(users.id, user_id)), ...send()])
      const bodies = await Promise.all(answers.map((res) => res.json()))
      expect(answers.map((res) => res.status)).toEqual(Array(RACERS).fill(200))
      const [challenges] = await t.db.select({ n: count() }).from(twoFactorChallenges).where(eq(twoFactorChallenges.userId, user_id))
      expect({ sessions: await liveSessions(t, user_id), challenges: challenges!.n }).toEqual({
        sessions: 1 + bodies.filter((body) => body.access_token).length,
        challenges: bodies.filter((body) => body.requires_2fa).length,
      })
    }
  })
})
