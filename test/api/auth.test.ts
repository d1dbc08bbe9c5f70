import { describe, expect, it } from 'vitest'
import { testApp, uniqueEmail } from '../support/app'

describe('POST /api/v1/auth/register', () => {
  it('creates the owner and the organization and signs them in', async () => {
    const t = await testApp()
    const email = uniqueEmail()
    const res = await t.post('/api/v1/auth/register', {
      email,
      password: 'correct horse battery staple',
      full_name: 'Ada Lovelace',
      organization_name: 'Analytical Engines',
    })
    expect(res.status).toBe(201)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const body = await res.json()
    expect(body).toEqual({
      user_id: expect.any(String),
      email,
      full_name: 'Ada Lovelace',
      organization_id: expect.any(String),
      organization_name: 'Analytical Engines',
      access_token: expect.any(String),
      token_type: 'bearer',
      expires_in: 86400,
      refresh_token: expect.any(String),
    })
  })
})
