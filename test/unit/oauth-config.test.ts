import { describe, expect, it } from 'vitest'
import type { Bindings } from '../../functions/config'
import { oauthConfig } from '../../functions/config/oauth'

const env = (values: Partial<Bindings>): Bindings => ({ DATABASE_URL: 'postgres://unused', JWT_KEYS: '[]', ...values })

describe('oauthConfig', () => {
  it('reads the redirect allowlist as a JSON array or a comma-separated list, keeping each URI exactly', () => {
    expect(oauthConfig(env({ OAUTH_REDIRECT_URIS: '["https://a.example/cb","https://b.example/cb/"]' })).redirectUris).toEqual([
      'https://a.example/cb',
      'https://b.example/cb/',
    ])
    expect(oauthConfig(env({ OAUTH_REDIRECT_URIS: 'https://a.example/cb, https://B.example/Cb' })).redirectUris).toEqual([
      'https://a.example/cb',
      'https://B.example/Cb',
    ])
    expect(oauthConfig(env({})).redirectUris).toEqual([])
  })

  it('refuses an allowlist entry that is not an absolute URL', () => {
    expect(() => oauthConfig(env({ OAUTH_REDIRECT_URIS: '/callback' }))).toThrow('OAUTH_REDIRECT_URIS must list absolute URLs')
    expect(() => oauthConfig(env({ OAUTH_REDIRECT_URIS: '["https://a.example/cb",' }))).toThrow('not valid JSON')
  })

  it('turns a provider on only with both its client id and secret, and refuses half of them', () => {
    expect(Object.keys(oauthConfig(env({})).providers)).toEqual([])
    const config = oauthConfig(env({ GOOGLE_CLIENT_ID: 'id', GOOGLE_CLIENT_SECRET: 'secret', OUTLOOK_CLIENT_ID: 'id', OUTLOOK_CLIENT_SECRET: 's' }))
    expect(Object.keys(config.providers)).toEqual(['google', 'outlook'])
    expect(() => oauthConfig(env({ FACEBOOK_CLIENT_ID: 'id' }))).toThrow('FACEBOOK_CLIENT_ID and FACEBOOK_CLIENT_SECRET must be set together')
  })

  it('refuses an Outlook tenant that is neither a tenant id nor a multi-tenant name', () => {
    const outlook = { OUTLOOK_CLIENT_ID: 'id', OUTLOOK_CLIENT_SECRET: 's' }
    expect(() => oauthConfig(env({ ...outlook, OUTLOOK_TENANT: 'contoso.example' }))).toThrow('OUTLOOK_TENANT')
    expect(oauthConfig(env({ ...outlook, OUTLOOK_TENANT: '72f988bf-86f1-41af-91ab-2d7cd011db47' })).providers.outlook).toBeDefined()
  })

  it('bounds provider calls at 10 s unless configured', () => {
    expect(oauthConfig(env({})).timeoutMs).toBe(10_000)
    expect(oauthConfig(env({ OAUTH_TIMEOUT_MS: '2500' })).timeoutMs).toBe(2500)
    expect(() => oauthConfig(env({ OAUTH_TIMEOUT_MS: '0' }))).toThrow('OAUTH_TIMEOUT_MS')
  })
})
