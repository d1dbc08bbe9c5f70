import { describe, expect, it } from 'vitest'
import { testApp, uniqueEmail } from '../support/app'
import type { TestApp } from '../support/app'
import { addMember, inviteAndReadToken, lastMailTo, registerOwner, registerVerifiedOwner, tokenIn, verifyAddress } from '../support/org'

// Invitations and member management die with the authority behind them (issue #13 §2, §4).

const dev = () => testApp({ env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example' } })
const PASSWORD = 'correct horse battery staple'
const accept = (t: TestApp, token: string) => t.post('/api/v1/auth/invitations/accept', { token, password: PASSWORD, full_name: 'Invitee' })

async function mailsTo(t: TestApp, to: string) {
  const res = await t.get(`/dev/mail?to=${encodeURIComponent(to)}`)
  return ((await res.json()) as { messages: { subject: string; text: string }[] }).messages
}

describe('invitations from an inviter whose address is unproven', () => {
  it('are created (201) but held: no mail, until the inviter verifies; then the mail goes out and works', async () => {
    const t = await dev()
    const owner = await registerOwner(t)
    const email = uniqueEmail('invitee')
    const res = await t.post('/api/v1/org/invitations', { email, role: 'owner' }, owner.access_token)
    expect(res.status).toBe(201)
    const created = await res.json()
    expect(created).toMatchObject({ email, role: 'owner', status: 'pending', held: true })
    expect(await mailsTo(t, email)).toEqual([])

    await verifyAddress(t, owner.email)
    const mail = await lastMailTo(t, email)
    expect(mail.subject).toMatch(/^You are invited to join /)
    const list = await (await t.get('/api/v1/org/invitations', owner.access_token)).json()
    expect(list.items).toEqual([expect.objectContaining({ id: created.id, status: 'pending', held: false })])
    const accepted = await accept(t, tokenIn(mail.text))
    expect(accepted.status).toBe(201)
    expect(await accepted.json()).toMatchObject({ email, organization_id: owner.organization_id })
  })

  it('die when the address’s owner takes the account back by password reset, and are never mailed', async () => {
    const t = await dev()
    const squatter = await registerOwner(t)
    const accomplice = uniqueEmail('accomplice')
    const { id } = await (await t.post('/api/v1/org/invitations', { email: accomplice, role: 'owner' }, squatter.access_token)).json()
    // The real owner of the mailbox resets the password: the address is proven now.
    expect((await t.post('/api/v1/auth/password/forgot', { email: squatter.email })).status).toBe(202)
    const reset = /reset-password\?token=([A-Za-z0-9_-]+)/.exec((await lastMailTo(t, squatter.email)).text)![1]
    expect((await t.post('/api/v1/auth/password/reset', { token: reset, password: 'the real owner’s password' })).status).toBe(204)
    const login = await (await t.post('/api/v1/auth/login', { email: squatter.email, password: 'the real owner’s password' })).json()
    const list = await (await t.get('/api/v1/org/invitations', login.access_token)).json()
    expect(list.items).toEqual([expect.objectContaining({ id, status: 'revoked' })])
    expect(await mailsTo(t, accomplice)).toEqual([])
  })
})

describe('pending invitations die with their inviter’s right to grant them', () => {
  const cases: [string, (t: TestApp, ownerToken: string, adminId: string) => Promise<Response>][] = [
    ['removed', (t, token, id) => t.delete(`/api/v1/org/members/${id}`, token)],
    ['deactivated', (t, token, id) => t.patch(`/api/v1/org/members/${id}`, { is_active: false }, token)],
    ['demoted to member', (t, token, id) => t.patch(`/api/v1/org/members/${id}`, { role: 'member' }, token)],
  ]
  for (const [what, change] of cases) {
    it(`an admin’s invitation cannot be accepted once the admin is ${what}`, async () => {
      const t = await dev()
      const owner = await registerVerifiedOwner(t)
      const admin = await addMember(t, owner.access_token, 'admin')
      const { token } = await inviteAndReadToken(t, admin.access_token, 'admin')
      expect((await change(t, owner.access_token, admin.user_id)).status).toBeLessThan(300)
      const res = await accept(t, token)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ code: 'invitation_invalid' })
    })
  }

  it('an owner demoted to admin can no longer bring in an owner they invited', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const second = await addMember(t, owner.access_token, 'owner')
    const { token } = await inviteAndReadToken(t, second.access_token, 'owner')
    expect((await t.patch(`/api/v1/org/members/${second.user_id}`, { role: 'admin' }, owner.access_token)).status).toBe(200)
    expect((await accept(t, token)).status).toBe(400)
  })

  it('revoking an invitation needs the right to grant its role', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const admin = await addMember(t, owner.access_token, 'admin')
    const { id, token } = await inviteAndReadToken(t, owner.access_token, 'owner')
    const res = await t.delete(`/api/v1/org/invitations/${id}`, admin.access_token)
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ code: 'forbidden' })
    expect((await accept(t, token)).status).toBe(201)
  })
})

describe('admins manage members, not other admins', () => {
  it('an admin cannot remove, deactivate or demote another admin; an owner can', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const admin = await addMember(t, owner.access_token, 'admin')
    const peer = await addMember(t, owner.access_token, 'admin')
    const member = await addMember(t, owner.access_token, 'member')
    for (const res of [
      await t.delete(`/api/v1/org/members/${peer.user_id}`, admin.access_token),
      await t.patch(`/api/v1/org/members/${peer.user_id}`, { is_active: false }, admin.access_token),
      await t.patch(`/api/v1/org/members/${peer.user_id}`, { role: 'member' }, admin.access_token),
    ]) {
      expect(res.status).toBe(403)
      expect(await res.json()).toMatchObject({ code: 'forbidden' })
    }
    expect((await t.get('/api/v1/auth/me', peer.access_token)).status).toBe(200)
    // Members are still the admins' to manage, as the contract says.
    expect((await t.patch(`/api/v1/org/members/${member.user_id}`, { is_active: false }, admin.access_token)).status).toBe(200)
    expect((await t.delete(`/api/v1/org/members/${peer.user_id}`, owner.access_token)).status).toBe(204)
  })
})
