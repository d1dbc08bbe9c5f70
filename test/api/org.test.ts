import { describe, expect, it } from 'vitest'
import { testApp } from '../support/app'
import type { TestApp } from '../support/app'
import { addMember, inviteAndReadToken, registerVerifiedOwner } from '../support/org'
import { problem, V1_UNAUTHENTICATED } from '../support/errors'

const dev = () => testApp({ env: { ENVIRONMENT: 'development' } })
const UNAUTHORIZED_V1 = { success: false, message: 'This action is unauthorized.' }

async function members(t: TestApp, token: string) {
  const res = await t.get('/api/v1/org/members?limit=100', token)
  return ((await res.json()) as { items: { user_id: string; role: string; is_active: boolean }[] }).items
}

describe('GET and PATCH /api/v1/org', () => {
  it('shows the caller’s organization to every role', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t, { organization_name: 'Analytical Engines' })
    const member = await addMember(t, owner.access_token, 'member')
    for (const token of [owner.access_token, member.access_token]) {
      const res = await t.get('/api/v1/org', token)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ id: owner.organization_id, name: 'Analytical Engines', created_at: expect.any(String) })
    }
  })

  it('only the owner renames it; an org_id in the body is ignored', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t, { organization_name: 'Old name' })
    const other = await registerVerifiedOwner(t, { organization_name: 'Other' })
    const admin = await addMember(t, owner.access_token, 'admin')
    const denied = await t.patch('/api/v1/org', { name: 'Admin was here' }, admin.access_token)
    expect(denied.status).toBe(403)
    expect(await denied.json()).toEqual(problem(403, 'insufficient_scope', 'This action needs the "org:manage" scope.'))
    const res = await t.patch('/api/v1/org', { name: '  New name ', org_id: other.organization_id }, owner.access_token)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ id: owner.organization_id, name: 'New name' })
    expect(await (await t.get('/api/v1/org', other.access_token)).json()).toMatchObject({ name: 'Other' })
  })
})

describe('the scope middleware', () => {
  it('a member gets 403 on member management, in both dialects, with the exact /v1 message', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const member = await addMember(t, owner.access_token, 'member')
    const people = await t.get('/v1/people', member.access_token)
    expect(people.status).toBe(403)
    expect(await people.json()).toEqual(UNAUTHORIZED_V1)
    const list = await t.get('/api/v1/org/members', member.access_token)
    expect(list.status).toBe(403)
    expect(list.headers.get('Content-Type')).toBe('application/problem+json')
    expect(await list.json()).toMatchObject({ status: 403, code: 'insufficient_scope' })
    expect((await t.patch(`/api/v1/org/members/${owner.user_id}`, { is_active: false }, member.access_token)).status).toBe(403)
    expect((await t.delete(`/api/v1/org/members/${owner.user_id}`, member.access_token)).status).toBe(403)
    expect(await members(t, owner.access_token)).toEqual([
      expect.objectContaining({ user_id: owner.user_id, role: 'owner', is_active: true }),
      expect.objectContaining({ user_id: member.user_id, role: 'member', is_active: true }),
    ])
  })

  it('no token is 401 in both dialects', async () => {
    const t = await dev()
    expect((await t.get('/api/v1/org/members')).status).toBe(401)
    const people = await t.get('/v1/people')
    expect(people.status).toBe(401)
    expect(await people.json()).toEqual(V1_UNAUTHENTICATED)
  })
})

