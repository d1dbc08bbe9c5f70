import { describe, expect, it } from 'vitest'
import { getConfig } from '../../functions/config'
import { verifyForService } from '../../functions/service/verify'
import { testApp } from '../support/app'
import { addMember, registerOwner, registerVerifiedOwner } from '../support/org'

// The service binding's verify(token, scope?), on the path every protected route takes.
async function service() {
  const t = await testApp({ env: { ENVIRONMENT: 'development' } })
  const config = await getConfig(t.env)
  const verify = (token: string, scope?: string) => verifyForService(t.db, config, token, t.clock.now(), scope)
  return { t, verify }
}

describe('GatehouseService.verify (service binding)', () => {
  it('answers the claims of a live session', async () => {
    const { t, verify } = await service()
    const owner = await registerOwner(t)
    expect(await verify(owner.access_token, 'members:read')).toEqual({
      ok: true,
      claims: expect.objectContaining({
        sub: owner.user_id,
        org: owner.organization_id,
        business_id: owner.organization_id,
        scopes: expect.arrayContaining(['members:read']),
        iss: t.env.JWT_ISSUER,
        aud: t.env.JWT_ISSUER,
      }),
    })
  })

  it('refuses a revoked session at once, though the token has not expired', async () => {
    const { t, verify } = await service()
    const owner = await registerOwner(t)
    expect((await t.post('/api/v1/auth/logout', { refresh_token: owner.refresh_token }, owner.access_token)).status).toBe(204)
    expect(await verify(owner.access_token)).toEqual({ ok: false, error: 'revoked', code: 'session_revoked', status: 401, detail: 'The session has ended.' })
  })

  it('refuses a deactivated account (403) and a demoted role (the live role counts)', async () => {
    const { t, verify } = await service()
    // An inviter's address must be proven, or the invitations are held (issue #13).
    const owner = await registerVerifiedOwner(t)
    const admin = await addMember(t, owner.access_token, 'admin')
    const member = await addMember(t, owner.access_token, 'member')
    expect((await verify(admin.access_token, 'members:read')).ok).toBe(true)
    expect((await t.patch(`/api/v1/org/members/${admin.user_id}`, { role: 'member' }, owner.access_token)).status).toBe(200)
    expect(await verify(admin.access_token, 'members:read')).toEqual({
      ok: false,
      error: 'insufficient_scope',
      code: 'insufficient_scope',
      status: 403,
      detail: 'This action needs the "members:read" scope.',
    })
    expect((await t.patch(`/api/v1/org/members/${member.user_id}`, { is_active: false }, owner.access_token)).status).toBe(200)
    expect(await verify(member.access_token)).toEqual({
      ok: false,
      error: 'inactive',
      code: 'account_inactive',
      status: 403,
      detail: 'The account is inactive.',
    })
  })

  it('answers expired and invalid tokens as values', async () => {
    const { t, verify } = await service()
    const owner = await registerOwner(t)
    expect(await verify('not.a.jwt')).toMatchObject({ ok: false, error: 'invalid', code: 'token_invalid', status: 401 })
    t.clock.advance(86_401)
    expect(await verify(owner.access_token)).toEqual({ ok: false, error: 'expired', code: 'token_expired', status: 401, detail: 'The token has expired.' })
  })
})
