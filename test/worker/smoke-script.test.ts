import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Pool } from '@neondatabase/serverless'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useRelay } from '../../scripts/migrate.mjs'
import { totp } from '../../scripts/smoke.mjs'
import { referenceTotp } from '../support/rfc6238'
import type { TestWorker } from '../support/worker'
import { startTestWorker } from '../support/worker'

const run = promisify(execFile)

/** `npm run smoke` as CI runs it; resolves with its exit code and output whatever the code. */
async function smoke(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['scripts/smoke.mjs', ...args], { env: { ...process.env, ...env } })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string }
    return { code, stdout, stderr }
  }
}

// The smoke script against the real Worker in workerd, in a preview's configuration, on its own
// port and its own throwaway database.
describe('npm run smoke', () => {
  let worker: TestWorker
  let pool: Pool
  const count = async () => {
    const { rows } = await pool.query('select (select count(*) from users) as users, (select count(*) from mail_outbox) as mail')
    return rows[0]
  }
  beforeAll(async () => {
    // DEV_MAIL=on as in the previews' vars (wrangler.toml): the walk reads its mail at /dev/mail.
    worker = await startTestWorker({ ENVIRONMENT: 'preview', DEV_MAIL: 'on', APP_URL: 'https://pr-7-gatehouse.example.workers.dev' })
    useRelay(worker.db.wsProxy)
    pool = new Pool({ connectionString: worker.db.url })
  })
  afterAll(async () => {
    await pool?.end()
    await worker?.stop()
  })

  // A whole walk: a node process and some twenty requests, four of them hashing a password.
  const WALK_MS = 90_000

  it('walks a preview with a throwaway account: register to 2FA and logout', { timeout: WALK_MS }, async () => {
    const before = await count()
    const { code, stdout, stderr } = await smoke(['--url', worker.url, '--mode', 'preview'])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout.match(/^ok {2}.+$/gm)).toEqual(
      [
        'health',
        'register',
        'verify email (from /dev/mail)',
        'login',
        'me',
        'refresh',
        'JWKS verify',
        '/v1 login',
        '/v1 me',
        '/v1 logout',
        'logout',
        '2FA setup',
        '2FA enable',
        '2FA verify',
        'logout (2FA session)',
        'logout (first session)',
      ].map((step) => `ok  ${step}`),
    )
    expect(stdout).toContain('Smoke test passed')
    // One user; two mails: the verification link, and the notice that 2FA was turned on (issue #13).
    expect(await count()).toEqual({ users: String(Number(before.users) + 1), mail: String(Number(before.mail) + 2) })
  })

  it('signs in to production with the smoke account, prints no secret and creates nothing', { timeout: WALK_MS }, async () => {
    const password = 'smoke account password 1'
    const res = await worker.fetch('/api/v1/auth/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'smoke@example.com', password, full_name: 'Smoke', organization_name: 'Smoke' }),
    })
    expect(res.status).toBe(201)
    const before = await count()
    const { code, stdout, stderr } = await smoke(['--url', worker.url], { SMOKE_EMAIL: 'smoke@example.com', SMOKE_PASSWORD: password })
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).not.toContain('register')
    expect(stdout).toContain('ok  /v1 me')
    expect(stdout).not.toContain(password)
    expect(await count()).toEqual(before)
    const { rows } = await pool.query(
      "select count(*) as live from sessions s join users u on u.id = s.user_id where u.email = 'smoke@example.com' and s.revoked_at is null",
    )
    expect(rows[0].live).toBe('1') // the session registration opened; the smoke test ended its own
  })

  it('fails with the step, the status and the contract body, and still prints no secret', async () => {
    const { code, stdout, stderr } = await smoke(['--url', worker.url], { SMOKE_EMAIL: 'smoke@example.com', SMOKE_PASSWORD: 'not the password 1' })
    expect(code).toBe(1)
    expect(stdout).toContain('ok  health')
    expect(stderr).toMatch(/^FAILED login: POST \/api\/v1\/auth\/login answered 401, expected 200: \{.*"code":"invalid_credentials"/)
    expect(stderr + stdout).not.toContain('not the password 1')
  })

  it('fails when the server does not answer at all, after waiting as long as told', async () => {
    const started = Date.now()
    const { code, stderr } = await smoke(['--url', 'http://127.0.0.1:9', '--wait', '3'])
    expect(code).toBe(1)
    expect(stderr).toMatch(/^FAILED health: GET \/health did not answer/)
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000)
  })
})

describe('the smoke script TOTP', () => {
  it('shows the codes of the reference RFC 6238 implementation', () => {
    // RFC 6238 appendix B's SHA-1 key, and a 160-bit secret as /2fa/setup hands out.
    for (const secret of ['GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'])
      for (const seconds of [59, 1111111109, 1234567890, 2000000000, 20000000000])
        expect(totp(secret, seconds * 1000)).toBe(referenceTotp(secret, new Date(seconds * 1000)))
  })
})
