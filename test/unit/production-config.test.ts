import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../functions/config'
import { testBindings } from '../support/app'

describe('production configuration', () => {
  it('refuses to serve in production without JWT_ISSUER', async () => {
    for (const ENVIRONMENT of ['production', undefined, 'prod'])
      await expect(parseConfig(await testBindings({ ENVIRONMENT, JWT_ISSUER: undefined }))).rejects.toThrow(
        /JWT_ISSUER must be set when ENVIRONMENT is production/,
      )
    await expect(parseConfig(await testBindings({ ENVIRONMENT: 'production', JWT_ISSUER: '' }))).rejects.toThrow(/JWT_ISSUER/)
  })

  it('takes the issuer as given, and keeps a local default outside production', async () => {
    // Production also needs an https APP_URL (issue #13).
    const production = await testBindings({ ENVIRONMENT: 'production', JWT_ISSUER: 'https://auth.example.com', APP_URL: 'https://app.example.com' })
    expect((await parseConfig(production)).issuer).toBe('https://auth.example.com')
    expect((await parseConfig(await testBindings({ ENVIRONMENT: 'development', JWT_ISSUER: undefined }))).issuer).toBe('gatehouse')
  })

  it('ships no placeholder issuer in wrangler.toml', () => {
    expect(readFileSync('wrangler.toml', 'utf8')).not.toMatch(/^\s*JWT_ISSUER\s*=/m)
  })
})
