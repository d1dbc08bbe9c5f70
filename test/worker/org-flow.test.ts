import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestWorker } from '../support/worker'
import { startTestWorker } from '../support/worker'

// Organizations in workerd, over the Neon driver's Pool and the relay: the transactions
// (row lock, invitation accept) run on the production path.
describe('organizations in workerd', () => {
  let dev: TestWorker
  let production: TestWorker
  beforeAll(async () => {
    dev = await startTestWorker({ ENVIRONMENT: 'development', DEV_MAIL: 'on', APP_URL: 'https://app.example' })
    production = await startTestWorker({ ENVIRONMENT: 'production', APP_URL: 'https://app.example' })
  })
  afterAll(async () => {
    await dev?.stop()
    await production?.stop()
  })

  const call = (w: TestWorker, method: string, path: string, body?: unknown, token?: string) =>
    w.fetch(path, {
      method,
      headers: { ...(body !== undefined && { 'Content-Type': 'application/json' }), ...(token && { Authorization: `Bearer ${token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  const password = 'correct horse battery staple'

  /** Registers an owner and follows the verification link from /dev/mail: an inviter's address must be proven. */
  async function verifiedOwner(email: string, organization_name: string, full_name: string) {
    const owner = (await (await call(dev, 'POST', '/api/v1/auth/register', { email, password, full_name, organization_name })).json()) as Record<string, string>
    const mail = (await (await call(dev, 'GET', `/dev/mail?to=${encodeURIComponent(email)}`)).json()) as { messages: { text: string }[] }
    const token = /verify-email\?token=([\w-]+)/.exec(mail.messages[0]!.text)![1]
    expect((await call(dev, 'POST', '/api/v1/auth/verify-email', { token })).status).toBe(200)
    return owner
  }

  it('the reviewer’s flow: register, invite, read /dev/mail, accept, see /v1/people; deactivation is 403 at once', async () => {
    const ownerEmail = `owner-${Date.now()}@example.com`
    const owner = await verifiedOwner(ownerEmail, 'AE', 'Ada')
    const email = `invitee-${Date.now()}@example.com`
    expect((await call(dev, 'POST', '/api/v1/org/invitations', { email, role: 'member' }, owner.access_token)).status).toBe(201)
    const mail = (await (await call(dev, 'GET', `/dev/mail?to=${email}`)).json()) as { messages: { text: string }[] }
    const token = /accept-invitation\?token=([\w-]+)/.exec(mail.messages[0]!.text)![1]
    const accepted = await call(dev, 'POST', '/api/v1/auth/invitations/accept', { token, password, full_name: 'Grace' })
    expect(accepted.status).toBe(201)
    const grace = (await accepted.json()) as Record<string, string>
    expect(grace.organization_id).toBe(owner.organization_id)
    expect((await call(dev, 'POST', '/api/v1/auth/invitations/accept', { token, password, full_name: 'Again' })).status).toBe(400)

    expect(await (await call(dev, 'GET', '/v1/people', undefined, owner.access_token)).json()).toEqual({
      success: true,
      data: [
        { id: owner.user_id, name: 'Ada', email: ownerEmail, role: 'owner', is_active: true },
        { id: grace.user_id, name: 'Grace', email, role: 'member', is_active: true },
      ],
    })
    expect(await (await call(dev, 'GET', '/v1/people', undefined, grace.access_token)).json()).toEqual({
      success: false,
      message: 'This action is unauthorized.',
    })

    const deactivated = await call(dev, 'PATCH', `/api/v1/org/members/${grace.user_id}`, { is_active: false }, owner.access_token)
    expect(deactivated.status).toBe(200)
    expect((await call(dev, 'GET', '/api/v1/auth/me', undefined, grace.access_token)).status).toBe(403)
    expect((await call(dev, 'POST', '/api/v1/auth/refresh', { refresh_token: grace.refresh_token })).status).toBe(403)
  })

  it('GET /dev/mail is absent in production', async () => {
    const res = await production.fetch('/dev/mail')
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ status: 404, code: 'not_found' })
  })
})