describe('GET /api/v1/org/members and GET /v1/people', () => {
  it('lists the organization’s members, a page at a time', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t, { full_name: 'Ada' })
    const admin = await addMember(t, owner.access_token, 'admin', 'Charles')
    const member = await addMember(t, owner.access_token, 'member', 'Grace')
    await registerVerifiedOwner(t) // another organization: never listed
    const first = await t.get('/api/v1/org/members?limit=2', owner.access_token)
    expect(first.status).toBe(200)
    expect(await first.json()).toEqual({
      items: [
        {
          user_id: owner.user_id,
          email: owner.email,
          full_name: 'Ada',
          role: 'owner',
          is_active: true,
          is_verified: true,
          joined_at: expect.any(String),
        },
        {
          user_id: admin.user_id,
          email: admin.email,
          full_name: 'Charles',
          role: 'admin',
          is_active: true,
          is_verified: true,
          joined_at: expect.any(String),
        },
      ],
      total: 3,
      limit: 2,
      offset: 0,
    })
    const second = await t.get('/api/v1/org/members?limit=2&offset=2', admin.access_token)
    expect(await second.json()).toMatchObject({ items: [{ user_id: member.user_id, role: 'member' }], total: 3, offset: 2 })
    const people = await t.get('/v1/people', admin.access_token)
    expect(await people.json()).toEqual({
      success: true,
      data: [
        { id: owner.user_id, name: 'Ada', email: owner.email, role: 'owner', is_active: true },
        { id: admin.user_id, name: 'Charles', email: admin.email, role: 'admin', is_active: true },
        { id: member.user_id, name: 'Grace', email: member.email, role: 'member', is_active: true },
      ],
    })
  })

  it('refuses a bad page size', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const res = await t.get('/api/v1/org/members?limit=0&offset=-1', owner.access_token)
    expect(res.status).toBe(422)
    expect(((await res.json()) as { errors: unknown }).errors).toEqual([
      { field: 'limit', message: 'must be a whole number from 1 to 100' },
      { field: 'offset', message: 'must be a whole number from 0 to 1000000' },
    ])
  })
})

describe('tenant isolation', () => {
  it('another organization’s member is 404 on read, update and delete, and nothing changes', async () => {
    const t = await dev()
    const ownerA = await registerVerifiedOwner(t)
    const memberA = await addMember(t, ownerA.access_token, 'member')
    const ownerB = await registerVerifiedOwner(t)
    for (const res of [
      await t.patch(`/api/v1/org/members/${memberA.user_id}`, { role: 'admin' }, ownerB.access_token),
      await t.patch(`/api/v1/org/members/${memberA.user_id}`, { is_active: false }, ownerB.access_token),
      await t.delete(`/api/v1/org/members/${memberA.user_id}`, ownerB.access_token),
      await t.delete(`/api/v1/org/members/${ownerA.user_id}`, ownerB.access_token),
    ]) {
      expect(res.status).toBe(404)
      expect(await res.json()).toMatchObject({ code: 'not_found', detail: 'Member not found.' })
    }
    expect(await members(t, ownerA.access_token)).toEqual([
      expect.objectContaining({ user_id: ownerA.user_id, role: 'owner', is_active: true }),
      expect.objectContaining({ user_id: memberA.user_id, role: 'member', is_active: true }),
    ])
    expect((await t.get('/api/v1/auth/me', memberA.access_token)).status).toBe(200)
  })

  it('an org_id in the query or a header changes nothing', async () => {
    const t = await dev()
    const ownerA = await registerVerifiedOwner(t)
    await addMember(t, ownerA.access_token, 'member')
    const ownerB = await registerVerifiedOwner(t)
    const res = await t.request('GET', `/api/v1/org/members?org_id=${ownerA.organization_id}`, undefined, {
      ...t.bearer(ownerB.access_token),
      'X-Org-Id': ownerA.organization_id,
      'X-Business-Id': ownerA.organization_id,
    })
    expect(await res.json()).toMatchObject({ items: [{ user_id: ownerB.user_id }], total: 1 })
    const org = await t.request('GET', `/api/v1/org?org_id=${ownerA.organization_id}`, undefined, t.bearer(ownerB.access_token))
    expect(await org.json()).toMatchObject({ id: ownerB.organization_id })
  })

  it('an unknown or malformed member id is 404', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    expect((await t.patch('/api/v1/org/members/00000000-0000-4000-8000-000000000000', { role: 'admin' }, owner.access_token)).status).toBe(404)
    expect((await t.delete('/api/v1/org/members/1%27%20or%201=1', owner.access_token)).status).toBe(404)
  })
})

