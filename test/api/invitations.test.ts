import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { invitations } from '../../db/schema'
import { hashToken } from '../../functions/core/crypto'
import { TestClock, testApp, uniqueEmail } from '../support/app'
import { clockAt } from '../support/clock'
import { addMember, inviteAndReadToken, lastMailTo, tokenIn, registerVerifiedOwner } from '../support/org'
import { problem } from '../support/errors'

const dev = (clock?: TestClock) => testApp({ env: { ENVIRONMENT: 'development', APP_URL: 'https://app.example' }, clock })
const PASSWORD = 'correct horse battery staple'

describe('POST /api/v1/org/invitations', () => {
  it('creates a pending invitation and mails a single-use link to it', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t, { organization_name: 'Babbage & Co' })
    const email = uniqueEmail('invitee')
    const res = await t.post('/api/v1/org/invitations', { email, role: 'admin' }, owner.access_token)
    expect(res.status).toBe(201)
    const body = await res.json()
    expect(body).toEqual({
      id: expect.any(String),
      email,
      role: 'admin',
      status: 'pending',
      invited_by: owner.user_id,
      created_at: clockAt(),
      expires_at: clockAt(7 * 86400),
      accepted_at: null,
      revoked_at: null,
      held: false,
    })
    const mail = await lastMailTo(t, email)
    expect(mail.subject).toBe('You are invited to join Babbage & Co')
    expect(mail.text).toMatch(/^You have been invited to join Babbage & Co as admin\./)
    expect(mail.text).toMatch(/https:\/\/app\.example\/accept-invitation\?token=[A-Za-z0-9_-]{43}\n/)
  })

  it('stores only the hash of the token', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const { id, token } = await inviteAndReadToken(t, owner.access_token, 'member')
    const [row] = await t.db.select().from(invitations).where(eq(invitations.id, id))
    expect(row!.tokenHash).toBe(await hashToken(token))
    expect(JSON.stringify(row)).not.toContain(token)
  })

  it('answers 409 for an email that already has an account, in any organization', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const other = await registerVerifiedOwner(t)
    const res = await t.post('/api/v1/org/invitations', { email: ` ${other.email.toUpperCase()} `, role: 'member' }, owner.access_token)
    expect(res.status).toBe(409)
    expect(await res.json()).toMatchObject({ status: 409, code: 'email_taken' })
  })

  it('refuses a role above the inviter’s own, and members may not invite at all', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const admin = await addMember(t, owner.access_token, 'admin')
    const member = await addMember(t, owner.access_token, 'member')
    const escalate = await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'owner' }, admin.access_token)
    expect(escalate.status).toBe(403)
    expect(await escalate.json()).toMatchObject({ code: 'forbidden', detail: 'You cannot invite someone with a role above your own.' })
    const asMember = await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, member.access_token)
    expect(asMember.status).toBe(403)
    expect(await asMember.json()).toMatchObject({ code: 'insufficient_scope' })
    expect((await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'admin' }, admin.access_token)).status).toBe(201)
  })

  it('validates the email and the role', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const res = await t.post('/api/v1/org/invitations', { email: 'nope', role: 'king' }, owner.access_token)
    expect(res.status).toBe(422)
    expect(((await res.json()) as { errors: unknown[] }).errors).toEqual([
      { field: 'email', message: 'must be an email address' },
      { field: 'role', message: 'must be one of "owner", "admin", "member"' },
    ])
  })

  it('a newer invitation to the same email revokes the older link', async () => {
    const clock = new TestClock()
    const t = await dev(clock)
    const owner = await registerVerifiedOwner(t)
    const first = await inviteAndReadToken(t, owner.access_token, 'member')
    clock.advance(60)
    const second = await inviteAndReadToken(t, owner.access_token, 'admin', first.email)
    const old = await t.post('/api/v1/auth/invitations/accept', { token: first.token, password: PASSWORD, full_name: 'Old' })
    expect(old.status).toBe(400)
    const fresh = await t.post('/api/v1/auth/invitations/accept', { token: second.token, password: PASSWORD, full_name: 'New' })
    expect(fresh.status).toBe(201)
  })
})

