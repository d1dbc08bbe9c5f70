import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' },
  })

// What a downstream repository gets: the package as npm packs it (prepare builds verify/dist,
// as it does for a git dependency), installed into a project of its own.
describe('gatehouse/verify as a downstream installs it', () => {
  let dir: string
  let files: string[]
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-downstream-'))
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], root)) as { filename: string; files: { path: string }[] }[]
    files = packed[0]!.files.map((f) => f.path).sort()
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'downstream', private: true, type: 'module' }))
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!
    run(
      'npm',
      ['install', '--prefer-offline', '--no-package-lock', `./${tarball}`, `hono@${version('hono')}`, `openapi-fetch@${version('openapi-fetch')}`],
      dir,
    )
  }, 180_000)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('ships the verifier and the client, and nothing of the server', () => {
    expect(files.filter((f) => !f.startsWith('verify/') && !f.startsWith('client/'))).toEqual(['LICENSE', 'README.md', 'package.json'])
    expect(files).toEqual(
      expect.arrayContaining(['verify/dist/index.js', 'verify/dist/index.d.ts', 'verify/dist/hono.js', 'verify/dist/hono.d.ts', 'client/dist/index.js']),
    )
    // jose is the one dependency; hono and openapi-fetch are the downstream's own choice.
    expect(
      readdirSync(join(dir, 'node_modules'))
        .filter((d) => !d.startsWith('.'))
        .sort(),
    ).toEqual(['gatehouse', 'hono', 'jose', 'openapi-fetch', 'openapi-typescript-helpers'])
  })

  it('imports from JavaScript', () => {
    writeFileSync(
      join(dir, 'check.mjs'),
      `import { createVerifier } from 'gatehouse/verify'
import { gatehouse } from 'gatehouse/verify/hono'
import { createGatehouseClient } from 'gatehouse/client'
const verifier = createVerifier({ issuer: 'https://gatehouse.test', jwks: { fetch: async () => Response.json({ keys: [] }) } })
console.log(JSON.stringify([await verifier.verify('not.a.token'), typeof gatehouse, typeof createGatehouseClient({ baseUrl: 'http://x' }).GET]))`,
    )
    expect(JSON.parse(run('node', ['check.mjs'], dir))).toEqual([
      { ok: false, error: 'invalid', code: 'token_invalid', status: 401, detail: 'The token is not a JWT.' },
      'function',
      'function',
    ])
  }, 60_000)

  it('type-checks from TypeScript, claims and failures typed', () => {
    writeFileSync(
      join(dir, 'check.ts'),
      `import { Hono } from 'hono'
import { createVerifier } from 'gatehouse/verify'
import { gatehouse, type GatehouseVariables } from 'gatehouse/verify/hono'
import { createGatehouseClient } from 'gatehouse/client'
const app = new Hono<{ Variables: GatehouseVariables }>()
app.use(gatehouse({ issuer: 'https://gatehouse.test', jwks: new URL('https://gatehouse.test/.well-known/jwks.json'), scope: 'members:read', dialect: 'v1' }))
app.get('/', (c) => c.text(c.var.gatehouse.sub + c.var.gatehouse.scopes.join()))
const result = await createVerifier({ issuer: 'x', jwks: 'https://x' }).verify('t')
export const seen: string = result.ok ? result.claims.org + (result.claims.auth_time ?? 0) : result.error
// @ts-expect-error: a failure has no claims
export const wrong = result.ok ? 0 : result.claims
const client = createGatehouseClient({ baseUrl: 'https://gatehouse.test' })
const login = await client.POST('/api/v1/auth/login', { body: { email: 'a@example.com', password: 'x' } })
export const code: string | undefined = login.error?.code
// @ts-expect-error: the login body has no such field
await client.POST('/api/v1/auth/login', { body: { email: 'a@example.com', pasword: 'x' } })
`,
    )
    const tsc = join(root, 'node_modules/typescript/bin/tsc')
    let output = ''
    try {
      run(
        'node',
        [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', 'check.ts'],
        dir,
      )
    } catch (error) {
      output = String((error as { stdout?: string }).stdout)
    }
    expect(output).toBe('')
  }, 120_000)
})

const version = (name: string): string => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version