describe('PATCH /api/v1/org/members/{user_id}: roles', () => {
  it('an owner promotes a member; the new scopes arrive at the next refresh', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const member = await addMember(t, owner.access_token, 'member')
    const res = await t.patch(`/api/v1/org/members/${member.user_id}`, { role: 'admin' }, owner.access_token)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ user_id: member.user_id, role: 'admin', is_active: true })
    // The old token was issued with member scopes.
    expect((await t.get('/v1/people', member.access_token)).status).toBe(403)
    const refreshed = (await (await t.post('/api/v1/auth/refresh', { refresh_token: member.refresh_token })).json()) as {
      access_token: string
    }
    expect((await t.get('/v1/people', refreshed.access_token)).status).toBe(200)
  })

  it('a demotion takes effect at once, before any refresh', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const admin = await addMember(t, owner.access_token, 'admin')
    expect((await t.get('/v1/people', admin.access_token)).status).toBe(200)
    await t.patch(`/api/v1/org/members/${admin.user_id}`, { role: 'member' }, owner.access_token)
    const people = await t.get('/v1/people', admin.access_token)
    expect(people.status).toBe(403)
    expect(await people.json()).toEqual(UNAUTHORIZED_V1)
  })

  it('refuses escalation: nobody grants a role above their own or manages someone above them', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const admin = await addMember(t, owner.access_token, 'admin')
    const member = await addMember(t, owner.access_token, 'member')
    const cases = [
      [member.user_id, { role: 'owner' }, 'You cannot grant a role above your own.'],
      [owner.user_id, { role: 'member' }, 'You cannot manage a member whose role is above yours.'],
      [owner.user_id, { is_active: false }, 'You cannot manage a member whose role is above yours.'],
    ] as const
    for (const [id, body, detail] of cases) {
      const res = await t.patch(`/api/v1/org/members/${id}`, body, admin.access_token)
      expect(res.status).toBe(403)
      expect(await res.json()).toMatchObject({ code: 'forbidden', detail })
    }
    const removeOwner = await t.delete(`/api/v1/org/members/${owner.user_id}`, admin.access_token)
    expect(removeOwner.status).toBe(403)
    expect(await members(t, owner.access_token)).toEqual([
      expect.objectContaining({ role: 'owner', is_active: true }),
      expect.objectContaining({ role: 'admin' }),
      expect.objectContaining({ role: 'member' }),
    ])
    const promote = await t.patch(`/api/v1/org/members/${member.user_id}`, { role: 'admin' }, admin.access_token)
    expect(promote.status).toBe(200)
  })

  it('nobody changes their own role', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const admin = await addMember(t, owner.access_token, 'admin')
    for (const [who, role] of [
      [admin, 'owner'],
      [admin, 'member'],
      [owner, 'owner'],
    ] as const) {
      const res = await t.patch(`/api/v1/org/members/${who.user_id}`, { role }, who.access_token)
      expect(res.status).toBe(403)
      expect(await res.json()).toMatchObject({ code: 'forbidden', detail: 'You cannot change your own role.' })
    }
  })

  it('needs role or is_active', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const member = await addMember(t, owner.access_token, 'member')
    const res = await t.patch(`/api/v1/org/members/${member.user_id}`, {}, owner.access_token)
    expect(res.status).toBe(422)
    expect(((await res.json()) as { errors: unknown }).errors).toEqual([{ field: '', message: 'role or is_active is required' }])
  })
})

