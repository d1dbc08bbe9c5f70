import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo, Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestWorker } from '../support/worker'
import { startTestWorker } from '../support/worker'

// Debian's `chromium` package; playwright-core never downloads a browser.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync']
const PAGE = readFileSync(new URL('./passkeys.html', import.meta.url), 'utf8')

/**
 * The web app: the test page at `/`, and the API on the same origin (proxied to the Worker),
 * as a site that mounts Gatehouse under its own domain would have it. WebAuthn needs a
 * secure context and a domain for an RP ID: http://localhost is both.
 */
async function webApp(worker: () => TestWorker): Promise<{ origin: string; server: Server }> {
  const server = createServer(async (req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      res.end(PAGE)
      return
    }
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const headers: Record<string, string> = {}
    for (const name of ['content-type', 'authorization']) if (req.headers[name]) headers[name] = String(req.headers[name])
    const upstream = await worker().fetch(req.url!, {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    })
    res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('Content-Type') ?? 'application/json' })
    res.end(Buffer.from(await upstream.arrayBuffer()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { origin: `http://localhost:${(server.address() as AddressInfo).port}`, server }
}

describe('passkeys in a real browser', () => {
  let worker: TestWorker
  let app: Awaited<ReturnType<typeof webApp>>
  let context: BrowserContext
  let page: Page
  let profile: string

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
    app = await webApp(() => worker)
    worker = await startTestWorker({ WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: app.origin })
    profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'))
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS })
    page = await context.newPage()
    await page.goto(`${app.origin}/`)
    // A platform authenticator with user verification (Touch ID, Windows Hello), in software.
    const cdp = await context.newCDPSession(page)
    await cdp.send('WebAuthn.enable')
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    })
  })

  afterAll(async () => {
    await context?.close()
    if (profile) rmSync(profile, { recursive: true, force: true })
    await worker?.stop()
    await new Promise((resolve) => app?.server.close(resolve))
  })

  it('adds a passkey, then signs in with it without typing an email', async () => {
    const email = `passkey-${Date.now()}@example.com`
    const password = 'correct horse battery staple'
    const registered = await page.evaluate((body) => (globalThis as any).api('/api/v1/auth/register', body), {
      email,
      password,
      full_name: 'Ada Lovelace',
      organization_name: 'Engines',
    })
    expect(registered.status).toBe(201)

    const added = await page.evaluate(([token, pw]) => (globalThis as any).addPasskey(token, pw), [registered.body.access_token, password])
    expect(added).toEqual({
      status: 201,
      body: { id: expect.any(String), name: 'This browser', created_at: expect.any(String), last_used_at: null },
    })

    const signedIn = await page.evaluate(() => (globalThis as any).signInWithPasskey())
    expect(signedIn.status).toBe(200)
    expect(signedIn.body).toMatchObject({ user_id: registered.body.user_id, email, token_type: 'bearer' })

    const me = await worker.fetch('/api/v1/auth/me', { headers: { Authorization: `Bearer ${signedIn.body.access_token}` } })
    expect(await me.json()).toMatchObject({ id: registered.body.user_id, email })
  })
})
