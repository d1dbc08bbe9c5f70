import { createServer } from 'node:http'
import type { IncomingMessage, Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import { afterEach, describe, expect, it } from 'vitest'
import { users } from '../../db/schema'
import { testApp, uniqueEmail } from '../support/app'
import type { TestApp } from '../support/app'
import { registerOwner } from '../support/org'
import type { SignedIn } from '../support/org'
import { problem } from '../support/errors'

/** Marks the owner's address verified: with the mail provider down, no link could prove it. */
async function verifiedInDatabase(t: TestApp, owner: SignedIn) {
  await t.db.update(users).set({ isVerified: true }).where(eq(users.id, owner.user_id))
  return owner
}

describe('GET /dev/mail', () => {
  it('is served in development', async () => {
    const t = await testApp({ env: { ENVIRONMENT: 'development' } })
    const res = await t.get('/dev/mail?to=nobody@example.com')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ messages: [] })
  })

  it('is served in a preview, whose reviewers read its mail there', async () => {
    const t = await testApp({ env: { ENVIRONMENT: 'preview', APP_URL: 'https://pr-7.example.workers.dev' } })
    const res = await t.get('/dev/mail?to=nobody@example.com')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ messages: [] })
  })

  it.each(['production', 'test', undefined])('is absent when ENVIRONMENT is %s', async (environment) => {
    const t = await testApp({ env: { ENVIRONMENT: environment, APP_URL: 'https://app.example' } })
    const res = await t.get('/dev/mail')
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual(problem(404, 'not_found', 'No route for GET /dev/mail.'))
  })

  it('is not in the OpenAPI document', async () => {
    const t = await testApp({ env: { ENVIRONMENT: 'development' } })
    const doc = (await (await t.get('/openapi.json')).json()) as { paths: Record<string, unknown> }
    expect(Object.keys(doc.paths)).not.toContain('/dev/mail')
    expect(Object.keys(doc.paths)).toContain('/api/v1/org/members/{user_id}')
  })
})

/** A stand-in for the email provider's API on 127.0.0.1. */
async function fakeProvider(status = 200) {
  const received: { method?: string; url?: string; headers: IncomingMessage['headers']; body: unknown }[] = []
  const server: Server = createServer((req, res) => {
    let data = ''
    req.on('data', (chunk) => (data += chunk))
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: JSON.parse(data) })
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(status === 200 ? '{"id":"49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"}' : '{"message":"rejected"}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(server)
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/emails`, received }
}

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))))
})

describe('the http mail transport', () => {
  it('posts Resend’s JSON shape to the configured API with the key, through the injected fetch', async () => {
    const provider = await fakeProvider()
    const calls: string[] = []
    const t = await testApp({
      env: { MAIL_TRANSPORT: 'http', MAIL_API_URL: provider.url, MAIL_API_KEY: 're_test_key', MAIL_FROM: 'Gatehouse <no-reply@example.com>', APP_URL: 'https://app.example/' },
      fetch: (input, init) => {
        calls.push(String(input))
        return fetch(input, init)
      },
    })
    const owner = await registerOwner(t, { organization_name: 'Line\r\nBcc: evil@example.com' })
    // The inviter proves the address first (an unverified inviter's invitations are held).
    const verification = /verify-email\?token=([A-Za-z0-9_-]+)/.exec(String((provider.received[0]!.body as { text: string }).text))![1]
    expect((await t.post('/api/v1/auth/verify-email', { token: verification })).status).toBe(200)
    const email = uniqueEmail('invitee')
    const res = await t.post('/api/v1/org/invitations', { email, role: 'member' }, owner.access_token)
    expect(res.status).toBe(201)
    // The registration's verification mail, then the invitation.
    expect(calls).toEqual([provider.url, provider.url])
    expect(provider.received).toHaveLength(2)
    expect(provider.received[0]!.body).toMatchObject({ to: [owner.email], subject: 'Confirm your email address' })
    const request = provider.received[1]
    expect(request!.method).toBe('POST')
    expect(request!.url).toBe('/emails')
    expect(request!.headers.authorization).toBe('Bearer re_test_key')
    expect(request!.headers['content-type']).toBe('application/json')
    expect(request!.body).toEqual({
      from: 'Gatehouse <no-reply@example.com>',
      to: [email],
      subject: 'You are invited to join Line Bcc: evil@example.com',
      text: expect.stringMatching(/\nhttps:\/\/app\.example\/accept-invitation\?token=[A-Za-z0-9_-]{43}\n/),
    })
  })

  it('a provider error is 502 and leaves no invitation behind', async () => {
    const provider = await fakeProvider(500)
    const t = await testApp({
      env: { MAIL_TRANSPORT: 'http', MAIL_API_URL: provider.url, MAIL_API_KEY: 'k', MAIL_FROM: 'a@example.com' },
    })
    const owner = await verifiedInDatabase(t, await registerOwner(t))
    const res = await t.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, owner.access_token)
    expect(res.status).toBe(502)
    expect(await res.json()).toMatchObject({ code: 'mail_unavailable', detail: 'The mail could not be sent; try again later.' })
    expect(await (await t.get('/api/v1/org/invitations', owner.access_token)).json()).toMatchObject({ items: [], total: 0 })
  })

  it('an unreachable provider or a missing key is 502 too', async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const unreachable = await testApp({
      env: { MAIL_TRANSPORT: 'http', MAIL_API_URL: `http://127.0.0.1:${port}/emails`, MAIL_API_KEY: 'k', MAIL_FROM: 'a@example.com' },
    })
    const owner = await verifiedInDatabase(unreachable, await registerOwner(unreachable))
    expect((await unreachable.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, owner.access_token)).status).toBe(502)
    const unconfigured = await testApp({ env: { ENVIRONMENT: 'production', APP_URL: 'https://app.example' } })
    const owner2 = await verifiedInDatabase(unconfigured, await registerOwner(unconfigured))
    expect((await unconfigured.post('/api/v1/org/invitations', { email: uniqueEmail(), role: 'member' }, owner2.access_token)).status).toBe(502)
  })
})