describe('the last owner', () => {
  it('cannot be deactivated or removed, nor demote themselves', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const deactivate = await t.patch(`/api/v1/org/members/${owner.user_id}`, { is_active: false }, owner.access_token)
    expect(deactivate.status).toBe(409)
    expect(await deactivate.json()).toEqual(problem(409, 'last_owner', 'The organization must keep an active owner: promote another member to owner first.'))
    expect((await t.delete(`/api/v1/org/members/${owner.user_id}`, owner.access_token)).status).toBe(409)
    expect((await t.patch(`/api/v1/org/members/${owner.user_id}`, { role: 'admin' }, owner.access_token)).status).toBe(403)
    expect((await t.get('/api/v1/auth/me', owner.access_token)).status).toBe(200)
  })

  it('an owner may step down once another active owner exists', async () => {
    const t = await dev()
    const first = await registerVerifiedOwner(t)
    const second = await addMember(t, first.access_token, 'owner')
    const res = await t.patch(`/api/v1/org/members/${first.user_id}`, { role: 'admin' }, second.access_token)
    expect(res.status).toBe(200)
    // Now `second` is the last owner; the demoted `first` cannot touch them.
    expect((await t.patch(`/api/v1/org/members/${second.user_id}`, { is_active: false }, second.access_token)).status).toBe(409)
    expect((await t.delete(`/api/v1/org/members/${second.user_id}`, first.access_token)).status).toBe(403)
  })
})

describe('deactivation and removal', () => {
  it('deactivating a member kills their live token at once (403) and their refresh', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const member = await addMember(t, owner.access_token, 'member')
    expect((await t.get('/api/v1/auth/me', member.access_token)).status).toBe(200)
    const res = await t.patch(`/api/v1/org/members/${member.user_id}`, { is_active: false }, owner.access_token)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ user_id: member.user_id, is_active: false })
    const me = await t.get('/api/v1/auth/me', member.access_token)
    expect(me.status).toBe(403)
    expect(await me.json()).toMatchObject({ code: 'account_inactive' })
    const v1 = await t.get('/v1/me', member.access_token)
    expect(v1.status).toBe(403)
    expect(await v1.json()).toEqual({ success: false, message: 'The account is inactive.' })
    const refresh = await t.post('/api/v1/auth/refresh', { refresh_token: member.refresh_token })
    expect(refresh.status).toBe(403)
    const login = await t.post('/api/v1/auth/login', { email: member.email, password: member.password })
    expect(login.status).toBe(403)
  })

  it('reactivation does not revive the old sessions', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const member = await addMember(t, owner.access_token, 'member')
    await t.patch(`/api/v1/org/members/${member.user_id}`, { is_active: false }, owner.access_token)
    await t.patch(`/api/v1/org/members/${member.user_id}`, { is_active: true }, owner.access_token)
    expect((await t.get('/api/v1/auth/me', member.access_token)).status).toBe(401)
    expect((await t.post('/api/v1/auth/refresh', { refresh_token: member.refresh_token })).status).toBe(401)
    expect((await t.post('/api/v1/auth/login', { email: member.email, password: member.password })).status).toBe(200)
  })

  it('removing a member kills their live token at once (401) and their refresh; the email can be invited again', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const admin = await addMember(t, owner.access_token, 'admin')
    const member = await addMember(t, owner.access_token, 'member')
    const res = await t.delete(`/api/v1/org/members/${member.user_id}`, admin.access_token)
    expect(res.status).toBe(204)
    const me = await t.get('/api/v1/auth/me', member.access_token)
    expect(me.status).toBe(401)
    expect(await (await t.get('/v1/me', member.access_token)).json()).toEqual(V1_UNAUTHENTICATED)
    expect((await t.post('/api/v1/auth/refresh', { refresh_token: member.refresh_token })).status).toBe(401)
    expect((await t.post('/api/v1/auth/login', { email: member.email, password: member.password })).status).toBe(401)
    expect((await members(t, owner.access_token)).map((m) => m.user_id)).toEqual([owner.user_id, admin.user_id])
    const again = await inviteAndReadToken(t, owner.access_token, 'member', member.email)
    expect(again.token).toBeTruthy()
  })

  it('a member may leave (remove themselves)', async () => {
    const t = await dev()
    const owner = await registerVerifiedOwner(t)
    const member = await addMember(t, owner.access_token, 'admin')
    expect((await t.delete(`/api/v1/org/members/${member.user_id}`, member.access_token)).status).toBe(204)
    expect((await t.get('/api/v1/auth/me', member.access_token)).status).toBe(401)
  })
})
