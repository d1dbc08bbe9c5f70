import { execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadDataKeys } from '../../functions/core/encryption'
import { loadKeySet } from '../../functions/core/tokens'
import { generateSigningKey } from '../../scripts/dev-vars.mjs'

// A fake `wrangler` first on PATH: it records each call (argv and what came on stdin) and
// answers `secret list` with FAKE_SECRETS. No Cloudflare account is touched.
const FAKE = `#!/usr/bin/env node
const fs = require('node:fs')
let input = ''
process.stdin.on('data', (c) => (input += c)).on('end', () => {
  fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify({ argv: process.argv.slice(2), input }) + '\\n')
  if (process.argv[3] === 'list') console.log(JSON.stringify((process.env.FAKE_SECRETS || '').split(',').filter(Boolean).map((name) => ({ name, type: 'secret_text' }))))
  else console.log('✨ Success! Uploaded secret')
})
`

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-fake-wrangler-'))
  writeFileSync(join(dir, 'wrangler'), FAKE)
  chmodSync(join(dir, 'wrangler'), 0o755)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Run {
  code: number
  stdout: string
  stderr: string
  calls: { argv: string[]; input: string }[]
}

let runs = 0
function run(script: string, args: string[] = [], options: { stdin?: string; secrets?: string[] } = {}): Promise<Run> {
  const log = join(dir, `calls-${++runs}.jsonl`)
  writeFileSync(log, '')
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [`scripts/${script}`, ...args],
      { env: { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH}`, FAKE_LOG: log, FAKE_SECRETS: (options.secrets ?? []).join(',') } },
      (error, stdout, stderr) => {
        const calls = readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line))
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr, calls })
      },
    )
    child.stdin!.end(options.stdin ?? '')
  })
}

describe('npm run secrets', () => {
  it('generates both secrets and puts each through wrangler secret put, on stdin only', async () => {
    const r = await run('secrets.mjs')
    expect(r.code).toBe(0)
    expect(r.calls.map((c) => c.argv)).toEqual([
      ['secret', 'list', '--format', 'json'],
      ['secret', 'put', 'JWT_KEYS'],
      ['secret', 'put', 'DATA_ENCRYPTION_KEYS'],
    ])
    const [, jwtKeys, dataKeys] = r.calls.map((c) => c.input)
    const keys = await loadKeySet(jwtKeys, 'RS256')
    expect(keys.jwks.keys).toHaveLength(1)
    expect((await loadDataKeys(dataKeys!)).current.kid).toBe(JSON.parse(dataKeys!)[0].kid)
    // No value on screen: the private key's `d` and the data key appear in no output.
    const { d } = JSON.parse(jwtKeys!)[0]
    const { key } = JSON.parse(dataKeys!)[0]
    for (const text of [r.stdout, r.stderr]) for (const secret of [d, key]) expect(text).not.toContain(secret)
  })

  it('never replaces a secret the Worker already has', async () => {
    const r = await run('secrets.mjs', ['--env', 'staging'], { secrets: ['DATABASE_URL', 'DATA_ENCRYPTION_KEYS'] })
    expect(r.code).toBe(0)
    expect(r.calls.map((c) => c.argv)).toEqual([
      ['secret', 'list', '--format', 'json', '--env', 'staging'],
      ['secret', 'put', 'JWT_KEYS', '--env', 'staging'],
    ])
    expect(r.stderr).toContain('DATA_ENCRYPTION_KEYS is already set')
  })

  it('--print writes them as JSON for a pipe (wrangler secret bulk) and calls nothing', async () => {
    const r = await run('secrets.mjs', ['--print'])
    expect(r.calls).toEqual([])
    const printed = JSON.parse(r.stdout)
    expect(Object.keys(printed)).toEqual(['JWT_KEYS', 'DATA_ENCRYPTION_KEYS'])
    await expect(loadKeySet(printed.JWT_KEYS, 'RS256')).resolves.toBeDefined()
  })
})

describe('npm run keys:rotate', () => {
  it('puts a new signing key first and keeps the old one as its public half', async () => {
    const old = await generateSigningKey()
    const file = join(dir, 'keys.json')
    writeFileSync(file, JSON.stringify([old]))
    const r = await run('keys-rotate.mjs', ['--from', file])
    expect(r.code).toBe(0)
    expect(r.calls.map((c) => c.argv)).toEqual([['secret', 'put', 'JWT_KEYS']])
    const rotated = JSON.parse(r.calls[0]!.input)
    expect(rotated).toHaveLength(2)
    expect(rotated[1]).toEqual({ kty: 'RSA', n: old.n, e: old.e, kid: old.kid, alg: 'RS256', use: 'sig' })
    const set = await loadKeySet(r.calls[0]!.input, 'RS256')
    expect(set.signing.kid).toBe(rotated[0].kid)
    expect(set.signing.kid).not.toBe(old.kid)
    expect([...set.verify.keys()]).toEqual([rotated[0].kid, old.kid])
    expect(r.stdout + r.stderr).not.toContain(rotated[0].d)
  })

  it('reads stdin, prints for a pipe, and drops keys retired by an earlier rotation only when asked', async () => {
    const first = await generateSigningKey()
    const once = await run('keys-rotate.mjs', ['--print'], { stdin: JSON.stringify([first]) })
    const twice = await run('keys-rotate.mjs', ['--print'], { stdin: once.stdout })
    expect(twice.calls).toEqual([])
    expect(JSON.parse(twice.stdout).map((k: { kid: string }) => k.kid)).toEqual([expect.any(String), JSON.parse(once.stdout)[0].kid, first.kid])
    const dropped = await run('keys-rotate.mjs', ['--print', '--drop-retired'], { stdin: once.stdout })
    expect(JSON.parse(dropped.stdout).map((k: { kid: string }) => k.kid)).toEqual([expect.any(String), JSON.parse(once.stdout)[0].kid])
    await expect(loadKeySet(dropped.stdout.trim(), 'RS256')).resolves.toBeDefined()
  })

  it('starts from the public JWK Set the Worker publishes (no private key needed)', async () => {
    const signer = await generateSigningKey()
    const published = (await loadKeySet(JSON.stringify([signer]), 'RS256')).jwks
    const r = await run('keys-rotate.mjs', ['--print'], { stdin: JSON.stringify(published) })
    const rotated = JSON.parse(r.stdout)
    expect(rotated.map((k: { kid: string }) => k.kid)).toEqual([expect.any(String), signer.kid])
    expect((await loadKeySet(r.stdout.trim(), 'RS256')).signing.kid).toBe(rotated[0].kid)
  })

  it('rotates an HS256 set, keeping the old secret to verify', async () => {
    const old = { kty: 'oct', kid: 'hs-old', k: Buffer.alloc(32, 7).toString('base64url'), alg: 'HS256' }
    const r = await run('keys-rotate.mjs', ['--print'], { stdin: JSON.stringify([old]) })
    const set = await loadKeySet(r.stdout.trim(), 'HS256')
    expect(set.signing.kid).not.toBe('hs-old')
    expect([...set.verify.keys()]).toEqual([set.signing.kid, 'hs-old'])
  })

  it('refuses input that is not a key set, and writes nothing', async () => {
    for (const stdin of ['not json', '[]', '[{"kty":"RSA"}]']) {
      const r = await run('keys-rotate.mjs', [], { stdin })
      expect(r.code).toBe(1)
      expect(r.calls).toEqual([])
    }
  })
})