describe('POST /api/v1/auth/invitations/accept', () => {
  it('creates the user in the inviting organization with the invited role and signs them in', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t, { organization_name: 'Difference Engines' })
    const { email, token } = await inviteAndReadToken(t, owner.access_token, 'admin')
    const res = await t.post('/api/v1/auth/invitations/accept', { token, password: PASSWORD, full_name: 'Charles Babbage' })
    expect(res.status).toBe(201)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const body = (await res.json()) as Record<string, string>
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: 86400,
      refresh_token: expect.any(String),
      user_id: expect.any(String),
      email,
      full_name: 'Charles Babbage',
      organization_id: owner.organization_id,
      organization_name: 'Difference Engines',
    })
    const me = await t.get('/v1/me', body.access_token)
    expect(((await me.json()) as { data: unknown }).data).toMatchObject({
      business_id: owner.organization_id,
      scopes: ['profile:read', 'profile:write', 'org:read', 'members:read', 'members:write', 'invitations:read', 'invitations:write'],
    })
    const profile = await t.get('/api/v1/auth/me', body.access_token)
    expect(await profile.json()).toMatchObject({ is_verified: true, organization_id: owner.organization_id })
    const login = await t.post('/api/v1/auth/login', { email, password: PASSWORD })
    expect(login.status).toBe(200)
  })

  it('works once', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const { token } = await inviteAndReadToken(t, owner.access_token, 'member')
    const input = { token, password: PASSWORD, full_name: 'Once' }
    expect((await t.post('/api/v1/auth/invitations/accept', input)).status).toBe(201)
    const again = await t.post('/api/v1/auth/invitations/accept', input)
    expect(again.status).toBe(400)
    expect(await again.json()).toEqual(problem(400, 'invitation_invalid', 'The invitation is invalid, expired, revoked or already used.'))
  })

  it('refuses an expired invitation', async () => {
    const clock = new TestClock()
    const t = await dev(clock)
    const owner = await registerVerifiedOwner(t)
    const { token } = await inviteAndReadToken(t, owner.access_token, 'member')
    clock.advance(7 * 86400) // expires_at is exclusive: at exactly seven days the link is dead
    const res = await t.post('/api/v1/auth/invitations/accept', { token, password: PASSWORD, full_name: 'Late' })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 'invitation_invalid' })
    const login = (await (await t.post('/api/v1/auth/login', { email: owner.email, password: owner.password })).json()) as {
      access_token: string
    }
    const list = await t.get('/api/v1/org/invitations', login.access_token)
    expect(((await list.json()) as { items: { status: string }[] }).items[0]!.status).toBe('expired')
  })

  it('refuses a revoked invitation', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const { id, token } = await inviteAndReadToken(t, owner.access_token, 'member')
    const revoked = await t.delete(`/api/v1/org/invitations/${id}`, owner.access_token)
    expect(revoked.status).toBe(204)
    const res = await t.post('/api/v1/auth/invitations/accept', { token, password: PASSWORD, full_name: 'Too late' })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ code: 'invitation_invalid' })
  })

  it('refuses an unknown token', async () => {
    const t = await dev()
    const res = await t.post('/api/v1/auth/invitations/accept', { token: 'x'.repeat(43), password: PASSWORD, full_name: 'Nobody' })
    expect(res.status).toBe(400)
  })

  it('answers 409 when the email got an account meanwhile, and the invitation stays pending', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const { email, token } = await inviteAndReadToken(t, owner.access_token, 'member')
    await registerVerifiedOwner(t, { email })
    const res = await t.post('/api/v1/auth/invitations/accept', { token, password: PASSWORD, full_name: 'Taken' })
    expect(res.status).toBe(409)
    expect(await res.json()).toMatchObject({ code: 'email_taken' })
    const list = await t.get('/api/v1/org/invitations', owner.access_token)
    expect(((await list.json()) as { items: { status: string }[] }).items[0]!.status).toBe('pending')
  })

  it('validates the new password', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const { token } = await inviteAndReadToken(t, owner.access_token, 'member')
    const res = await t.post('/api/v1/auth/invitations/accept', { token, password: 'short', full_name: 'X' })
    expect(res.status).toBe(422)
  })
})

