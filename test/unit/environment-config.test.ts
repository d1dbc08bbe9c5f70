import { describe, expect, it } from 'vitest'
import { unstable_readConfig } from 'wrangler'
import type { Bindings } from '../../functions/config'
import { parseConfig } from '../../functions/config'
import { testBindings } from '../support/app'

const deployed = { APP_URL: 'https://pr-7-gatehouse.example.workers.dev', JWT_ISSUER: 'https://pr-7-gatehouse.example.workers.dev' }

describe('ENVIRONMENT=preview', () => {
  it('keeps mail in the outbox, with the limits and guards of production', async () => {
    const preview = await parseConfig(await testBindings({ ENVIRONMENT: 'preview', ...deployed }))
    const production = await parseConfig(await testBindings({ ENVIRONMENT: 'production', ...deployed }))
    expect(preview.environment).toBe('preview')
    expect(preview.mail.transport).toBe('outbox')
    expect(production.mail.transport).toBe('http')
    expect(preview.rateLimits).toEqual(production.rateLimits)
    expect(preview.appUrl).toBe('https://pr-7-gatehouse.example.workers.dev')
    expect(preview.issuer).toBe('https://pr-7-gatehouse.example.workers.dev')
  })

  it('refuses real mail: a preview never writes to strangers', async () => {
    await expect(parseConfig(await testBindings({ ENVIRONMENT: 'preview', ...deployed, MAIL_TRANSPORT: 'http' }))).rejects.toThrow(
      'MAIL_TRANSPORT must be "outbox" when ENVIRONMENT is preview',
    )
  })

  it.each(['preview', 'production', 'staging'])('refuses an APP_URL that is not https when ENVIRONMENT is %s', async (environment) => {
    for (const APP_URL of [undefined, 'http://pr-7.example.workers.dev', 'https://']) {
      await expect(parseConfig(await testBindings({ ENVIRONMENT: environment, ...deployed, APP_URL }))).rejects.toThrow(/^APP_URL must be an https URL/)
    }
  })

  it.each(['preview', 'production'])('refuses to sign with the default issuer when ENVIRONMENT is %s', async (environment) => {
    await expect(parseConfig(await testBindings({ ENVIRONMENT: environment, ...deployed, JWT_ISSUER: undefined }))).rejects.toThrow(
      `JWT_ISSUER must be set when ENVIRONMENT is ${environment}`,
    )
  })

  it('leaves development and tests on their local defaults', async () => {
    const dev = await parseConfig(await testBindings({ ENVIRONMENT: 'development', JWT_ISSUER: undefined }))
    expect(dev.appUrl).toBe('http://localhost:8001')
    expect(dev.issuer).toBe('gatehouse')
    expect(dev.mail.transport).toBe('outbox')
  })
})

describe('wrangler.toml', () => {
  const config = unstable_readConfig({ config: 'wrangler.toml' })
  const secrets = async () => {
    const { DATABASE_URL, JWT_KEYS, DATA_ENCRYPTION_KEYS } = await testBindings()
    return { DATABASE_URL, JWT_KEYS, DATA_ENCRYPTION_KEYS }
  }

  it('makes a Preview a preview once preview:up hands it its URL', async () => {
    const url = 'https://pr-7-gatehouse.example.workers.dev'
    const vars = config.previews?.vars as Partial<Bindings>
    const preview = await parseConfig({ ...(await secrets()), ...vars, APP_URL: url, JWT_ISSUER: url })
    expect(preview).toMatchObject({ environment: 'preview', issuer: url, appUrl: url, mail: { transport: 'outbox' } })
  })

  it('gives a Preview nothing of production: without its own URL it refuses to serve', async () => {
    const vars = config.previews?.vars as Partial<Bindings>
    expect(vars).not.toHaveProperty('JWT_ISSUER')
    await expect(parseConfig({ ...(await secrets()), ...vars })).rejects.toThrow('must be')
  })
})
