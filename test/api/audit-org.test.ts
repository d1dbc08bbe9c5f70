import { and, asc, eq, inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { authEvents } from '../../db/schema'
import { testApp, uniqueEmail } from '../support/app'
import type { TestApp } from '../support/app'
import { addMember, inviteAndReadToken, registerVerifiedOwner } from '../support/org'
import { referenceTotp } from '../support/rfc6238'

const dev = () => testApp({ env: { ENVIRONMENT: 'development' } })

const eventsOf = async (t: TestApp, where: { orgId?: string; userId?: string }, types: string[]) =>
  (
    await t.db
      .select()
      .from(authEvents)
      .where(
        and(
          where.orgId ? eq(authEvents.orgId, where.orgId) : undefined,
          where.userId ? eq(authEvents.userId, where.userId) : undefined,
          inArray(authEvents.type, types),
        ),
      )
      .orderBy(asc(authEvents.id))
  ).map((e) => ({ type: e.type, outcome: e.outcome, userId: e.userId, orgId: e.orgId, detail: e.detail }))

describe('the audit log of organization changes', () => {
  it('records invitation create, revoke and accept, role changes, deactivation and removal, by whom and of whom', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const org = owner.organization_id
    const revoked = await inviteAndReadToken(t, owner.access_token, 'member')
    expect((await t.delete(`/api/v1/org/invitations/${revoked.id}`, owner.access_token)).status).toBe(204)
    const invited = await inviteAndReadToken(t, owner.access_token, 'member')
    const accepted = await t.post('/api/v1/auth/invitations/accept', { token: invited.token, password: 'a fine new passphrase', full_name: 'Mary' })
    expect(accepted.status).toBe(201)
    const member = await accepted.json()
    expect((await t.patch(`/api/v1/org/members/${member.user_id}`, { role: 'admin' }, owner.access_token)).status).toBe(200)
    expect((await t.patch(`/api/v1/org/members/${member.user_id}`, { is_active: false }, owner.access_token)).status).toBe(200)
    expect((await t.patch(`/api/v1/org/members/${member.user_id}`, { is_active: true }, owner.access_token)).status).toBe(200)
    expect((await t.delete(`/api/v1/org/members/${member.user_id}`, owner.access_token)).status).toBe(204)

    const by = { userId: owner.user_id, orgId: org }
    expect(
      await eventsOf(t, { orgId: org }, [
        'invitation_created',
        'invitation_revoked',
        'invitation_accepted',
        'member_role_changed',
        'member_deactivated',
        'member_reactivated',
        'member_removed',
      ]),
    ).toEqual([
      { type: 'invitation_created', outcome: 'success', ...by, detail: { invitation_id: revoked.id, role: 'member' } },
      { type: 'invitation_revoked', outcome: 'success', ...by, detail: { invitation_id: revoked.id } },
      { type: 'invitation_created', outcome: 'success', ...by, detail: { invitation_id: invited.id, role: 'member' } },
      { type: 'invitation_accepted', outcome: 'success', userId: member.user_id, orgId: org, detail: { invitation_id: invited.id, role: 'member' } },
      { type: 'member_role_changed', outcome: 'success', ...by, detail: { target_user_id: member.user_id, from: 'member', to: 'admin' } },
      { type: 'member_deactivated', outcome: 'success', ...by, detail: { target_user_id: member.user_id, sessions_ended: 1 } },
      { type: 'member_reactivated', outcome: 'success', ...by, detail: { target_user_id: member.user_id } },
      { type: 'member_removed', outcome: 'success', ...by, detail: { target_user_id: member.user_id, role: 'admin' } },
    ])
  })

  it('records nothing for a refused change', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const admin = await addMember(t, owner.access_token, 'admin')
    expect((await t.patch(`/api/v1/org/members/${owner.user_id}`, { role: 'member' }, admin.access_token)).status).toBe(403)
    expect(await eventsOf(t, { orgId: owner.organization_id }, ['member_role_changed'])).toEqual([])
  })
})

describe('the audit log of logins', () => {
  it('records an attempt refused during a lock, for a known account', async () => {
    const t = await testApp()
    const user = await t.register()
    for (let i = 0; i < 5; i++) await t.post('/api/v1/auth/login', { email: user.email, password: 'not the password at all' })
    const refused = await t.post('/api/v1/auth/login', { email: user.email.toUpperCase(), password: user.password })
    expect(refused.status).toBe(429)
    expect(await eventsOf(t, { userId: user.user_id }, ['attempt_refused'])).toEqual([
      { type: 'attempt_refused', outcome: 'locked', userId: user.user_id, orgId: user.organization_id, detail: { counter: 'login' } },
    ])
  })

  it('records the first factor of a 2FA login', async () => {
    const t = await testApp()
    const user = await t.register({ email: uniqueEmail('twofactor') })
    const { secret } = await (await t.post('/api/v1/auth/2fa/setup', undefined, user.access_token)).json()
    expect((await t.post('/api/v1/auth/2fa/enable', { code: referenceTotp(secret, t.clock.now()) }, user.access_token)).status).toBe(200)
    expect((await t.post('/api/v1/auth/login', { email: user.email, password: user.password })).status).toBe(200)
    expect(await eventsOf(t, { userId: user.user_id }, ['login_first_factor'])).toEqual([
      { type: 'login_first_factor', outcome: 'success', userId: user.user_id, orgId: user.organization_id, detail: { method: 'password' } },
    ])
  })
})