describe('GET and DELETE /api/v1/org/invitations', () => {
  it('lists the organization’s invitations, newest first, with their status', async () => {
    const clock = new TestClock()
    const t = await dev(clock)
    const owner = await registerVerifiedOwner(t)
    const first = await inviteAndReadToken(t, owner.access_token, 'member')
    clock.advance(60)
    const second = await inviteAndReadToken(t, owner.access_token, 'admin')
    await t.delete(`/api/v1/org/invitations/${first.id}`, owner.access_token)
    const res = await t.get('/api/v1/org/invitations', owner.access_token)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      items: [
        expect.objectContaining({ id: second.id, email: second.email, role: 'admin', status: 'pending' }),
        expect.objectContaining({ id: first.id, email: first.email, role: 'member', status: 'revoked', revoked_at: clockAt(60) }),
      ],
      total: 2,
      limit: 50,
      offset: 0,
    })
  })

  it('revoking twice is harmless; revoking an accepted invitation is 409', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const pending = await inviteAndReadToken(t, owner.access_token, 'member')
    expect((await t.delete(`/api/v1/org/invitations/${pending.id}`, owner.access_token)).status).toBe(204)
    expect((await t.delete(`/api/v1/org/invitations/${pending.id}`, owner.access_token)).status).toBe(204)
    const accepted = await inviteAndReadToken(t, owner.access_token, 'member')
    await t.post('/api/v1/auth/invitations/accept', { token: accepted.token, password: PASSWORD, full_name: 'In' })
    const res = await t.delete(`/api/v1/org/invitations/${accepted.id}`, owner.access_token)
    expect(res.status).toBe(409)
  })

  it('members may not list invitations', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const member = await addMember(t, owner.access_token, 'member')
    const res = await t.get('/api/v1/org/invitations', member.access_token)
    expect(res.status).toBe(403)
  })

  it('another organization’s invitation is 404 and stays untouched; lists show only the caller’s', async () => {
    const t = await dev()
    const ownerA = await registerVerifiedOwner(t)
    const ownerB = await registerVerifiedOwner(t)
    const invitation = await inviteAndReadToken(t, ownerA.access_token, 'member')
    const res = await t.delete(`/api/v1/org/invitations/${invitation.id}`, ownerB.access_token)
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ code: 'not_found', detail: 'Invitation not found.' })
    const listB = await t.request('GET', `/api/v1/org/invitations?org_id=${ownerA.organization_id}`, undefined, {
      ...t.bearer(ownerB.access_token),
      'X-Org-Id': ownerA.organization_id,
    })
    expect(await listB.json()).toEqual({ items: [], total: 0, limit: 50, offset: 0 })
    const accept = await t.post('/api/v1/auth/invitations/accept', { token: invitation.token, password: PASSWORD, full_name: 'Still' })
    expect(accept.status).toBe(201)
    expect(((await accept.json()) as { organization_id: string }).organization_id).toBe(ownerA.organization_id)
  })

  it('a malformed id is 404', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    expect((await t.delete('/api/v1/org/invitations/not-a-uuid', owner.access_token)).status).toBe(404)
  })
})

describe('the reviewer’s flow', () => {
  it('register an owner, invite, read the mail at /dev/mail, accept, see the member in /v1/people', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t, { full_name: 'Ada Lovelace' })
    const email = uniqueEmail('grace')
    expect((await t.post('/api/v1/org/invitations', { email, role: 'member' }, owner.access_token)).status).toBe(201)
    const token = tokenIn((await lastMailTo(t, email)).text)
    const accepted = await t.post('/api/v1/auth/invitations/accept', { token, password: PASSWORD, full_name: 'Grace Hopper' })
    const grace = (await accepted.json()) as { user_id: string }
    const people = await t.get('/v1/people', owner.access_token)
    expect(people.status).toBe(200)
    expect(await people.json()).toEqual({
      success: true,
      data: [
        { id: owner.user_id, name: 'Ada Lovelace', email: owner.email, role: 'owner', is_active: true },
        { id: grace.user_id, name: 'Grace Hopper', email, role: 'member', is_active: true },
      ],
    })
  })
})
