import { execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { Pool } from '@neondatabase/serverless'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { useRelay } from '../../scripts/migrate.mjs'
import { startPglite } from '../../scripts/pglite-server.mjs'
import { previewName } from '../../scripts/preview.mjs'
import { previewDown } from '../../scripts/preview-down.mjs'
import { previewUp } from '../../scripts/preview-up.mjs'
import { startRelay } from '../../scripts/relay.mjs'

const API_KEY = 'neon-test-key'
const PROJECT = 'proj-test'

interface Branch {
  id: string
  name: string
  parent_id?: string
  init_source?: string
}

/**
 * A local stand-in for Neon's API: the branch calls a preview makes, with its answers' shapes
 * (https://api-docs.neon.tech/reference). Every branch's connection string is `databaseUrl`.
 * A create's operation runs for one poll, and the first connection_uri after it answers 423, as
 * Neon does while an operation runs.
 */
async function fakeNeon(databaseUrl: string) {
  let ids = 0
  const branches: Branch[] = [
    { id: 'br-main', name: 'main' },
    { id: 'br-staging', name: 'staging', parent_id: 'br-main' },
  ]
  const requests: { method: string; path: string; body?: unknown }[] = []
  let locked = false
  const polls = new Map<string, number>()
  const server: Server = createServer(async (req, res) => {
    let text = ''
    for await (const chunk of req) text += chunk
    const url = new URL(req.url ?? '/', 'http://neon')
    requests.push({ method: req.method ?? '', path: url.pathname + url.search, ...(text ? { body: JSON.parse(text) } : {}) })
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.headers.authorization !== `Bearer ${API_KEY}`) return send(401, { message: 'authentication required' })
    const prefix = `/api/v2/projects/${PROJECT}`
    if (!url.pathname.startsWith(prefix)) return send(404, { message: 'no such project' })
    const path = url.pathname.slice(prefix.length)
    if (req.method === 'GET' && path === '/branches') {
      // Neon's search matches parts of names and ids.
      const search = url.searchParams.get('search') ?? ''
      return send(200, { branches: branches.filter((b) => b.name.includes(search) || b.id.includes(search)) })
    }
    if (req.method === 'POST' && path === '/branches') {
      const { branch } = JSON.parse(text)
      const created = { id: `br-new-${++ids}`, ...branch }
      branches.push(created)
      locked = true
      const operation = `op-create-${ids}`
      return send(201, {
        branch: created,
        endpoints: [{ id: `ep-${ids}`, type: 'read_write' }],
        operations: [{ id: operation, action: 'create_branch', status: 'running' }],
      })
    }
    const reset = /^\/branches\/([^/]+)\/roles\/([^/]+)\/reset_password$/.exec(path)
    if (req.method === 'POST' && reset) {
      if (!branches.some((b) => b.id === reset[1])) return send(404, { message: 'no such branch' })
      return send(200, { role: { name: reset[2], password: 'npg_new' }, operations: [{ id: `op-reset-${reset[1]}`, status: 'scheduling' }] })
    }
    const poll = /^\/operations\/([^/]+)$/.exec(path)
    if (req.method === 'GET' && poll) {
      const id = poll[1] ?? ''
      const seen = (polls.get(id) ?? 0) + 1
      polls.set(id, seen)
      return send(200, { operation: { id, status: id.startsWith('op-create') && seen === 1 ? 'running' : 'finished' } })
    }
    if (req.method === 'GET' && path === '/connection_uri') {
      if (locked) {
        locked = false
        return send(423, { message: 'project already has running operations' })
      }
      if (!branches.some((b) => b.id === url.searchParams.get('branch_id'))) return send(404, { message: 'no such branch' })
      return send(200, { uri: databaseUrl })
    }
    const match = /^\/branches\/([^/]+)$/.exec(path)
    if (req.method === 'DELETE' && match) {
      const index = branches.findIndex((b) => b.id === match[1])
      if (index < 0) return send(404, { message: 'no such branch' })
      return send(200, { branch: branches.splice(index, 1)[0] })
    }
    send(404, { message: 'not found' })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    apiHost: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2`,
    branches,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

interface Call {
  args: string[]
  secrets?: Record<string, string>
}

/**
 * A `wrangler` on PATH that records each call (and the secrets file it was handed) and answers
 * `preview --json` the way wrangler 4.164 does: `{ preview: { id, name, slug, urls }, deployment }`,
 * the deployment's `env` naming every binding, secrets inherited from the Preview's last one.
 */
function fakeWrangler(dir: string) {
  const log = join(dir, 'calls.jsonl')
  const bin = join(dir, 'wrangler')
  const state = (name: string) => join(dir, `preview-${name}.json`)
  writeFileSync(
    bin,
    `#!/usr/bin/env node
const fs = require('node:fs')
const args = process.argv.slice(2)
const at = args.indexOf('--secrets-file')
const secrets = at >= 0 ? JSON.parse(fs.readFileSync(args[at + 1], 'utf8')) : undefined
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ args, secrets }) + '\\n')
if (process.env.FAKE_WRANGLER_FAIL) { console.error('✘ [ERROR] A request to the Cloudflare API failed.'); process.exit(1) }
const name = args[args.indexOf('--name') + 1]
const state = ${JSON.stringify(dir)} + '/preview-' + name + '.json'
if (args[0] === 'preview' && args[1] === 'delete') {
  fs.rmSync(state, { force: true })
  console.log('✨ Preview "' + name + '" deleted successfully.')
} else if (args[0] === 'preview') {
  const inherited = fs.existsSync(state) ? JSON.parse(fs.readFileSync(state, 'utf8')) : []
  const env = {}
  for (const secret of new Set([...inherited, ...Object.keys(secrets ?? {})])) env[secret] = { type: 'secret_text' }
  for (let i = args.indexOf('--var'); i >= 0; i = args.indexOf('--var', i + 1)) env[args[i + 1].split(':')[0]] = { type: 'plain_text' }
  fs.writeFileSync(state, JSON.stringify(Object.keys(env).filter((k) => env[k].type === 'secret_text')))
  console.log(JSON.stringify({
    preview: { id: 'prv-' + name, name, slug: name, urls: ['https://' + name + '-gatehouse.example.workers.dev'] },
    deployment: { id: 'dep-1', urls: ['https://0a1b2c3d-' + name + '-gatehouse.example.workers.dev'], env },
  }, null, 2))
}
`,
  )
  chmodSync(bin, 0o755)
  return {
    calls: (): Call[] => {
      try {
        return readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line))
      } catch {
        return []
      }
    },
    /** A Preview that already holds these secrets. */
    holds: (name: string, secrets: string[]) => writeFileSync(state(name), JSON.stringify(secrets)),
    reset: () => rmSync(log, { force: true }),
  }
}

describe('npm run preview:up / preview:down', () => {
  let dir: string
  let pg: Awaited<ReturnType<typeof startPglite>>
  let relay: Awaited<ReturnType<typeof startRelay>>
  let neon: Awaited<ReturnType<typeof fakeNeon>>
  let wrangler: ReturnType<typeof fakeWrangler>
  let env: Record<string, string>

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-preview-test-'))
    // An empty database, as a new Neon branch of a schema-only parent would be before migrations.
    pg = await startPglite()
    relay = await startRelay({ target: pg, serialize: true })
    wrangler = fakeWrangler(dir)
  })
  afterAll(async () => {
    await relay?.close()
    await pg?.close()
    rmSync(dir, { recursive: true, force: true })
  })
  beforeEach(async () => {
    neon = await fakeNeon(pg.url)
    wrangler.reset()
    env = {
      PATH: `${dir}${delimiter}${process.env.PATH}`,
      NEON_API_KEY: API_KEY,
      NEON_PROJECT_ID: PROJECT,
      NEON_API_HOST: neon.apiHost,
      DB_WS_PROXY: relay.wsProxy,
    }
  })
  afterEach(() => neon.close())

  it('names a Preview and its Neon branch from any git branch', () => {
    expect(previewName('feature/Login_v2')).toBe('feature-login-v2')
    expect(previewName('pr-12')).toBe('pr-12')
    expect(previewName(`--${'x'.repeat(60)}`)).toBe('x'.repeat(39))
    expect(() => previewName('///')).toThrow('leaves no name for the Preview')
  })

  it('creates the Neon branch from staging, migrates it, deploys with fresh keys, then hands the Worker its URL', async () => {
    const preview = await previewUp({ branch: 'feature/login', env })
    expect(preview).toEqual({
      name: 'feature-login',
      url: 'https://feature-login-gatehouse.example.workers.dev',
      databaseBranch: 'preview/feature-login',
      created: true,
    })
    const create = neon.requests.find((r) => r.method === 'POST')
    expect(create?.body).toEqual({ branch: { name: 'preview/feature-login', parent_id: 'br-staging' }, endpoints: [{ type: 'read_write' }] })
    // The branch's role gets a password of its own (a child starts with its parent's), and
    // each operation is waited for before the database is used.
    expect(neon.requests.map((r) => `${r.method} ${r.path.replace(`/api/v2/projects/${PROJECT}`, '')}`)).toEqual([
      'GET /branches?search=preview%2Ffeature-login',
      'GET /branches?search=staging',
      'POST /branches',
      'GET /operations/op-create-1',
      'GET /operations/op-create-1',
      'POST /branches/br-new-1/roles/neondb_owner/reset_password',
      'GET /operations/op-reset-br-new-1',
      'GET /connection_uri?branch_id=br-new-1&database_name=neondb&role_name=neondb_owner',
      'GET /connection_uri?branch_id=br-new-1&database_name=neondb&role_name=neondb_owner',
    ])
    // Migrated: the tables exist on the branch's database.
    useRelay(relay.wsProxy)
    const db = new Pool({ connectionString: pg.url })
    try {
      expect((await db.query('select count(*) as n from users')).rows).toEqual([{ n: '0' }])
    } finally {
      await db.end()
    }

    const calls = wrangler.calls()
    expect(calls).toHaveLength(2)
    const [first, second] = calls as [Call, Call]
    expect(first.args).toEqual(['preview', '--name', 'feature-login', '--json', '--secrets-file', expect.any(String)])
    expect(Object.keys(first.secrets ?? {}).sort()).toEqual(['DATABASE_URL', 'DATA_ENCRYPTION_KEYS', 'JWT_KEYS'])
    expect(first.secrets?.DATABASE_URL).toBe(pg.url)
    const [jwk] = JSON.parse(first.secrets?.JWT_KEYS ?? '[]')
    expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', d: expect.any(String) })
    expect(second.args).toEqual([
      'preview',
      '--name',
      'feature-login',
      '--json',
      '--var',
      'APP_URL:https://feature-login-gatehouse.example.workers.dev',
      '--var',
      'JWT_ISSUER:https://feature-login-gatehouse.example.workers.dev',
    ])
    // The secrets file lived only for the deployment.
    expect(() => readFileSync(first.args[5] ?? '')).toThrow()
  })

  it('reuses the branch and keeps the keys on the next push (one deployment when the URL is known)', async () => {
    neon.branches.push({ id: 'br-existing', name: 'preview/pr-7', parent_id: 'br-staging' })
    wrangler.holds('pr-7', ['DATABASE_URL', 'JWT_KEYS', 'DATA_ENCRYPTION_KEYS'])
    const preview = await previewUp({ branch: 'pr-7', env: { ...env, PREVIEW_URL: 'https://pr-7-gatehouse.example.workers.dev' } })
    expect(preview.created).toBe(false)
    expect(neon.requests.filter((r) => r.method !== 'GET')).toEqual([])
    expect(wrangler.calls()).toEqual([
      {
        args: [
          'preview',
          '--name',
          'pr-7',
          '--json',
          '--secrets-file',
          expect.any(String),
          '--var',
          'APP_URL:https://pr-7-gatehouse.example.workers.dev',
          '--var',
          'JWT_ISSUER:https://pr-7-gatehouse.example.workers.dev',
        ],
        secrets: { DATABASE_URL: pg.url },
      },
    ])
    await previewUp({ branch: 'pr-7', env, rotateSecrets: true })
    expect(Object.keys(wrangler.calls()[1]?.secrets ?? {}).sort()).toEqual(['DATABASE_URL', 'DATA_ENCRYPTION_KEYS', 'JWT_KEYS'])
  })

  it('gives keys to a Preview of a reused branch that never got them', async () => {
    neon.branches.push({ id: 'br-half', name: 'preview/pr-13', parent_id: 'br-staging' })
    const preview = await previewUp({ branch: 'pr-13', env })
    expect(preview.created).toBe(false)
    const calls = wrangler.calls()
    expect(calls.map((c) => Object.keys(c.secrets ?? {}).sort())).toEqual([['DATABASE_URL'], ['DATA_ENCRYPTION_KEYS', 'JWT_KEYS']])
    expect(calls[1]?.args).toContain('APP_URL:https://pr-13-gatehouse.example.workers.dev')
  })

  it('branches from another branch only when told, and then schema only if asked', async () => {
    await previewUp({ branch: 'pr-8', from: 'main', schemaOnly: true, env })
    expect(neon.requests.find((r) => r.method === 'POST')?.body).toEqual({
      branch: { name: 'preview/pr-8', parent_id: 'br-main', init_source: 'schema-only' },
      endpoints: [{ type: 'read_write' }],
    })
  })

  it('refuses to guess a parent when there is no staging branch', async () => {
    neon.branches.splice(1, 1)
    await expect(previewUp({ branch: 'pr-9', env })).rejects.toThrow('Neon branch "staging" not found')
    expect(neon.requests.filter((r) => r.method !== 'GET')).toEqual([])
    expect(wrangler.calls()).toEqual([])
  })

  it('tears down the Preview and its branch, and says what it could not delete', async () => {
    neon.branches.push({ id: 'br-gone', name: 'preview/pr-11' })
    expect(await previewDown({ branch: 'pr-11', env })).toEqual({ name: 'pr-11', failures: [] })
    expect(wrangler.calls().map((c) => c.args)).toEqual([['preview', 'delete', '--name', 'pr-11', '--skip-confirmation']])
    expect(neon.requests.filter((r) => r.method === 'DELETE')).toEqual([{ method: 'DELETE', path: `/api/v2/projects/${PROJECT}/branches/br-gone` }])
    expect(neon.branches.map((b) => b.name)).toEqual(['main', 'staging'])

    const again = await previewDown({ branch: 'pr-11', env: { ...env, FAKE_WRANGLER_FAIL: '1' } })
    expect(again.failures).toEqual(['the Preview pr-11: wrangler preview delete exited with status 1'])
    expect(neon.branches.map((b) => b.name)).toEqual(['main', 'staging'])
  })

  it('runs as npm runs it: the URL on stdout and in $GITHUB_OUTPUT, never a secret', async () => {
    const output = join(dir, 'github-output')
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/preview-up.mjs', '--branch', 'pr-12'], {
      env: { ...env, GITHUB_OUTPUT: output },
    })
    expect(stdout).toContain('Preview pr-12: https://pr-12-gatehouse.example.workers.dev')
    expect(readFileSync(output, 'utf8')).toBe('name=pr-12\nurl=https://pr-12-gatehouse.example.workers.dev\ndatabase_branch=preview/pr-12\n')
    const [first] = wrangler.calls()
    for (const secret of Object.values(first?.secrets ?? {})) expect(stdout).not.toContain(secret)
  })
})
