import { existsSync, mkdtempSync, rmSync } from 'node:fs'
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
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** A web app's origin: an empty page on 127.0.0.1, on a port of its own. */
async function staticSite(): Promise<{ origin: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>a web app</title><p>a web app</p>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

describe('a browser on another origin', () => {
  let worker: TestWorker
  let allowed: Awaited<ReturnType<typeof staticSite>>
  let other: Awaited<ReturnType<typeof staticSite>>
  let context: BrowserContext
  let profile: string
  const outside: string[] = []

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`)
    allowed = await staticSite()
    other = await staticSite()
    worker = await startTestWorker({ CORS_ORIGINS: allowed.origin })
    profile = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'))
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS })
    // Offline: anything that is not one of our local servers is refused, and recorded.
    await context.route(
      (url) => url.hostname !== '127.0.0.1',
      (route) => {
        outside.push(route.request().url())
        return route.abort()
      },
    )
  })

  afterAll(async () => {
    await context?.close()
    if (profile) rmSync(profile, { recursive: true, force: true })
    await worker?.stop()
    for (const site of [allowed, other]) await new Promise((resolve) => site?.server.close(resolve))
  })

  async function pageOn(origin: string): Promise<Page> {
    const page = await context.newPage()
    await page.goto(`${origin}/`)
    return page
  }

  it('registers, logs in and reads /me from a listed origin', async () => {
    const page = await pageOn(allowed.origin)
    const result = await page.evaluate(async (api) => {
      const json = { 'Content-Type': 'application/json' }
      const email = `browser-${Date.now()}@example.com`
      const password = 'a browser typed this passphrase'
      const register = await fetch(`${api}/api/v1/auth/register`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ email, password, full_name: 'Ada Browser', organization_name: 'Tabs' }),
      })
      const login = await fetch(`${api}/v1/login`, { method: 'POST', headers: json, body: JSON.stringify({ email, password }) })
      const { data } = (await login.json()) as { data: { token: string } }
      const me = await fetch(`${api}/api/v1/auth/me`, { headers: { Authorization: `Bearer ${data.token}` } })
      return {
        email,
        register: register.status,
        login: login.status,
        me: me.status,
        profile: await me.json(),
        requestId: me.headers.get('X-Request-Id'),
      }
    }, worker.url)
    expect(result).toMatchObject({ register: 201, login: 200, me: 200, profile: { email: result.email, full_name: 'Ada Browser' } })
    expect(result.requestId).toMatch(/^[0-9a-f-]{36}$/)
    await page.close()
  })

  it('reads Retry-After from a 429 on a listed origin', async () => {
    const page = await pageOn(allowed.origin)
    const retryAfter = await page.evaluate(async (api) => {
      for (let i = 0; i < 30; i++) {
        const res = await fetch(`${api}/v1/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ email: 'nobody@example.com', password: 'not the password' }),
        })
        if (res.status === 429) return res.headers.get('Retry-After')
      }
      return 'never limited'
    }, worker.url)
    expect(retryAfter).toMatch(/^\d+$/)
    await page.close()
  })

  it('is refused on an origin that is not listed', async () => {
    const page = await pageOn(other.origin)
    const outcome = await page.evaluate(async (api) => {
      try {
        const res = await fetch(`${api}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ email: 'a@example.com', password: 'whatever it is' }),
        })
        return `read ${res.status}`
      } catch (error) {
        return `refused: ${(error as Error).name}`
      }
    }, worker.url)
    expect(outcome).toBe('refused: TypeError')
    // Even a simple GET, which needs no preflight, cannot be read.
    const simple = await page.evaluate(
      (api) =>
        fetch(`${api}/health`).then(
          (r) => `read ${r.status}`,
          (e: Error) => `refused: ${e.name}`,
        ),
      worker.url,
    )
    expect(simple).toBe('refused: TypeError')
    await page.close()
  })

  it('renders /docs with its list of operations, offline and under its CSP', async () => {
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    await page.goto(`${worker.url}/docs`)
    // The sidebar lists the operations of /openapi.json by their summaries (the first group open).
    await page.getByText('Log in with email and password').first().waitFor({ timeout: 30_000 })
    for (const summary of ['Create an account, its organization, and a first session', 'Exchange a refresh token for new tokens'])
      expect(await page.getByText(summary).first().isVisible()).toBe(true)
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's Locator.innerText (rendered text), not the DOM property
    const listed = (await page.locator('body').innerText()).match(/HTTP METHOD/g) ?? []
    expect(listed.length).toBeGreaterThanOrEqual(16)
    expect(problems.filter((text) => /Content Security Policy|Refused to/i.test(text))).toEqual([])
    expect(outside).toEqual([])
    await page.close()
  })
})
